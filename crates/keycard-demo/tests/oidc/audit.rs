//! What a provider sign-in writes to the logs: keycard-oidc's `oidc.*` audit events, the account as its
//! salted hash; never the authorization code, the `state`, an ID token or the client secret.

use reqwest::StatusCode;

use crate::common::log::Captured;
use crate::provider::provider;
use crate::{app, through_provider, Account, CLIENT_SECRET};

fn query_value(url: &str, name: &str) -> String {
    url.split(['?', '&'])
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .expect("a value")
        .to_owned()
}

// The only test of this binary that installs a subscriber (at DEBUG, so the check covers what an
// operator who turns logs up would see): the log holds the other tests' lines too.
#[tokio::test]
async fn sign_ins_and_refusals_are_audited_without_codes_states_or_secrets() {
    let Some(p) = provider() else { return };
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("the only subscriber of this binary");
    let app = app(&p).await;

    let ok = app.browser();
    let account = Account::new("audited@example.com");
    let start = ok.get("/auth/oidc/test").await;
    let back = through_provider(&ok, &app, &p, start, &account, "allow").await;
    let res = ok.get(&back).await;
    assert_eq!(res.location(), Some("/profile"), "{}", res.body);

    let denied = app.browser();
    let start = denied.get("/auth/oidc/test").await;
    let refused = through_provider(&denied, &app, &p, start, &account, "deny").await;
    assert_eq!(denied.get(&refused).await.status, StatusCode::BAD_REQUEST);
    let replay = ok.get(&back).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);

    let log = captured.text();
    let audit: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("keycard::audit"))
        .collect();
    for event in ["oidc.linked", "oidc.signed_in"] {
        assert!(
            audit
                .iter()
                .any(|l| l.contains(event) && l.contains("provider=\"test\"")),
            "{event} in:\n{}",
            audit.join("\n")
        );
    }
    for reason in ["denied", "flow_expired"] {
        assert!(
            audit
                .iter()
                .any(|l| l.contains("oidc.refused") && l.contains(&format!("reason=\"{reason}\""))),
            "oidc.refused {reason} in:\n{}",
            audit.join("\n")
        );
    }
    let code = query_value(&back, "code");
    let state = query_value(&back, "state");
    for (what, secret) in [
        ("the code", code.as_str()),
        ("the state", state.as_str()),
        ("the client secret", CLIENT_SECRET),
        ("the subject", account.sub.as_str()),
    ] {
        assert!(!log.contains(secret), "{what} is in the log");
    }
}
