//! The inbox flows' policy (`keycard::inbox`) over the memory store: what each token is bound to, and
//! what ends it. The one-time token primitive itself runs the kit's `one_time_suite!` on every store.

use std::sync::Arc;
use std::time::Duration;

use keycard::inbox::{Flow, InboxFlows, InboxUser, Redeemed};
use keycard::onetime::MemoryOneTime;
use keycard::{CachedUser, ManualClock, Timestamp};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct User {
    id: u32,
    email: String,
    password_version: u32,
}

impl CachedUser for User {
    fn user_key(&self) -> String {
        self.id.to_string()
    }
    fn auth_fingerprint(&self) -> Option<Vec<u8>> {
        Some(self.password_version.to_le_bytes().to_vec())
    }
}

impl InboxUser for User {
    fn email(&self) -> &str {
        &self.email
    }
}

fn ann() -> User {
    User {
        id: 1,
        email: "ann@example.com".into(),
        password_version: 1,
    }
}

fn flows() -> (InboxFlows, ManualClock) {
    let clock = ManualClock::new(Timestamp(1_800_000_000_000));
    let f = InboxFlows::new(Arc::new(MemoryOneTime::new()), &[9u8; 64])
        .expect("secret")
        .with_clock(Arc::new(clock.clone()));
    (f, clock)
}

/// The app's loader: the user as the database has it now.
fn load(
    now: Option<User>,
) -> impl FnOnce(String) -> std::future::Ready<Result<Option<User>, std::io::Error>> {
    move |_key| std::future::ready(Ok(now))
}

fn valid<U: std::fmt::Debug>(r: Redeemed<U>) -> (U, String) {
    match r {
        Redeemed::Valid { user, sent_to } => (user, sent_to),
        other => panic!("expected Valid, got {other:?}"),
    }
}

#[tokio::test]
async fn a_reset_link_is_single_use_and_dies_when_the_password_changes() {
    let (f, _) = flows();
    let m = f.issue(Flow::ResetPassword, &ann()).await.unwrap();
    assert_eq!(m.to, "ann@example.com");
    assert!(m.code.is_none());
    assert!(
        f.check(Flow::ResetPassword, &m.link)
            .await
            .unwrap()
            .is_some(),
        "a GET checks"
    );
    assert!(
        f.check(Flow::ResetPassword, &m.link)
            .await
            .unwrap()
            .is_some(),
        "and consumes nothing"
    );
    assert!(
        f.check(Flow::ConfirmEmail, &m.link)
            .await
            .unwrap()
            .is_none(),
        "another flow"
    );
    let (user, _) = valid(
        f.redeem(Flow::ResetPassword, &m.link, load(Some(ann())))
            .await
            .unwrap(),
    );
    assert_eq!(user, ann());
    assert!(matches!(
        f.redeem(Flow::ResetPassword, &m.link, load(Some(ann())))
            .await
            .unwrap(),
        Redeemed::Invalid
    ));
    // A link issued before a password change is dead after it.
    let m = f.issue(Flow::ResetPassword, &ann()).await.unwrap();
    let changed = User {
        password_version: 2,
        ..ann()
    };
    assert!(matches!(
        f.redeem(Flow::ResetPassword, &m.link, load(Some(changed)))
            .await
            .unwrap(),
        Redeemed::Invalid
    ));
}

#[tokio::test]
async fn a_sign_in_link_dies_when_the_email_changes_and_a_new_one_supersedes_it() {
    let (f, _) = flows();
    let old = f.issue(Flow::SignIn, &ann()).await.unwrap();
    let new = f.issue(Flow::SignIn, &ann()).await.unwrap();
    assert!(
        f.check(Flow::SignIn, &old.link).await.unwrap().is_none(),
        "superseded"
    );
    let moved = User {
        email: "ann@new.example".into(),
        ..ann()
    };
    assert!(matches!(
        f.redeem(Flow::SignIn, &new.link, load(Some(moved)))
            .await
            .unwrap(),
        Redeemed::Invalid
    ));
    let m = f.issue(Flow::SignIn, &ann()).await.unwrap();
    assert!(
        matches!(
            f.redeem(Flow::SignIn, &m.link, load(None)).await.unwrap(),
            Redeemed::Invalid
        ),
        "a user who no longer exists"
    );
}

