//! What one passkey sign-in costs the server: `finish_sign_in` (redeem the ceremony, find the owner,
//! verify the assertion with webauthn-rs, store the credential's new state) over the in-memory stores,
//! so the figure is the verification and its bookkeeping, not a database round trip; then webauthn-rs'
//! check alone on the same credential, for the split. Ignored by default;
//! BENCHMARKS.md quotes it:
//!
//! ```sh
//! cargo test -p keycard-passkey --release --test timing -- --ignored --nocapture
//! ```

mod common;

use std::time::{Duration, Instant};

use common::{reply, Site, SoftAuthenticator, ORIGIN, RP_ID};
use webauthn_rs::prelude::{Passkey, PublicKeyCredential, Url};
use webauthn_rs::WebauthnBuilder;

const RUNS: usize = 2_000;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "a timing, not a test: run with --release --ignored --nocapture"]
async fn finish_sign_in_timing() {
    let site = Site::new();
    let mut key = SoftAuthenticator::new(ORIGIN);
    site.register(&mut key, "42", "Key").await;
    // Other accounts' passkeys, so the owner lookup is not of a store with one entry.
    for user in 0..100 {
        site.register(
            &mut SoftAuthenticator::new(ORIGIN),
            &user.to_string(),
            "Key",
        )
        .await;
    }

    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS + 100 {
        let ceremony = site.passkeys.start_sign_in().await.unwrap();
        let credential = key.assert(&ceremony.options).unwrap();
        let started = Instant::now();
        let verified = site
            .passkeys
            .finish_sign_in(reply(&ceremony, &credential))
            .await
            .unwrap();
        times.push(started.elapsed());
        assert_eq!(verified.user_key, "42");
    }
    report("finish_sign_in (ES256, memory stores)", times);

    // The part that is webauthn-rs' alone: the same credential's assertions checked by
    // `finish_discoverable_authentication_v2` (client data, authenticator data, ECDSA P-256 signature).
    let webauthn = WebauthnBuilder::new(RP_ID, &Url::parse(ORIGIN).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let records = site.factors.passkeys("42").await.unwrap();
    let data: serde_json::Value = serde_json::from_slice(&records[0].data).unwrap();
    let passkey: Passkey = serde_json::from_value(data["passkey"].clone()).unwrap();
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS + 100 {
        let (rcr, state) = webauthn.start_discoverable_authentication().unwrap();
        let options = serde_json::to_value(&rcr).unwrap();
        let credential = key.assert(&options).unwrap();
        let response: PublicKeyCredential = serde_json::from_str(&credential).unwrap();
        let started = Instant::now();
        let result = webauthn.finish_discoverable_authentication_v2(&response, state, &passkey);
        times.push(started.elapsed());
        assert!(result.is_ok());
    }
    report("webauthn-rs verify alone", times);
}

fn report(what: &str, mut times: Vec<Duration>) {
    let mut times = times.split_off(100); // the first hundred warm up
    times.sort();
    println!(
        "{what}, {RUNS} runs: median {:.1} µs, p90 {:.1} µs, min {:.1} µs",
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 0.0),
    );
}
