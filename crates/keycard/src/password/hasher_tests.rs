//! The hasher's settings and its two lanes (verifications; new hashes).

use super::*;

fn is_busy<T>(r: &Result<T, PasswordError>) -> bool {
    matches!(r, Err(PasswordError::Busy { .. }))
}

/// Cheap argon2 parameters: these tests are about permits, not cost.
fn cheap() -> PasswordHasherBuilder {
    PasswordHasher::builder().params(Argon2Params::new(64, 1, 1).expect("valid parameters"))
}

#[test]
fn defaults_and_refused_settings() {
    let h = PasswordHasher::new();
    assert_eq!(h.max_concurrent(), default_max_concurrent());
    assert!(h.max_concurrent() >= 1);
    assert_eq!(h.max_wait(), DEFAULT_MAX_WAIT);
    assert_eq!(h.max_queue(), h.max_concurrent() * DEFAULT_QUEUE_PER_PERMIT);
    assert_eq!(h.hash_max_concurrent(), DEFAULT_HASH_MAX_CONCURRENT);
    assert_eq!(h.hash_max_concurrent(), 1);
    assert_eq!(h.hash_max_queue(), DEFAULT_QUEUE_PER_PERMIT);
    assert_eq!(h.params(), Argon2Params::default());
    assert!(PasswordHasher::builder().max_concurrent(0).build().is_err());
    assert!(PasswordHasher::builder()
        .hash_max_concurrent(0)
        .build()
        .is_err());
    let h = PasswordHasher::builder()
        .max_concurrent(3)
        .max_queue(0)
        .max_wait(Duration::from_secs(9))
        .hash_max_concurrent(2)
        .build()
        .unwrap();
    assert_eq!((h.max_concurrent(), h.max_queue()), (3, 0));
    assert_eq!(h.max_wait(), Duration::from_secs(9));
    assert_eq!(
        (h.hash_max_concurrent(), h.hash_max_queue()),
        (2, 2 * DEFAULT_QUEUE_PER_PERMIT)
    );
    let h = PasswordHasher::builder().hash_max_queue(5).build().unwrap();
    assert_eq!(h.hash_max_queue(), 5);
}

#[tokio::test]
async fn each_hasher_has_its_own_limits() {
    // What the process-wide limit could not do: two apps (or tests) in one process, two limits.
    let one_at_a_time = || {
        cheap()
            .max_concurrent(1)
            .max_queue(0)
            .hash_max_queue(0)
            .build()
            .unwrap()
    };
    let (a, b) = (one_at_a_time(), one_at_a_time());
    let _held = a.try_take_permit().expect("a's only verification permit");
    let _held_hash = a.try_take_hash_permit().expect("a's only hashing permit");
    assert!(is_busy(&a.verify("x", None).await));
    assert!(is_busy(&a.hash("x").await));
    assert_eq!(b.verify("x", None).await.unwrap(), Verified::Invalid);
    assert!(b.hash("x").await.is_ok());
    // A clone shares its original's limits.
    assert!(is_busy(&a.clone().verify("x", None).await));
    assert!(is_busy(&a.clone().hash("x").await));
    // The blocking variants take no permit.
    assert_eq!(a.verify_blocking("x", None).unwrap(), Verified::Invalid);
    assert!(a.hash_blocking("x").is_ok());
}

#[tokio::test]
async fn a_full_hashing_lane_leaves_verify_its_permits() {
    // W9: registrations (new hashes) used to share the one queue with sign-ins (verifications).
    let h = cheap()
        .max_concurrent(1)
        .max_queue(0)
        .hash_max_concurrent(1)
        .hash_max_queue(0)
        .build()
        .unwrap();
    let stored = h.hash("correct horse").await.expect("a hash");
    let _held = h.try_take_hash_permit().expect("the only hashing permit");
    // The hashing lane is full: a new hash is refused at once...
    assert!(is_busy(&h.hash("another one").await));
    // ...and a verification, with no queue at all, still gets a permit of its own.
    assert!(h
        .verify("correct horse", Some(&stored))
        .await
        .expect("not busy")
        .is_valid());
}

#[tokio::test]
async fn a_full_verification_lane_leaves_hash_its_permits() {
    let h = cheap()
        .max_concurrent(1)
        .max_queue(0)
        .hash_max_concurrent(1)
        .hash_max_queue(0)
        .build()
        .unwrap();
    let _held = h.try_take_permit().expect("the only verification permit");
    assert!(is_busy(&h.verify("x", None).await));
    assert!(h.hash("a new password").await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_new_hashes_never_makes_a_verification_busy() {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Arc;
    // Many more concurrent hashes than the hashing lane holds; each verification made while the lane is
    // seen full is answered, never refused as busy. Each hash costs a few milliseconds here (4 MiB), so
    // the flood holds its permit nearly all the time.
    let h = PasswordHasher::builder()
        .params(Argon2Params::new(4 * 1024, 1, 1).expect("valid parameters"))
        .max_concurrent(1)
        .max_queue(0)
        .hash_max_concurrent(1)
        .hash_max_queue(2)
        .build()
        .unwrap();
    let stored = h.hash("correct horse").await.expect("a hash");
    let stop = Arc::new(AtomicBool::new(false));
    let busy = Arc::new(AtomicU32::new(0));
    let flood: Vec<_> = (0..32)
        .map(|_| {
            let (h, stop, busy) = (h.clone(), stop.clone(), busy.clone());
            tokio::spawn(async move {
                // Bounded: stops when told, or after 2,000 calls whatever happens.
                for _ in 0..2_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if is_busy(&h.hash("flood").await) {
                        busy.fetch_add(1, Ordering::Relaxed);
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    // Wait (at most 10 s) until the flood has filled the hashing lane at least once.
    for _ in 0..1_000 {
        if busy.load(Ordering::Relaxed) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        busy.load(Ordering::Relaxed) > 0,
        "the flood fills the hashing lane"
    );
    for i in 0..20 {
        let v = h.verify("correct horse", Some(&stored)).await;
        assert!(
            matches!(v, Ok(Verified::Valid { .. })),
            "verification {i} during the flood: {v:?}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for t in flood {
        t.await.expect("flood task");
    }
}
