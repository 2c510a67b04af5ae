//! The TOTP factor end to end over the memory stores and a manual clock: RFC 6238's vectors, the window,
//! replay, enrolment, sealing.

use std::sync::Arc;
use std::time::Duration;

use keycard::factor::{FactorStore, MemoryFactors};
use keycard::onetime::MemoryOneTime;
use keycard::{ManualClock, Timestamp};
use keycard_totp::{Totp, TotpConfig, TotpError, ENROLMENT_TTL};

const SECRET: [u8; 64] = [0x42; 64];
/// RFC 6238 Appendix B's SHA-1 seed.
const RFC_SEED: &[u8] = b"12345678901234567890";

// ---- fixtures

struct Fixture {
    totp: Totp,
    factors: Arc<MemoryFactors>,
    clock: ManualClock,
}

fn fixture_with(config: TotpConfig) -> Fixture {
    let factors = Arc::new(MemoryFactors::new());
    let clock = ManualClock::new(Timestamp(1_800_000_000_000));
    let totp = Totp::new(
        config,
        factors.clone(),
        Arc::new(MemoryOneTime::new()),
        &SECRET,
    )
    .expect("config")
    .with_clock(Arc::new(clock.clone()));
    Fixture {
        totp,
        factors,
        clock,
    }
}

fn fixture() -> Fixture {
    fixture_with(TotpConfig::new("Example"))
}

// ---- helpers

/// The secret bytes of an enrolment, read back from its base32 text, as an app would.
fn secret_of(base32: &str) -> Vec<u8> {
    totp_rs::Secret::try_from_base32(base32)
        .expect("base32")
        .as_bytes()
        .to_vec()
}

/// Enrols `user` and returns the secret the authenticator app holds.
async fn enrolled(f: &Fixture, user: &str) -> Vec<u8> {
    let e = f
        .totp
        .begin_enrolment(user, "ada@example.com")
        .await
        .expect("begin");
    let secret = secret_of(&e.secret);
    let code = f.totp.code_at(&secret, f.clock.now_ts()).expect("code");
    f.totp
        .confirm_enrolment(user, &e.ticket, &code)
        .await
        .expect("confirm");
    secret
}

trait Now {
    fn now_ts(&self) -> Timestamp;
}
impl Now for ManualClock {
    fn now_ts(&self) -> Timestamp {
        keycard::Clock::now(self)
    }
}

// ---- the tests

