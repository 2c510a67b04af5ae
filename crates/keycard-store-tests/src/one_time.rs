//! The one-time token suite: what every [`OneTimeStore`] must do, run by
//! [`one_time_suite!`](crate::one_time_suite) through [`OneTimeTokens`] with a manual clock.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use keycard::factor::{PendingLogins, PENDING_TTL};
use keycard::onetime::{CodeRedemption, IssueRequest, OneTimeStore, OneTimeTokens, Purpose};
use keycard::{ManualClock, Timestamp};

use crate::fixtures::{user_c, SECRET};

const TTL: Duration = Duration::from_secs(900);
const RESET: Purpose = Purpose::new("reset_password");
const SIGN_IN: Purpose = Purpose::new("sign_in");

/// The service over `store`, on `clock`.
fn tokens(store: Arc<dyn OneTimeStore>, clock: &ManualClock) -> OneTimeTokens {
    OneTimeTokens::new(store, &SECRET)
        .expect("the kit's secret")
        .with_clock(Arc::new(clock.clone()))
}

fn clock() -> ManualClock {
    ManualClock::new(Timestamp(1_800_000_000_000))
}

fn request(purpose: Purpose, subject: &str, code: Option<u32>) -> IssueRequest<'_> {
    IssueRequest {
        purpose,
        subject,
        ttl: TTL,
        code_attempts: code,
        // Not UTF-8 on purpose: the payload is bytes.
        payload: vec![0xff, 0x00, b'a', 0x80],
        supersede: true,
    }
}

/// Runs one test over a fresh store from `factory` (the skip rule of the conformance suite).
pub fn run<F, Fut, S, T, TFut>(suite: &str, test_name: &'static str, factory: F, test: T)
where
    F: FnOnce(&'static str) -> Fut,
    Fut: Future<Output = Result<S, String>>,
    S: OneTimeStore,
    T: FnOnce(Arc<dyn OneTimeStore>) -> TFut,
    TFut: Future<Output = ()>,
{
    crate::harness::run_over(suite, test_name, factory, |store| test(Arc::new(store)));
}

/// A link is single use: sixteen concurrent redemptions, exactly one gets the record (with its payload
/// and subject, bytes unchanged); a route-tagging store's token hash carries the subject's tag.
pub async fn a_link_is_single_use_under_sixteen_concurrent_redemptions(s: Arc<dyn OneTimeStore>) {
    let clock = clock();
    let t = tokens(s.clone(), &clock);
    let issued = t.issue(request(RESET, "u1", None)).await.expect("issue");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let t = t.clone();
            let link = issued.link.as_str().to_owned();
            tokio::spawn(async move { t.redeem(RESET, &link).await })
        })
        .collect();
    let mut won = Vec::new();
    for task in tasks {
        if let Some(r) = task.await.expect("task").expect("redeem") {
            won.push(r);
        }
    }
    assert_eq!(won.len(), 1, "exactly one winner");
    let r = &won[0];
    assert_eq!(
        (r.purpose.as_str(), r.subject.as_str()),
        ("reset_password", "u1")
    );
    assert_eq!(r.payload, vec![0xff, 0x00, b'a', 0x80]);
    assert_eq!(r.expires_at, clock.now_ts().saturating_add(TTL));
    if let Some(tag) = s.route_tag("u1") {
        assert_eq!(r.token.route_tag(), tag, "the subject's tag");
    }
}

/// `find` reads without consuming; a link of another purpose, a forged one and one signed by another
/// secret are unknown.
pub async fn find_does_not_consume_and_forged_or_foreign_links_are_unknown(
    s: Arc<dyn OneTimeStore>,
) {
    let clock = clock();
    let t = tokens(s.clone(), &clock);
    let issued = t.issue(request(RESET, "u1", None)).await.expect("issue");
    let link = issued.link.as_str();
    for _ in 0..3 {
        assert!(t.find(RESET, link).await.expect("find").is_some());
    }
    assert!(t.find(SIGN_IN, link).await.expect("find").is_none());
    assert!(t.redeem(SIGN_IN, link).await.expect("redeem").is_none());
    let mut forged = link.to_owned().into_bytes();
    forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ascii");
    assert!(t.redeem(RESET, &forged).await.expect("forged").is_none());
    let foreign = OneTimeTokens::new(s, &[0x77; 64]).expect("secret");
    assert!(foreign
        .redeem(RESET, link)
        .await
        .expect("foreign")
        .is_none());
    assert!(
        t.redeem(RESET, link).await.expect("redeem").is_some(),
        "still there"
    );
}

