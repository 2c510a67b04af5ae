//! The ceremonies over keycard-sqlx's SQLite store, which keeps both the one-time records (ceremonies)
//! and the factors (passkeys): two app nodes on one database file, a ceremony begun on one and finished
//! on the other, the counter and the last use written in SQL, one winner of concurrent finishes.

mod common;

use std::sync::Arc;

use keycard_passkey::{BrowserReply, PasskeyError};
use keycard_sqlx::{SqlConfig, SqliteStore};

use common::{reply, Site, SoftAuthenticator, ORIGIN};

/// A node: a store of its own on the shared file, and passkeys over it.
async fn node(path: &std::path::Path) -> Site {
    let store = Arc::new(
        SqliteStore::connect_and_migrate(
            &format!("sqlite://{}", path.display()),
            SqlConfig::default().with_max_connections(4),
        )
        .await
        .expect("a SQLite store"),
    );
    Site::over(store.clone(), store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ceremonies_over_sqlite_finish_on_any_node() {
    let dir = std::env::temp_dir().join("keycard-passkey-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("sqlite-{}.db", uuid_like()));
    let a = node(&path).await;
    let b = node(&path).await;

    // Registered through node A, signed in through node B.
    let mut phone = SoftAuthenticator::synced(ORIGIN);
    let phone_id = a.register(&mut phone, "42", "Phone").await;
    let ceremony = a.passkeys.start_sign_in().await.unwrap();
    let credential = phone.assert(&ceremony.options).unwrap();
    let verified = b
        .passkeys
        .finish_sign_in(reply(&ceremony, &credential))
        .await
        .unwrap();
    assert_eq!(
        (verified.user_key.as_str(), verified.passkey_id.as_str()),
        ("42", phone_id.as_str())
    );
    let replay = a
        .passkeys
        .finish_sign_in(reply(&ceremony, &credential))
        .await;
    assert!(
        matches!(replay, Err(PasskeyError::CeremonyExpired)),
        "{replay:?}"
    );

    // A counting key as the second step: its counter is stored, a regression refused.
    let mut key = SoftAuthenticator::new(ORIGIN);
    b.clock.advance(std::time::Duration::from_secs(1)); // added after the phone: listed after it
    let key_id = b.register(&mut key, "42", "Key").await;
    for expected in 1..=3 {
        let ceremony = b.passkeys.start_second_step("42").await.unwrap();
        let credential = key.assert(&ceremony.options).unwrap();
        let v = a
            .passkeys
            .finish_second_step("42", reply(&ceremony, &credential))
            .await
            .unwrap();
        assert_eq!(v.counter, expected);
    }
    key.credentials[0].counter = 1;
    let ceremony = a.passkeys.start_second_step("42").await.unwrap();
    let credential = key.assert(&ceremony.options).unwrap();
    let cloned = b
        .passkeys
        .finish_second_step("42", reply(&ceremony, &credential))
        .await;
    assert!(
        matches!(cloned, Err(PasskeyError::CounterRegressed)),
        "{cloned:?}"
    );

    // Eight finishes of one answer over two nodes: one winner.
    key.credentials[0].counter = 3;
    let ceremony = a.passkeys.start_second_step("42").await.unwrap();
    let credential = key.assert(&ceremony.options).unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let passkeys = if i % 2 == 0 {
            a.passkeys.clone()
        } else {
            b.passkeys.clone()
        };
        let (token, credential) = (ceremony.token.clone(), credential.clone());
        tasks.push(tokio::spawn(async move {
            let reply = BrowserReply {
                token: &token,
                credential: &credential,
            };
            passkeys.finish_second_step("42", reply).await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(PasskeyError::CeremonyExpired) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(won, 1);

    // The list as SQL keeps it; rename and remove on either node.
    let listed = b.passkeys.list("42").await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [phone_id.as_str(), key_id.as_str()]);
    assert!(listed.iter().all(|p| p.last_used_at.is_some()));
    a.passkeys.rename("42", &key_id, "YubiKey").await.unwrap();
    assert_eq!(b.passkeys.list("42").await.unwrap()[1].name, "YubiKey");
    b.passkeys.remove("42", &phone_id, false).await.unwrap();
    let last = a.passkeys.remove("42", &key_id, false).await;
    assert!(
        matches!(last, Err(PasskeyError::LastSignInMethod)),
        "{last:?}"
    );

    let _ = std::fs::remove_file(&path);
}

fn uuid_like() -> String {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}
