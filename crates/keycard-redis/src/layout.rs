//! The key layout: every key of one user carries the user's hash tag, so a user's records share one Redis
//! Cluster slot (and every script touches one slot), while users spread over [`TAGS`] slots.
//!
//! The tag is `SHA-256(user key)[0]`, a number below [`TAGS`]; in keys it is two hex digits in braces
//! (`{a3}`), which is what Redis Cluster hashes (`CRC16("a3") mod 16384`). The cache puts the same number
//! in the user's tokens and session ids ([`keycard::RouteTag`]), so a cookie's token hash or a listed
//! session id names its slot without naming its user. The users set is bucketed the same way: one set per
//! tag, beside the users it lists.

use keycard::token::{SeriesId, SessionId, TokenHash};
use keycard::RouteTag;
use sha2::{Digest, Sha256};

/// How many tags (slots, buckets) the layout uses. `users` and `sweep` visit every bucket.
pub(crate) const TAGS: u16 = 256;

/// The tag of a user key.
pub(crate) fn tag_of(user_key: &str) -> u16 {
    u16::from(Sha256::digest(user_key.as_bytes())[0])
}

/// The Redis hash tag (braces included) every key of `user_key` carries, e.g. `{a3}`: for operators and
/// tests that look at keys (`keycard:{a3}u:<user key>`).
pub fn hash_tag(user_key: &str) -> String {
    format!("{{{:02x}}}", tag_of(user_key))
}

/// A tag this layout uses, from a token hash or session id made by a cache over this store (`None`: an
/// untagged or foreign token, which names nothing here).
pub(crate) fn known(tag: RouteTag) -> Option<u16> {
    (tag.0 < TAGS).then_some(tag.0)
}

pub(crate) fn tag_of_token(hash: &TokenHash) -> Option<u16> {
    known(hash.route_tag())
}

pub(crate) fn tag_of_session(id: &SessionId) -> Option<u16> {
    known(id.route_tag())
}

pub(crate) fn tag_of_series(id: &SeriesId) -> Option<u16> {
    known(id.route_tag())
}

/// The start of every key of one tag: `{prefix}{tt}`. Scripts get it as `ARGV[1]` and name every key
/// they touch from it, so they cannot leave the slot they were routed to.
pub(crate) fn base(prefix: &str, tag: u16) -> String {
    format!("{prefix}{{{tag:02x}}}")
}

pub(crate) fn token_key(base: &str, hash: &TokenHash) -> String {
    format!("{base}t:{}", hash.to_hex())
}

pub(crate) fn session_key(base: &str, id: &SessionId) -> String {
    format!("{base}s:{}", id.to_hex())
}

pub(crate) fn user_record_key(base: &str, user_key: &str) -> String {
    format!("{base}u:{user_key}")
}

pub(crate) fn index_key(base: &str, user_key: &str) -> String {
    format!("{base}i:{user_key}")
}

/// A remember-me series (a hash), in its user's slot.
pub(crate) fn series_key(base: &str, id: &SeriesId) -> String {
    format!("{base}r:{}", id.to_hex())
}

/// The remember-me series ids of one user (a sorted set scored by each series' deadline).
pub(crate) fn series_index_key(base: &str, user_key: &str) -> String {
    format!("{base}ri:{user_key}")
}

pub(crate) fn users_bucket(base: &str) -> String {
    format!("{base}users")
}

/// The global users set of the single-instance layout (before tags): its presence means sessions of
/// that layout may still exist; they are not read (see the crate docs, "Switching layouts").
pub(crate) fn legacy_users_set(prefix: &str) -> String {
    format!("{prefix}users")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_a_user_carries_the_users_tag_and_users_spread_over_all_tags() {
        let b = base("keycard:", tag_of("user-1"));
        assert!(b.starts_with("keycard:{") && b.ends_with('}'));
        assert!(b.ends_with(&hash_tag("user-1")));
        for k in [
            user_record_key(&b, "user-1"),
            index_key(&b, "user-1"),
            series_index_key(&b, "user-1"),
            series_key(&b, &SeriesId::generate()),
            users_bucket(&b),
        ] {
            assert!(k.starts_with(&b), "{k}");
        }
        let mut seen = std::collections::HashSet::new();
        for i in 0..10_000 {
            seen.insert(tag_of(&format!("user-{i}")));
        }
        assert_eq!(seen.len(), usize::from(TAGS));
    }

    #[test]
    fn untagged_ids_name_no_tag_or_one_below_the_limit() {
        assert_eq!(known(RouteTag(TAGS)), None);
        assert_eq!(known(RouteTag(TAGS - 1)), Some(TAGS - 1));
        let sid = SessionId::generate_tagged(Some(RouteTag(7)));
        assert_eq!(tag_of_session(&sid), Some(7));
        let series = SeriesId::generate_tagged(Some(RouteTag(TAGS - 1)));
        assert_eq!(tag_of_series(&series), Some(TAGS - 1));
        let foreign = SeriesId::generate_tagged(Some(RouteTag(TAGS)));
        assert_eq!(tag_of_series(&foreign), None);
    }
}
