//! A sharded hash table whose entries carry their own keys.
//!
//! The memory store's two big maps, token hash → token entry and session id → session record, are keyed by
//! a value that the entry already holds: a session record carries its id and its tokens' hashes. A general
//! map (`DashMap<K, V>`) stores the key a second time in every bucket, 32 bytes for a token hash, and
//! a hash table's buckets are at most 7/8 full and at least 7/16 right after it doubles: at 10^6 sessions
//! that copy costs more than the value it indexes. This table stores the entry alone (24 bytes for a token
//! entry, 8 for a session's `Arc`) and finds an entry by comparing the key read through it, with
//! [`hashbrown::HashTable`], the table under `std`'s `HashMap`, which lets the caller hash and compare.
//!
//! Reading the key through the entry costs nothing extra on the read path: an entry found is read anyway
//! (its record is what a fetch returns), and the 7 bits of the hash kept in the table's control bytes rule
//! out all but about 1 in 128 of the other entries probed before the record is touched.
//!
//! The keys are uniformly random (token hashes are SHA-256 output of random tokens, session ids come from
//! the CSPRNG, and only values the server issued reach the store: cookies are signature-checked first), so
//! the key's first 8 bytes are its hash. Shards are chosen by bits 32..38 of it and buckets by its low bits,
//! so the two are independent, and the control bytes use its top 7 bits.
//!
//! Every operation takes one shard's lock and runs a closure under it; the closure never sees the table,
//! so it cannot change an entry's key (an entry's key must stay what it was inserted under: callers that
//! replace an entry in place keep the key, and [`Table::insert`] replaces an entry with the same key).

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

use crate::token::{SessionId, TokenHash};

/// Shards: 64, so that growing one (a rehash under its write lock, reading each entry's key) moves about
/// 1/64 of the entries.
const SHARDS: usize = 64;

/// A key whose bytes are uniformly random: its first 8 bytes are its hash.
pub(super) trait RandomKey: Eq + Copy {
    fn hash64(&self) -> u64;
}

impl RandomKey for TokenHash {
    fn hash64(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(b)
    }
}

impl RandomKey for SessionId {
    fn hash64(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(b)
    }
}

/// An entry that knows its key.
pub(super) trait Keyed {
    type Key: RandomKey;
    fn key(&self) -> &Self::Key;
}

/// See the [module docs](self).
pub(super) struct Table<T> {
    shards: Box<[RwLock<HashTable<T>>]>,
}

impl<T: Keyed> Default for Table<T> {
    fn default() -> Self {
        Table {
            shards: (0..SHARDS).map(|_| RwLock::new(HashTable::new())).collect(),
        }
    }
}

fn hasher<T: Keyed>(entry: &T) -> u64 {
    entry.key().hash64()
}

impl<T: Keyed> Table<T> {
    fn shard(&self, hash: u64) -> &RwLock<HashTable<T>> {
        &self.shards[((hash >> 32) as usize) % SHARDS]
    }

