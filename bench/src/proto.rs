//! Evidence for a proposed memory-store layout, not keycard code: a minimal store laid out the way the
//! report proposes, timed with the same session counts and access pattern as the real one.
//!
//! The real memory store resolves a token in three dependent hash-map lookups (token → session id →
//! session record → user key → user slot), each a few cache misses once the maps outgrow the CPU caches.
//! The proposal: the token map holds the session record itself (`Arc`), and each record holds an `Arc` to
//! its user's shared cell (the one cached copy, swapped in place by `put_user`, so `put_user` stays O(1)
//! and every session sees it). A fetch is then one lookup and two pointer hops. The record keeps the
//! fields the real one has, but the user key is shared (`Arc<str>`) and the metadata is boxed (most
//! sessions keep the defaults, and none of it is read on the request path).
//!
//! Also: a pointer chase through a buffer the size of a 10^6-session store, to show what one dependent
//! memory access costs on this machine.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use dashmap::DashMap;

use crate::common::{quantile, vm_rss_kib, BenchUser, Rng};

#[derive(Clone, Copy, Default)]
struct FirstBytes;
struct FirstBytesHasher(u64);
impl BuildHasher for FirstBytes {
    type Hasher = FirstBytesHasher;
    fn build_hasher(&self) -> FirstBytesHasher {
        FirstBytesHasher(0)
    }
}
impl Hasher for FirstBytesHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
        }
    }
}

struct UserCell {
    user: RwLock<Arc<BenchUser>>,
}

#[allow(dead_code)] // fields that a real record keeps but the read path does not touch
struct Record {
    session_id: [u8; 16],
    user_key: Arc<str>,
    created_at: u64,
    renewed_at: u64,
    idle_deadline: u64,
    absolute_deadline: u64,
    current_token: [u8; 32],
    previous_token: Option<([u8; 32], u64)>,
    metadata: Option<Box<keycard::SessionMetadata>>,
    user: Arc<UserCell>,
}

/// A user's shared cell and the index of its session ids.
type UserSlot = (Arc<UserCell>, HashSet<[u8; 16], FirstBytes>);

struct ProtoStore {
    tokens: DashMap<[u8; 32], Arc<Record>, FirstBytes>,
    users: DashMap<Arc<str>, UserSlot>,
}

impl ProtoStore {
    fn fetch(&self, token: &[u8; 32], now: u64) -> Option<(Arc<Record>, Arc<BenchUser>)> {
        let rec = self.tokens.get(token)?.clone();
        if now >= rec.idle_deadline.min(rec.absolute_deadline) || rec.current_token != *token {
            return None;
        }
        let user = rec.user.user.read().ok()?.clone();
        Some((rec, user))
    }
}

fn random32(rng: &mut Rng) -> [u8; 32] {
    let mut b = [0u8; 32];
    for c in b.chunks_mut(8) {
        c.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    b
}

/// Build `sessions` sessions (10 per user) in the proposed layout and time `fetches` random fetches.
pub fn measure(sessions: u64, fetches: usize) -> serde_json::Value {
    // SAFETY: malloc_trim only returns free heap memory to the OS.
    unsafe {
        libc::malloc_trim(0);
    }
    let rss_before = vm_rss_kib();
    let store = ProtoStore {
        tokens: DashMap::with_hasher(FirstBytes),
        users: DashMap::new(),
    };
    let mut rng = Rng::new(0xfeed ^ sessions);
    let now = 1_000u64;
    let mut sample: Vec<[u8; 32]> = Vec::with_capacity(50_000);
    let mut seen = 0u64;
    for u in 1..=sessions / 10 {
        let key: Arc<str> = u.to_string().into();
        let cell = Arc::new(UserCell {
            user: RwLock::new(Arc::new(BenchUser {
                id: u as i64,
                email: crate::common::email_of(u),
                plan: crate::common::plan_of(u).to_owned(),
            })),
        });
        let mut index = HashSet::with_hasher(FirstBytes);
        for _ in 0..10 {
            let token = random32(&mut rng);
            let mut sid = [0u8; 16];
            sid.copy_from_slice(&random32(&mut rng)[..16]);
            index.insert(sid);
            store.tokens.insert(
                token,
                Arc::new(Record {
                    session_id: sid,
                    user_key: key.clone(),
                    created_at: now,
                    renewed_at: now,
                    idle_deadline: now + 1_800_000,
                    absolute_deadline: now + 28_800_000,
                    current_token: token,
                    previous_token: None,
                    metadata: None,
                    user: cell.clone(),
                }),
            );
            seen += 1;
            if sample.len() < 50_000 {
                sample.push(token);
            } else {
                let j = rng.below(seen) as usize;
                if j < 50_000 {
                    sample[j] = token;
                }
            }
        }
        store.users.insert(key, (cell, index));
    }
    let rss_after = vm_rss_kib();
    let mut lat = Vec::with_capacity(fetches);
    for _ in 0..fetches {
        let t = &sample[rng.below(sample.len() as u64) as usize];
        let start = Instant::now();
        let got = store.fetch(t, now + 1);
        let dt = start.elapsed().as_nanos() as u64;
        assert!(got.is_some(), "prototype: a live session was not found");
        lat.push(dt);
    }
    lat.sort_unstable();
    serde_json::json!({
        "store_kib": rss_after.zip(rss_before).map(|(a, b)| a.saturating_sub(b)),
        "fetch_p50_ns": quantile(&lat, 0.5),
        "fetch_p99_ns": quantile(&lat, 0.99),
    })
}

/// Nanoseconds per dependent load when chasing a random cycle through `bytes` of memory.
pub fn pointer_chase_ns(bytes: usize, steps: usize) -> f64 {
    let n = (bytes / 8).max(2);
    // Sattolo's algorithm: one random cycle through all slots.
    let mut next: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(0xc4a5e);
    for i in (1..n).rev() {
        let j = rng.below(i as u64) as usize;
        next.swap(i, j);
    }
    let mut p = 0usize;
    let start = Instant::now();
    for _ in 0..steps {
        p = next[p];
    }
    let ns = start.elapsed().as_nanos() as f64 / steps as f64;
    std::hint::black_box(p);
    ns
}