#[test]
fn rfc_6238_sha1_vectors_at_their_fixed_times() {
    let f = fixture_with(TotpConfig::new("Example").with_digits(8));
    for (secs, code) in [
        (59u64, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ] {
        let at = Timestamp(secs * 1000);
        assert_eq!(f.totp.code_at(RFC_SEED, at).unwrap(), code, "T = {secs}");
    }
}

#[tokio::test]
async fn enrolment_shows_the_uri_qr_code_and_secret_and_turns_on_with_a_current_code() {
    let f = fixture();
    let e = f
        .totp
        .begin_enrolment("u1", "ada@example.com")
        .await
        .unwrap();
    assert!(e.uri.starts_with("otpauth://totp/"), "{}", e.uri);
    assert!(e.uri.contains(&format!("secret={}", e.secret)));
    assert!(e.uri.contains("issuer=Example"));
    assert!(e.qr_svg.contains("<svg") && !e.qr_svg.contains("<script"));
    assert!(
        !format!("{e:?}").contains(&e.secret),
        "Debug hides the secret"
    );
    assert!(f.factors.totp("u1").await.unwrap().is_none(), "not on yet");
    let secret = secret_of(&e.secret);
    assert_eq!(secret.len(), 20, "160 bits");

    let wrong = f
        .totp
        .confirm_enrolment("u1", &e.ticket, "000000")
        .await
        .unwrap_err();
    assert!(matches!(wrong, TotpError::WrongCode), "{wrong:?}");
    assert!(
        matches!(
            f.totp
                .confirm_enrolment("u2", &e.ticket, "000000")
                .await
                .unwrap_err(),
            TotpError::EnrolmentExpired
        ),
        "another user's ticket names nothing"
    );
    let again = f
        .totp
        .resume_enrolment("u1", &e.ticket, "ada@example.com")
        .await
        .unwrap();
    assert_eq!(
        (&again.secret, &again.uri),
        (&e.secret, &e.uri),
        "shown again"
    );
    let code = f.totp.code_at(&secret, f.clock.now_ts()).unwrap();
    f.totp
        .confirm_enrolment("u1", &e.ticket, &code)
        .await
        .unwrap();
    assert!(matches!(
        f.totp.resume_enrolment("u1", &e.ticket, "ada").await,
        Err(TotpError::EnrolmentExpired)
    ));
    let record = f.factors.totp("u1").await.unwrap().expect("on");
    assert!(
        !record.sealed_secret.windows(20).any(|w| w == secret),
        "the stored secret is sealed"
    );
    assert!(matches!(
        f.totp.confirm_enrolment("u1", &e.ticket, &code).await,
        Err(TotpError::EnrolmentExpired)
    ));
    assert!(
        matches!(f.totp.verify("u1", &code).await, Err(TotpError::Replayed)),
        "the enrolment code's step counts as used"
    );
}

#[tokio::test]
async fn an_enrolment_expires_after_ten_minutes() {
    let f = fixture();
    let e = f.totp.begin_enrolment("u1", "ada").await.unwrap();
    f.clock.advance(ENROLMENT_TTL);
    let code = f
        .totp
        .code_at(&secret_of(&e.secret), f.clock.now_ts())
        .unwrap();
    assert!(matches!(
        f.totp.confirm_enrolment("u1", &e.ticket, &code).await,
        Err(TotpError::EnrolmentExpired)
    ));
}

#[tokio::test]
async fn codes_are_accepted_one_step_either_side_and_not_two() {
    let f = fixture();
    let secret = enrolled(&f, "u1").await;
    let step = Duration::from_secs(30);
    // Each code from a fresh step, so replay protection does not interfere: move on 3 steps first.
    f.clock.advance(step * 3);
    let now = f.clock.now_ts();
    let previous = f.totp.code_at(&secret, now.saturating_sub(step)).unwrap();
    f.totp.verify("u1", &previous).await.expect("one step late");
    f.clock.advance(step * 3);
    let now = f.clock.now_ts();
    let next = f.totp.code_at(&secret, now.saturating_add(step)).unwrap();
    f.totp.verify("u1", &next).await.expect("one step early");
    f.clock.advance(step * 3);
    let now = f.clock.now_ts();
    for off in [step * 2, step * 3] {
        let late = f.totp.code_at(&secret, now.saturating_sub(off)).unwrap();
        let early = f.totp.code_at(&secret, now.saturating_add(off)).unwrap();
        for code in [late, early] {
            assert!(
                matches!(f.totp.verify("u1", &code).await, Err(TotpError::WrongCode)),
                "{off:?} off"
            );
        }
    }
    let current = f.totp.code_at(&secret, now).unwrap();
    let spaced = format!("{} {}", &current[..3], &current[3..]);
    f.totp
        .verify("u1", &spaced)
        .await
        .expect("spaces do not count");
}

#[tokio::test]
async fn a_used_step_is_refused_and_so_is_an_earlier_one() {
    let f = fixture();
    let secret = enrolled(&f, "u1").await;
    f.clock.advance(Duration::from_secs(90));
    let now = f.clock.now_ts();
    let current = f.totp.code_at(&secret, now).unwrap();
    f.totp.verify("u1", &current).await.unwrap();
    assert!(matches!(
        f.totp.verify("u1", &current).await,
        Err(TotpError::Replayed)
    ));
    let previous = f
        .totp
        .code_at(&secret, now.saturating_sub(Duration::from_secs(30)))
        .unwrap();
    assert!(
        matches!(
            f.totp.verify("u1", &previous).await,
            Err(TotpError::Replayed)
        ),
        "a code older than the last accepted one is a replay too"
    );
}

#[tokio::test]
async fn sixteen_concurrent_tries_with_one_code_pass_once() {
    let f = fixture();
    let secret = enrolled(&f, "u1").await;
    f.clock.advance(Duration::from_secs(60));
    let code = f.totp.code_at(&secret, f.clock.now_ts()).unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let totp = f.totp.clone();
            let code = code.clone();
            tokio::spawn(async move { totp.verify("u1", &code).await })
        })
        .collect();
    let mut passed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => passed += 1,
            Err(TotpError::Replayed) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(passed, 1);
}

#[tokio::test]
async fn a_secret_sealed_under_another_app_secret_or_user_does_not_open() {
    let f = fixture();
    let secret = enrolled(&f, "u1").await;
    let record = f.factors.totp("u1").await.unwrap().unwrap();
    f.factors.set_totp("u2", Some(record)).await.unwrap();
    f.clock.advance(Duration::from_secs(60));
    let code = f.totp.code_at(&secret, f.clock.now_ts()).unwrap();
    assert!(matches!(
        f.totp.verify("u2", &code).await,
        Err(TotpError::Unsealable)
    ));
    let other = Totp::new(
        TotpConfig::new("Example"),
        f.factors.clone(),
        Arc::new(MemoryOneTime::new()),
        &[0x43; 64],
    )
    .unwrap()
    .with_clock(Arc::new(f.clock.clone()));
    assert!(matches!(
        other.verify("u1", &code).await,
        Err(TotpError::Unsealable)
    ));
    f.totp
        .verify("u1", &code)
        .await
        .expect("its own still opens");
}

#[tokio::test]
async fn turned_off_it_accepts_nothing() {
    let f = fixture();
    let secret = enrolled(&f, "u1").await;
    f.totp.turn_off("u1").await.unwrap();
    f.clock.advance(Duration::from_secs(60));
    let code = f.totp.code_at(&secret, f.clock.now_ts()).unwrap();
    assert!(matches!(
        f.totp.verify("u1", &code).await,
        Err(TotpError::NotEnabled)
    ));
}

#[test]
fn a_bad_configuration_or_short_secret_is_refused_up_front() {
    let factors = Arc::new(MemoryFactors::new());
    let one_time = Arc::new(MemoryOneTime::new());
    for config in [
        TotpConfig::new("Example").with_digits(5),
        TotpConfig::new("Ex:ample"),
        TotpConfig::new("Example").with_step(Duration::ZERO),
    ] {
        assert!(matches!(
            Totp::new(config, factors.clone(), one_time.clone(), &SECRET),
            Err(TotpError::Config(_))
        ));
    }
    assert!(matches!(
        Totp::new(TotpConfig::new("Example"), factors, one_time, &[1; 16]),
        Err(TotpError::Secret(_))
    ));
}
