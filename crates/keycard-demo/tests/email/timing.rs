//! A measurement, not a test of speed: the time `POST /password/reset` takes to answer for an address
//! with an account and for one without, 200 of each, interleaved, each from a client address of its own
//! (the limits on requests for mail stay out of the way). Printed for BENCHMARKS.md; the only assertion
//! is that every answer is the same redirect.
//!
//! `cargo test --release -p keycard-demo --test email -- --ignored --nocapture reset_request_timing`

use std::net::IpAddr;
use std::time::{Duration, Instant};

use keycard_demo::domain::users;
use reqwest::StatusCode;

use crate::Mailed;

const EACH: usize = 200;

fn summary(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99), *samples.last().expect("samples"))
}

#[tokio::test]
#[ignore = "a measurement: run it by name with --ignored --nocapture"]
async fn reset_request_timing() {
    let Some(m) = Mailed::start("email::timing").await else {
        return;
    };
    let now = m.app.app.state.clock.now_secs();
    for i in 0..EACH {
        users::create(
            m.app.db(),
            &format!("known{i}@example.com"),
            "not a hash",
            now,
        )
        .await
        .expect("a user");
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..EACH {
        for (which, email) in [
            (&mut known, format!("known{i}@example.com")),
            (&mut unknown, format!("nobody{i}@example.com")),
        ] {
            let n = which.len() as u16 + if email.starts_with('k') { 0 } else { 1000 };
            let ip = IpAddr::from([127, 1, (n >> 8) as u8, (n & 0xff) as u8]);
            let b = m.app.browser_from(ip);
            let token = b.csrf().await;
            let form = [("_csrf_token", token.as_str()), ("email", email.as_str())];
            let started = Instant::now();
            let p = b.post_raw("/password/reset", &form).await;
            which.push(started.elapsed());
            assert_eq!(p.status, StatusCode::SEE_OTHER, "{email}");
            assert_eq!(p.location(), Some("/password/reset"));
        }
    }
    let (k50, k99, kmax) = summary(known);
    let (u50, u99, umax) = summary(unknown);
    println!(
        "POST /password/reset, {EACH} each, interleaved ({}; cache {:?}):\n  \
         known address:   median {k50:?}, p99 {k99:?}, max {kmax:?}\n  \
         unknown address: median {u50:?}, p99 {u99:?}, max {umax:?}",
        if cfg!(debug_assertions) {
            "debug build"
        } else {
            "release build"
        },
        m.app.config.cache
    );
}
