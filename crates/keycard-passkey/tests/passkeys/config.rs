//! A configuration a browser or webauthn-rs would refuse is refused at start-up, saying why.

use std::sync::Arc;
use std::time::Duration;

use keycard::factor::MemoryFactors;
use keycard::onetime::MemoryOneTime;
use keycard_passkey::{PasskeyConfig, PasskeyError, Passkeys, Url};

fn build(config: PasskeyConfig, secret: &[u8]) -> Result<Passkeys, PasskeyError> {
    Passkeys::new(
        config,
        Arc::new(MemoryOneTime::new()),
        Arc::new(MemoryFactors::new()),
        secret,
    )
}

fn refused(rp_id: &str, origin: &str, mentions: &str) {
    let config = PasskeyConfig::new(rp_id, "Example", Url::parse(origin).unwrap());
    match build(config, &[1; 64]) {
        Err(PasskeyError::Config { reason }) => {
            assert!(reason.contains(mentions), "{rp_id} at {origin}: {reason}")
        }
        other => panic!("{rp_id} at {origin}: {other:?}"),
    }
}

#[test]
fn the_relying_party_must_fit_the_origin() {
    let ok = |rp: &str, origin: &str| {
        build(
            PasskeyConfig::new(rp, "Example", Url::parse(origin).unwrap()),
            &[1; 64],
        )
        .unwrap()
    };
    ok("example.com", "https://example.com");
    ok("example.com", "https://app.example.com");
    ok("localhost", "http://localhost:4000");

    refused("other.com", "https://example.com", "not the origin's host");
    refused(
        "pleexample.com",
        "https://example.com",
        "not the origin's host",
    );
    refused(
        "app.example.com",
        "https://example.com",
        "not the origin's host",
    );
    refused("example.com", "http://example.com", "https origins only");
    refused("127.0.0.1", "http://127.0.0.1:4000", "https origins only");
    refused("127.0.0.1", "https://127.0.0.1", "IP address");
    refused(
        "example.com",
        "https://example.com/app",
        "scheme, host and port",
    );
    refused("Example.com", "https://example.com", "lowercase");
}

#[test]
fn the_secret_and_the_lifetime_are_checked() {
    let config = || {
        PasskeyConfig::new(
            "example.com",
            "Example",
            Url::parse("https://example.com").unwrap(),
        )
    };
    let short = build(config(), &[1; 16]);
    assert!(
        matches!(short, Err(PasskeyError::Config { ref reason }) if reason.contains("64 bytes")),
        "{short:?}"
    );
    let long = build(
        config().with_ceremony_ttl(Duration::from_secs(3600)),
        &[1; 64],
    );
    assert!(matches!(long, Err(PasskeyError::Config { .. })), "{long:?}");
    let nameless = build(
        PasskeyConfig::new(
            "example.com",
            " ",
            Url::parse("https://example.com").unwrap(),
        ),
        &[1; 64],
    );
    assert!(
        matches!(nameless, Err(PasskeyError::Config { .. })),
        "{nameless:?}"
    );
}

#[tokio::test]
async fn preferred_discoverability_is_asked_when_not_required() {
    let config = PasskeyConfig::new(
        "example.com",
        "Example",
        Url::parse("https://example.com").unwrap(),
    )
    .with_require_discoverable(false);
    let passkeys = build(config, &[1; 64]).unwrap();
    let ceremony = passkeys
        .start_registration(keycard_passkey::PasskeyUser {
            key: "1",
            name: "a",
            display_name: "A",
        })
        .await
        .unwrap();
    let selection = &ceremony.options["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "preferred");
    assert_eq!(selection["requireResidentKey"], false);
}