/// A token dies at its deadline: not found, not redeemable; a sweep removes at most it.
pub async fn a_token_dies_at_its_deadline(s: Arc<dyn OneTimeStore>) {
    let clock = clock();
    let t = tokens(s, &clock);
    let old = t.issue(request(RESET, "u1", None)).await.expect("issue");
    let young = t.issue(request(RESET, "u2", Some(5))).await.expect("issue");
    clock.advance(TTL - Duration::from_millis(1));
    assert!(t
        .find(RESET, old.link.as_str())
        .await
        .expect("find")
        .is_some());
    clock.advance(Duration::from_millis(1));
    assert!(t
        .find(RESET, old.link.as_str())
        .await
        .expect("find")
        .is_none());
    assert!(t
        .redeem(RESET, old.link.as_str())
        .await
        .expect("redeem")
        .is_none());
    let code = young.code.expect("a code");
    assert_eq!(
        t.redeem_code(RESET, "u2", &code).await.expect("code"),
        CodeRedemption::Unknown
    );
    let swept = t.sweep().await.expect("sweep");
    assert!(swept <= 2, "at most the two expired: {swept}");
}

/// A new token of a purpose supersedes the subject's older ones of that purpose; other purposes and
/// subjects are untouched, and without `supersede` both live.
pub async fn a_new_token_supersedes_the_older_ones_of_its_purpose_and_subject(
    s: Arc<dyn OneTimeStore>,
) {
    let clock = clock();
    let t = tokens(s, &clock);
    let first = t.issue(request(RESET, "u1", None)).await.expect("issue");
    let other_purpose = t.issue(request(SIGN_IN, "u1", None)).await.expect("issue");
    let other_subject = t.issue(request(RESET, "u2", None)).await.expect("issue");
    let second = t.issue(request(RESET, "u1", None)).await.expect("issue");
    assert!(t
        .find(RESET, first.link.as_str())
        .await
        .expect("first")
        .is_none());
    assert!(t
        .find(RESET, second.link.as_str())
        .await
        .expect("second")
        .is_some());
    assert!(t
        .find(SIGN_IN, other_purpose.link.as_str())
        .await
        .expect("purpose")
        .is_some());
    assert!(t
        .find(RESET, other_subject.link.as_str())
        .await
        .expect("subject")
        .is_some());
    let kept = t
        .issue(IssueRequest {
            supersede: false,
            ..request(RESET, "u1", None)
        })
        .await
        .expect("issue");
    assert!(t
        .find(RESET, second.link.as_str())
        .await
        .expect("both")
        .is_some());
    assert!(t
        .find(RESET, kept.link.as_str())
        .await
        .expect("both")
        .is_some());
    assert_eq!(t.revoke(RESET, "u1").await.expect("revoke"), 2);
    assert!(t
        .find(RESET, kept.link.as_str())
        .await
        .expect("gone")
        .is_none());
    assert!(t
        .find(RESET, other_subject.link.as_str())
        .await
        .expect("other")
        .is_some());
}

/// Forty wrong guesses at once against a code with five attempts: exactly five are compared (counted as
/// wrong), the rest find nothing; then even the right code is refused.
pub async fn a_code_allows_at_most_its_attempts_under_concurrent_guesses(s: Arc<dyn OneTimeStore>) {
    let clock = clock();
    let t = tokens(s, &clock);
    let issued = t
        .issue(request(SIGN_IN, "u1", Some(5)))
        .await
        .expect("issue");
    let code = issued.code.expect("a code");
    assert_eq!(code.len(), keycard::onetime::CODE_DIGITS);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.redeem_code(SIGN_IN, "u1", wrong).await })
        })
        .collect();
    let (mut wrongs, mut unknown) = (0, 0);
    for task in tasks {
        match task.await.expect("task").expect("guess") {
            CodeRedemption::Wrong { .. } => wrongs += 1,
            CodeRedemption::Unknown => unknown += 1,
            other => panic!("a wrong guess got {other:?}"),
        }
    }
    assert_eq!((wrongs, unknown), (5, 35));
    assert_eq!(
        t.redeem_code(SIGN_IN, "u1", &code).await.expect("right"),
        CodeRedemption::Unknown,
        "out of attempts: gone"
    );
    assert!(t
        .find(SIGN_IN, issued.link.as_str())
        .await
        .expect("link")
        .is_none());
}

/// A right code consumes the record once (sixteen concurrent right codes: one winner), after wrong
/// guesses that counted down; the link of the same record is consumed with it.
pub async fn a_right_code_consumes_the_record_once(s: Arc<dyn OneTimeStore>) {
    let clock = clock();
    let t = tokens(s, &clock);
    let issued = t
        .issue(request(SIGN_IN, "u1", Some(5)))
        .await
        .expect("issue");
    let code = issued.code.expect("a code");
    let wrong = if code == "999999" { "999998" } else { "999999" };
    assert_eq!(
        t.redeem_code(SIGN_IN, "u1", wrong).await.expect("wrong"),
        CodeRedemption::Wrong { attempts_left: 4 }
    );
    assert_eq!(
        t.redeem_code(SIGN_IN, "u2", &code)
            .await
            .expect("other subject"),
        CodeRedemption::Unknown
    );
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let t = t.clone();
            let code = code.clone();
            tokio::spawn(async move { t.redeem_code(SIGN_IN, "u1", &code).await })
        })
        .collect();
    let mut redeemed = 0;
    for task in tasks {
        if let CodeRedemption::Redeemed(r) = task.await.expect("task").expect("code") {
            assert_eq!(r.subject, "u1");
            redeemed += 1;
        }
    }
    assert_eq!(redeemed, 1);
    assert!(t
        .redeem(SIGN_IN, issued.link.as_str())
        .await
        .expect("link")
        .is_none());
}

