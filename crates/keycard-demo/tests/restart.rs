//! Sessions survive a restart: the built `keycard-demo` binary with its embedded defaults (users and
//! sessions in one SQLite file under its working directory), stopped with SIGTERM and with SIGKILL and
//! started again on the same directory. Every session that was signed in and acknowledged is still signed
//! in; none that was signed out, revoked, replaced by a sync, or expired comes back. The CLI, a separate
//! process on the same file, reaches the running server's sessions too.

mod common;

use std::time::Duration;

use common::procs::Node;
use common::{Browser, TempDir};
use reqwest::StatusCode;
use sqlx::Connection as _;

/// The whole test's bound (it needs a few seconds; the rest is slack for a busy machine).
const LIMIT: Duration = Duration::from_secs(180);

/// The default settings, with a development secret generated beside the database: nothing else.
fn env() -> Vec<(&'static str, String)> {
    Vec::new()
}

async fn signed_in(node: &Node, email: &str, user_agent: &str) -> Browser {
    let b = Browser::at(&node.base, user_agent);
    b.signed_in(email).await;
    b
}

/// Mark the session `browser` holds as expired a minute ago, straight in the database file, as if the
/// server had been down past its deadline. Returns how many rows changed.
async fn expire_in_file(dir: &std::path::Path, user_agent: &str) -> u64 {
    let url = format!("sqlite://{}", dir.join("data/keycard-demo.db").display());
    let mut c = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the demo's file");
    let past = keycard::Clock::now(&keycard::SystemClock).as_millis() as i64 - 60_000;
    let done = sqlx::query(
        "UPDATE keycard_sessions SET idle_deadline = $1, expires_at = $1 WHERE metadata LIKE $2",
    )
    .bind(past)
    .bind(format!("%{user_agent}%"))
    .execute(&mut c)
    .await
    .expect("expire the session")
    .rows_affected();
    c.close().await.expect("close");
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_every_live_session_and_brings_back_no_ended_one() {
    tokio::time::timeout(LIMIT, scenario())
        .await
        .expect("the restart scenario finished in time");
}

async fn scenario() {
    let dir = TempDir::new("restart");
    let mut node = Node::start("first", dir.path(), &env()).await;
    assert!(
        node.log().contains("credentials cache: sqlite"),
        "the embedded default keeps sessions in SQLite: {}",
        node.log()
    );

    let alice_phone = Browser::at(&node.base, "alice-phone");
    alice_phone.registered("alice@example.com").await;
    let alice_laptop = signed_in(&node, "alice@example.com", "alice-laptop").await;
    let alice_tablet = signed_in(&node, "alice@example.com", "alice-tablet").await;
    let bob = Browser::at(&node.base, "bob-desk");
    bob.registered("bob@example.com").await;
    let carol = Browser::at(&node.base, "carol-desk");
    carol.registered("carol@example.com").await;
    let dave = Browser::at(&node.base, "dave-desk");
    dave.registered("dave@example.com").await;

    // Ended before the restart: bob signs out; alice's phone revokes her tablet.
    assert_eq!(bob.sign_out().await.status, StatusCode::SEE_OTHER);
    let list = alice_phone.get("/sessions").await;
    let tablet = list
        .body
        .split(r#"<tr id="session-"#)
        .skip(1)
        .find(|row| row[..row.find("</tr>").expect("row end")].contains("alice-tablet"))
        .map(|row| row[..32].to_owned())
        .expect("the tablet is listed");
    let res = alice_phone
        .post(&format!("/sessions/{tablet}/delete"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(alice_tablet.me().await.is_none());
    // Dave's plan changes: the sync rotates his cookie; the old one must stay dead after restarts.
    let dave_before = dave.session_cookie().expect("dave is signed in");
    assert_eq!(
        dave.post("/plan", &[("plan", "pro")]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_ne!(dave.session_cookie().as_deref(), Some(dave_before.as_str()));

    // ----- SIGTERM: a graceful stop -----
    let status = node.stop("TERM");
    assert!(
        status.success(),
        "SIGTERM ends the server cleanly: {status}"
    );
    // While it was down, carol's session passed its deadline.
    assert_eq!(expire_in_file(dir.path(), "carol-desk").await, 1);
    let node = Node::start("after-term", dir.path(), &env()).await;
    let on = |b: &Browser| b.on(&node.base);
    assert_eq!(
        on(&alice_phone).plan().await.as_deref(),
        Some("free"),
        "alice's phone"
    );
    assert!(on(&alice_laptop).me().await.is_some(), "alice's laptop");
    assert_eq!(
        on(&dave).plan().await.as_deref(),
        Some("pro"),
        "dave, after his sync"
    );
    assert!(on(&bob).me().await.is_none(), "bob signed out: stays out");
    assert!(
        on(&alice_tablet).me().await.is_none(),
        "the revoked tablet stays out"
    );
    assert!(
        on(&carol).me().await.is_none(),
        "carol's expired session stays dead"
    );
    let old_dave = Browser::at(&node.base, "dave-old");
    old_dave.plant(common::SESSION_COOKIE, &dave_before);
    assert!(
        old_dave.me().await.is_none(),
        "dave's pre-sync cookie stays dead"
    );
    let listed = on(&alice_phone).get("/sessions").await;
    assert_eq!(
        listed.body.matches(r#"<tr id="session-"#).count(),
        2,
        "phone + laptop"
    );

    // The CLI, another process on the same file, updates the cached user the server reads.
    let out = common::procs::demo_command(dir.path(), &env())
        .args(["users", "set-plan", "alice@example.com", "pro-trial"])
        .output()
        .expect("run the CLI");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Credentials cache (sqlite): the cached user was updated"),
        "{stdout}"
    );
    assert_eq!(on(&alice_laptop).plan().await.as_deref(), Some("pro-trial"));

    // ----- SIGKILL: no chance to flush anything; acknowledged writes are already on disk -----
    let erin = Browser::at(&node.base, "erin-desk");
    erin.registered("erin@example.com").await;
    assert_eq!(
        on(&alice_laptop).sign_out().await.status,
        StatusCode::SEE_OTHER
    );
    let mut node = node;
    node.stop("KILL");
    let node = Node::start("after-kill", dir.path(), &env()).await;
    let on = |b: &Browser| b.on(&node.base);
    assert!(
        on(&erin).me().await.is_some(),
        "erin, signed in just before the kill"
    );
    assert_eq!(on(&alice_phone).plan().await.as_deref(), Some("pro-trial"));
    assert!(
        on(&alice_laptop).me().await.is_none(),
        "signed out just before the kill"
    );
    assert!(on(&bob).me().await.is_none());
    assert!(on(&carol).me().await.is_none());
    assert!(on(&alice_tablet).me().await.is_none());
}