#[tokio::test]
async fn a_sign_in_code_has_five_guesses_and_the_link_and_code_end_each_other() {
    let (f, clock) = flows();
    let m = f.issue(Flow::SignIn, &ann()).await.unwrap();
    let code = m.code.clone().expect("a code");
    assert_eq!(code.len(), 6);
    assert!(
        m.code_expires_at.unwrap() < m.link_expires_at,
        "10 min < 15 min"
    );
    let wrong = if code == "123456" { "654321" } else { "123456" };
    for left in (1..5).rev() {
        assert!(matches!(
            f.redeem_code(&ann(), wrong, load(Some(ann()))).await.unwrap(),
            Redeemed::WrongCode { attempts_left } if attempts_left == left
        ));
    }
    assert!(matches!(
        f.redeem_code(&ann(), wrong, load(Some(ann())))
            .await
            .unwrap(),
        Redeemed::WrongCode { attempts_left: 0 }
    ));
    assert!(
        matches!(
            f.redeem_code(&ann(), &code, load(Some(ann())))
                .await
                .unwrap(),
            Redeemed::Invalid
        ),
        "out of guesses"
    );
    // The right code signs in once, and the link of the same message is gone with it.
    let m = f.issue(Flow::SignIn, &ann()).await.unwrap();
    valid(
        f.redeem_code(&ann(), m.code.as_deref().unwrap(), load(Some(ann())))
            .await
            .unwrap(),
    );
    assert!(f.check(Flow::SignIn, &m.link).await.unwrap().is_none());
    // And the other way round.
    let m = f.issue(Flow::SignIn, &ann()).await.unwrap();
    valid(
        f.redeem(Flow::SignIn, &m.link, load(Some(ann())))
            .await
            .unwrap(),
    );
    assert!(matches!(
        f.redeem_code(&ann(), m.code.as_deref().unwrap(), load(Some(ann())))
            .await
            .unwrap(),
        Redeemed::Invalid
    ));
    // A code expires after 10 minutes, the link after 15.
    let m = f.issue(Flow::SignIn, &ann()).await.unwrap();
    clock.advance(Duration::from_secs(10 * 60));
    assert!(matches!(
        f.redeem_code(&ann(), m.code.as_deref().unwrap(), load(Some(ann())))
            .await
            .unwrap(),
        Redeemed::Invalid
    ));
    assert!(f.check(Flow::SignIn, &m.link).await.unwrap().is_some());
    clock.advance(Duration::from_secs(5 * 60));
    assert!(f.check(Flow::SignIn, &m.link).await.unwrap().is_none());
}

#[tokio::test]
async fn an_email_change_goes_to_the_new_address_and_each_flow_keeps_its_lifetime() {
    let (f, clock) = flows();
    let m = f
        .issue_email_change(&ann(), "ann@new.example")
        .await
        .unwrap();
    assert_eq!(m.to, "ann@new.example");
    let confirm = f.issue(Flow::ConfirmEmail, &ann()).await.unwrap();
    let reset = f.issue(Flow::ResetPassword, &ann()).await.unwrap();
    clock.advance(Duration::from_secs(3600));
    assert!(
        f.check(Flow::ResetPassword, &reset.link)
            .await
            .unwrap()
            .is_none(),
        "1 h"
    );
    assert!(
        f.check(Flow::ConfirmEmail, &confirm.link)
            .await
            .unwrap()
            .is_some(),
        "7 days"
    );
    let (_, sent_to) = valid(
        f.redeem(Flow::ChangeEmail, &m.link, load(Some(ann())))
            .await
            .unwrap(),
    );
    assert_eq!(sent_to, "ann@new.example");
    clock.advance(Duration::from_secs(7 * 24 * 3600));
    assert!(f
        .check(Flow::ConfirmEmail, &confirm.link)
        .await
        .unwrap()
        .is_none());
}