/// Challenges: a pending login (a right password, the second factor to come) completes once under
/// sixteen concurrent second steps, each holding the challenge; `peek` does not consume it; what it
/// carries (whose, "remember me", the credential fingerprint) comes back unchanged, and a password
/// changed in between makes it no longer valid.
pub async fn a_pending_login_completes_once_under_concurrent_second_steps(
    s: Arc<dyn OneTimeStore>,
) {
    let clock = clock();
    let pending = PendingLogins::new(s, &SECRET)
        .expect("the kit's secret")
        .with_clock(Arc::new(clock.clone()));
    let alice = user_c(1, "alice", 1, 7);
    let challenge = pending.begin(&alice, true).await.expect("begin");
    let seen = pending
        .peek(&challenge)
        .await
        .expect("peek")
        .expect("pending");
    assert_eq!(seen.user_key, "u1");
    assert!(seen.remember);
    assert!(seen.still_valid(&alice));
    assert!(
        !seen.still_valid(&user_c(1, "alice", 2, 8)),
        "a new password ends it"
    );
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let pending = pending.clone();
            let challenge = challenge.clone();
            tokio::spawn(async move { pending.complete(&challenge).await.expect("complete") })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if let Some(won) = task.await.expect("task") {
            assert_eq!(won, seen);
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one second step signs in");
    assert!(pending.peek(&challenge).await.expect("peek").is_none());
}

/// Challenges: a pending login lives five minutes ([`PENDING_TTL`]) and then is gone; a forged or
/// foreign challenge names nobody; two pending logins of one user (two devices) are independent.
pub async fn a_pending_login_dies_after_five_minutes_and_forged_ones_name_nobody(
    s: Arc<dyn OneTimeStore>,
) {
    let clock = clock();
    let pending = PendingLogins::new(s.clone(), &SECRET)
        .expect("the kit's secret")
        .with_clock(Arc::new(clock.clone()));
    let bob = user_c(2, "bob", 1, 1);
    let first = pending.begin(&bob, false).await.expect("begin");
    let second = pending.begin(&bob, false).await.expect("begin");
    assert!(pending.complete(&second).await.expect("complete").is_some());
    assert!(
        pending.peek(&first).await.expect("peek").is_some(),
        "another device's pending login lives on"
    );
    let forged = crate::fixtures::flip(&first, 3);
    assert!(pending.peek(&forged).await.expect("forged").is_none());
    let foreign = PendingLogins::new(s, &[0x77; 64]).expect("secret");
    assert!(foreign.complete(&first).await.expect("foreign").is_none());
    clock.advance(PENDING_TTL - Duration::from_millis(1));
    assert!(pending.peek(&first).await.expect("peek").is_some());
    clock.advance(Duration::from_millis(1));
    assert!(pending.peek(&first).await.expect("peek").is_none());
    assert!(pending.complete(&first).await.expect("complete").is_none());
}

trait NowTs {
    fn now_ts(&self) -> Timestamp;
}

impl NowTs for ManualClock {
    fn now_ts(&self) -> Timestamp {
        keycard::Clock::now(self)
    }
}

/// Expands to `mod one_time` with one `#[test]` per one-time token behaviour, each over a fresh
/// [`OneTimeStore`] from `$factory` (the conformance suite's rules). Invoke it once per file.
///
/// ```
/// keycard_store_tests::one_time_suite!(|_test: &'static str| async {
///     Ok::<_, String>(keycard::onetime::MemoryOneTime::new())
/// });
/// ```
#[macro_export]
macro_rules! one_time_suite {
    ($factory:expr $(,)?) => {
        $crate::__one_time_tests!($factory;
            a_link_is_single_use_under_sixteen_concurrent_redemptions,
            find_does_not_consume_and_forged_or_foreign_links_are_unknown,
            a_token_dies_at_its_deadline,
            a_new_token_supersedes_the_older_ones_of_its_purpose_and_subject,
            a_code_allows_at_most_its_attempts_under_concurrent_guesses,
            a_right_code_consumes_the_record_once,
            a_pending_login_completes_once_under_concurrent_second_steps,
            a_pending_login_dies_after_five_minutes_and_forged_ones_name_nobody,
        );
    };
}

/// Implementation detail of [`one_time_suite!`](crate::one_time_suite).
#[doc(hidden)]
#[macro_export]
macro_rules! __one_time_tests {
    ($factory:expr; $($name:ident),+ $(,)?) => {
        /// The keycard one-time token suite (`keycard_store_tests::one_time`), over this crate's store.
        mod one_time {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    $crate::one_time::run(
                        concat!("one_time::", stringify!($name)),
                        stringify!($name),
                        $factory,
                        $crate::one_time::$name,
                    );
                }
            )+
        }
    };
}
