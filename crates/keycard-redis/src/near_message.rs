//! What an invalidation message says, on one Redis (`PUBLISH`) and on a cluster (`SPUBLISH`): the
//! payload a write script sends (`u:<user key>`, `s:<session id hex>`, `*`), read back. A leaf, shared by
//! [`near`](crate::near) and [`near_cluster`](crate::near_cluster).

use keycard::store::near::Invalidation;
use keycard::SessionId;

/// What a write's message names; anything unreadable evicts everything.
pub(crate) fn parse(payload: &[u8]) -> Invalidation {
    if let Some(key) = payload.strip_prefix(b"u:") {
        if let Ok(key) = std::str::from_utf8(key) {
            return Invalidation::User(key.to_owned());
        }
    }
    if let Some(hex) = payload.strip_prefix(b"s:") {
        let mut id = [0u8; 16];
        if hex::decode_to_slice(hex, &mut id).is_ok() {
            return Invalidation::Session(SessionId(id));
        }
    }
    Invalidation::All
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_a_user_a_session_or_everything() {
        assert_eq!(parse(b"u:42"), Invalidation::User("42".into()));
        assert_eq!(parse(b"u:"), Invalidation::User(String::new()));
        let id = SessionId([7; 16]);
        assert_eq!(
            parse(format!("s:{}", id.to_hex()).as_bytes()),
            Invalidation::Session(id)
        );
        assert_eq!(parse(b"s:nothex"), Invalidation::All);
        assert_eq!(parse(b"u:\xff"), Invalidation::All);
        assert_eq!(parse(b"*"), Invalidation::All);
        assert_eq!(parse(b"something new"), Invalidation::All);
    }
}