    // A panic while holding a shard lock cannot leave a table half-written (hashbrown's operations finish
    // or leave it as it was): ignore poisoning, as the store's other locks do.
    fn read(&self, hash: u64) -> RwLockReadGuard<'_, HashTable<T>> {
        self.shard(hash).read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, hash: u64) -> RwLockWriteGuard<'_, HashTable<T>> {
        self.shard(hash).write().unwrap_or_else(|e| e.into_inner())
    }

    /// `f` of the entry with this key, under its shard's read lock.
    pub fn get<R>(&self, key: &T::Key, f: impl FnOnce(&T) -> R) -> Option<R> {
        let hash = key.hash64();
        self.read(hash).find(hash, |e| e.key() == key).map(f)
    }

    /// `f` of the entry with this key, under its shard's write lock. `f` must keep the entry's key.
    pub fn update<R>(&self, key: &T::Key, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let hash = key.hash64();
        let mut shard = self.write(hash);
        let entry = shard.find_mut(hash, |e| e.key() == key)?;
        let out = f(entry);
        debug_assert!(entry.key() == key, "an update changed the entry's key");
        Some(out)
    }

    /// Whether an entry has this key.
    pub fn contains(&self, key: &T::Key) -> bool {
        self.get(key, |_| ()).is_some()
    }

    /// Insert `entry`, replacing (and returning) the entry with the same key, if any.
    pub fn insert(&self, entry: T) -> Option<T> {
        let key = *entry.key();
        let hash = key.hash64();
        let mut shard = self.write(hash);
        match shard.entry(hash, |e| *e.key() == key, hasher) {
            Entry::Occupied(mut slot) => Some(std::mem::replace(slot.get_mut(), entry)),
            Entry::Vacant(slot) => {
                slot.insert(entry);
                None
            }
        }
    }

    /// Remove the entry with this key if `remove` says it should go.
    pub fn remove_if(&self, key: &T::Key, remove: impl FnOnce(&T) -> bool) -> Option<T> {
        let hash = key.hash64();
        let mut shard = self.write(hash);
        match shard.find_entry(hash, |e| e.key() == key) {
            Ok(slot) if remove(slot.get()) => Some(slot.remove().0),
            _ => None,
        }
    }

    /// Remove the entry with this key.
    pub fn remove(&self, key: &T::Key) -> Option<T> {
        self.remove_if(key, |_| true)
    }

    /// The keys of the entries `pick` chooses: one shard at a time, each under its read lock only while it
    /// is read.
    pub fn keys_where(&self, pick: impl Fn(&T) -> bool) -> Vec<T::Key> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.read().unwrap_or_else(|e| e.into_inner());
            out.extend(shard.iter().filter(|e| pick(e)).map(|e| *e.key()));
        }
        out
    }

    /// How many entries (a sum over the shards, each read in turn).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    /// Whether no shard holds an entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct E(TokenHash, u32);

    impl Keyed for E {
        type Key = TokenHash;
        fn key(&self) -> &TokenHash {
            &self.0
        }
    }

    fn key(i: u32) -> TokenHash {
        // Spread like real hashes: every byte depends on i.
        let mut b = [0u8; 32];
        for (n, x) in b.iter_mut().enumerate() {
            *x = (i.wrapping_mul(2_654_435_761).rotate_left(n as u32 % 32) >> (n % 4 * 8)) as u8;
        }
        TokenHash(b)
    }

    #[test]
    fn an_entry_is_found_by_the_key_it_carries_and_replaced_by_one_with_the_same_key() {
        let t = Table::default();
        for i in 0..10_000 {
            assert!(t.insert(E(key(i), i)).is_none());
        }
        assert_eq!(t.len(), 10_000);
        for i in 0..10_000 {
            assert_eq!(t.get(&key(i), |e| e.1), Some(i));
        }
        assert_eq!(t.insert(E(key(7), 70)), Some(E(key(7), 7)));
        assert_eq!(t.get(&key(7), |e| e.1), Some(70));
        assert_eq!(t.len(), 10_000);
    }

    #[test]
    fn remove_if_removes_only_what_the_predicate_picks() {
        let t = Table::default();
        t.insert(E(key(1), 1));
        t.insert(E(key(2), 2));
        assert!(t.remove_if(&key(1), |e| e.1 == 5).is_none());
        assert!(t.contains(&key(1)));
        assert_eq!(t.remove_if(&key(1), |e| e.1 == 1), Some(E(key(1), 1)));
        assert!(!t.contains(&key(1)));
        assert_eq!(t.remove(&key(2)), Some(E(key(2), 2)));
        assert!(t.is_empty());
        assert!(t.remove(&key(2)).is_none());
    }

    #[test]
    fn update_changes_the_entry_in_place_and_keys_where_lists_what_it_picks() {
        let t = Table::default();
        for i in 0..100 {
            t.insert(E(key(i), i));
        }
        assert_eq!(
            t.update(&key(3), |e| std::mem::replace(&mut e.1, 300)),
            Some(3)
        );
        assert_eq!(t.get(&key(3), |e| e.1), Some(300));
        assert!(t.update(&key(1000), |_| ()).is_none());
        let mut big = t.keys_where(|e| e.1 >= 99);
        big.sort_by_key(|k| k.0);
        let mut want = vec![key(3), key(99)];
        want.sort_by_key(|k| k.0);
        assert_eq!(big, want);
    }
}
