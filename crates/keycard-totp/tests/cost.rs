//! What a TOTP second step costs (opening the sealed secret, three HMACs at most, the atomic claim on the
//! memory store). A figure, not a check: run it in release and read it.
//!
//! `cargo test --release -p keycard-totp --test cost -- --ignored --nocapture`

use std::sync::Arc;
use std::time::{Duration, Instant};

use keycard::factor::MemoryFactors;
use keycard::onetime::MemoryOneTime;
use keycard::{Clock, ManualClock, Timestamp};
use keycard_totp::{Totp, TotpConfig};

#[tokio::test]
#[ignore = "a figure for BENCHMARKS.md, not a check"]
async fn totp_verify_cost() {
    let clock = ManualClock::new(Timestamp(1_800_000_000_000));
    let totp = Totp::new(
        TotpConfig::new("Example"),
        Arc::new(MemoryFactors::new()),
        Arc::new(MemoryOneTime::new()),
        &[0x42; 64],
    )
    .expect("config")
    .with_clock(Arc::new(clock.clone()));
    const USERS: usize = 2000;
    let mut secrets = Vec::with_capacity(USERS);
    for i in 0..USERS {
        let user = format!("u{i}");
        let e = totp.begin_enrolment(&user, "ada").await.expect("begin");
        let secret = totp_rs::Secret::try_from_base32(&e.secret)
            .expect("base32")
            .as_bytes()
            .to_vec();
        let code = totp.code_at(&secret, clock.now()).expect("code");
        totp.confirm_enrolment(&user, &e.ticket, &code)
            .await
            .expect("confirm");
        secrets.push(secret);
    }
    // A later step, so every user's next code is fresh; each user verifies once (a claim each).
    clock.advance(Duration::from_secs(60));
    let mut samples = Vec::with_capacity(USERS);
    for (i, secret) in secrets.iter().enumerate() {
        let code = totp.code_at(secret, clock.now()).expect("code");
        let user = format!("u{i}");
        let t = Instant::now();
        totp.verify(&user, &code).await.expect("verify");
        samples.push(t.elapsed());
    }
    samples.sort();
    let pct = |p: usize| samples[samples.len() * p / 100].as_secs_f64() * 1e6;
    println!(
        "totp verify ({USERS} users, memory store): median {:.1} µs, p90 {:.1} µs, p99 {:.1} µs",
        pct(50),
        pct(90),
        pct(99)
    );
}
