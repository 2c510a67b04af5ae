//! Record encoding (user and metadata blobs, script arguments) and reply parsing.
//!
//! Blobs are one format byte ([`BLOB_FORMAT`]) followed by named-field MessagePack. Session fields that
//! scripts compare are plain hash fields, parsed back by [`parse_session`]. Anything that does not decode
//! is a reason string (`Err(&'static str)`): the store logs it and treats the record as absent.

use keycard::token::{SeriesId, SessionId, TokenHash};
use keycard::{Fingerprint, SessionMetadata, SessionRecord, StoreError, Timestamp};
use redis::Value;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{err, BACKEND};

/// First byte of every blob (user, metadata): the encoding version.
pub(crate) const BLOB_FORMAT: u8 = 1;
/// The session hash's `v` field.
const SESSION_FORMAT: &str = "1";

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, rmp_serde::encode::Error> {
    let mut out = vec![BLOB_FORMAT];
    rmp_serde::encode::write_named(&mut out, value)?;
    Ok(out)
}

pub(crate) fn decode<T: DeserializeOwned>(blob: &[u8]) -> Result<T, &'static str> {
    match blob.split_first() {
        Some((&BLOB_FORMAT, rest)) => rmp_serde::from_slice(rest)
            .map_err(|_| "MessagePack does not decode into the expected type"),
        Some(_) => Err("unknown blob format byte"),
        None => Err("empty blob"),
    }
}

/// A user version as Lua compares it: 20 zero-padded digits, or empty for none.
pub(crate) fn version_arg(v: Option<u64>) -> Vec<u8> {
    match v {
        Some(v) => format!("{v:020}").into_bytes(),
        None => Vec::new(),
    }
}

pub(crate) fn ts_arg(t: Timestamp) -> Vec<u8> {
    t.0.to_string().into_bytes()
}

pub(crate) fn str_arg(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

pub(crate) fn bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// Lua `false` (an absent field) arrives as Null over RESP2 and as a Boolean over RESP3.
pub(crate) fn is_nil(v: &Value) -> bool {
    matches!(v, Value::Nil | Value::Boolean(false))
}

pub(crate) fn text(v: &Value) -> Option<&str> {
    bytes(v).and_then(|b| std::str::from_utf8(b).ok())
}

pub(crate) fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        other => text(other).and_then(|s| s.parse().ok()),
    }
}

pub(crate) fn array(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(a) => Some(a),
        _ => None,
    }
}

pub(crate) fn malformed(operation: &'static str) -> StoreError {
    err(
        operation,
        "unexpected reply shape from a keycard script (another keycard version on the same prefix?)",
    )
}

pub(crate) fn parse_ts(v: &Value) -> Result<Timestamp, &'static str> {
    text(v)
        .and_then(|s| s.parse::<u64>().ok())
        .map(Timestamp)
        .ok_or("malformed timestamp")
}

pub(crate) fn parse_hash(v: &Value) -> Result<TokenHash, &'static str> {
    let hex_str = text(v).ok_or("missing token hash")?;
    let mut h = [0u8; 32];
    hex::decode_to_slice(hex_str, &mut h).map_err(|_| "malformed token hash")?;
    Ok(TokenHash(h))
}

/// Number of values a script returns per session: the id, then the hash fields in `SFIELDS` order.
pub(crate) const SESSION_WIDTH: usize = 14;

/// A credential fingerprint as the scripts compare it: 32 hex characters, or empty for none.
pub(crate) fn fingerprint_arg(f: Option<Fingerprint>) -> Vec<u8> {
    f.map(|f| f.to_hex().into_bytes()).unwrap_or_default()
}

pub(crate) fn parse_fingerprint(v: &Value) -> Result<Option<Fingerprint>, &'static str> {
    if is_nil(v) {
        return Ok(None);
    }
    let hex_str = text(v).ok_or("malformed credential fingerprint")?;
    let mut f = [0u8; 16];
    hex::decode_to_slice(hex_str, &mut f).map_err(|_| "malformed credential fingerprint")?;
    Ok(Some(Fingerprint(f)))
}

/// A remember-me series id as the scripts keep it: 32 hex characters.
pub(crate) fn parse_series_id(v: &Value) -> Result<SeriesId, &'static str> {
    let hex_str = text(v).ok_or("missing remember-me series id")?;
    let mut id = [0u8; 16];
    if hex_str.len() != 32 {
        return Err("malformed remember-me series id");
    }
    hex::decode_to_slice(hex_str, &mut id).map_err(|_| "malformed remember-me series id")?;
    Ok(SeriesId(id))
}

/// `[sid, v, uk, ca, ra, id, ad, ct, pt, pu, m, af, aa, rs]` -> a session record. A record written before
/// sessions kept their remember-me series has no `rs`: `None`.
pub(crate) fn parse_session(f: &[Value]) -> Result<SessionRecord, &'static str> {
    if f.len() != SESSION_WIDTH {
        return Err("session record has the wrong number of fields");
    }
    let session_id = text(&f[0])
        .and_then(SessionId::parse)
        .ok_or("malformed session id")?;
    if text(&f[1]) != Some(SESSION_FORMAT) {
        return Err("unknown session format version");
    }
    let user_key = text(&f[2]).ok_or("malformed user key")?;
    let previous_token = match (&f[8], &f[9]) {
        (h, _) if is_nil(h) => None,
        (h, until) => Some((parse_hash(h)?, parse_ts(until)?)),
    };
    let metadata: SessionMetadata = decode(bytes(&f[10]).ok_or("missing metadata")?)?;
    Ok(SessionRecord {
        session_id,
        user_key: user_key.into(),
        created_at: parse_ts(&f[3])?,
        renewed_at: parse_ts(&f[4])?,
        idle_deadline: parse_ts(&f[5])?,
        absolute_deadline: parse_ts(&f[6])?,
        current_token: parse_hash(&f[7])?,
        previous_token,
        metadata: metadata.into_shared(),
        auth_fingerprint: parse_fingerprint(&f[11])?,
        authenticated_at: if is_nil(&f[12]) {
            None
        } else {
            Some(parse_ts(&f[12])?)
        },
        remember_series: if is_nil(&f[13]) {
            None
        } else {
            Some(parse_series_id(&f[13])?)
        },
    })
}

pub(crate) fn warn_session(operation: &'static str, id: Option<&str>, reason: &str) {
    tracing::warn!(
        backend = BACKEND,
        operation,
        session_id = id.unwrap_or("?"),
        reason,
        "undecodable session record treated as absent"
    );
}

pub(crate) fn warn_user(operation: &'static str, user_key: &str, reason: &str) {
    tracing::warn!(
        backend = BACKEND,
        operation,
        user_key,
        reason,
        "undecodable cached user treated as absent"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_and_refuse_other_formats() {
        let m = SessionMetadata {
            user_agent: Some("ua".into()),
            ip: None,
            fields: [("k".to_string(), "v".to_string())].into_iter().collect(),
        };
        let b = encode(&m).unwrap();
        assert_eq!(b[0], BLOB_FORMAT);
        assert_eq!(decode::<SessionMetadata>(&b).unwrap(), m);
        let mut other = b.clone();
        other[0] = 2;
        assert!(decode::<SessionMetadata>(&other).is_err());
        assert!(decode::<SessionMetadata>(&[]).is_err());
        assert!(decode::<SessionMetadata>(&[BLOB_FORMAT, 0xc1]).is_err());
    }

    #[test]
    fn versions_sort_as_text_like_numbers() {
        assert_eq!(version_arg(Some(7)), b"00000000000000000007".to_vec());
        assert_eq!(version_arg(Some(u64::MAX)).len(), 20);
        assert!(version_arg(None).is_empty());
    }

    #[test]
    fn session_parse_rejects_bad_fields() {
        let sid = SessionId::generate();
        let h = TokenHash([3; 32]);
        let meta = encode(&SessionMetadata::default()).unwrap();
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let good = vec![
            bulk(&sid.to_hex()),
            bulk("1"),
            bulk("u1"),
            bulk("10"),
            bulk("20"),
            bulk("30"),
            bulk("40"),
            bulk(&h.to_hex()),
            Value::Nil,
            Value::Nil,
            Value::BulkString(meta),
            Value::Nil,
            Value::Nil,
            Value::Nil,
        ];
        let s = parse_session(&good).unwrap();
        assert_eq!(s.remember_series, None, "a record without `rs`");
        assert_eq!(s.session_id, sid);
        assert_eq!(s.expires_at(), Timestamp(30));
        assert_eq!(s.previous_token, None);
        let mut bad = good.clone();
        bad[1] = bulk("2");
        assert!(parse_session(&bad).is_err());
        let mut bad = good.clone();
        bad[5] = bulk("soon");
        assert!(parse_session(&bad).is_err());
        let mut bad = good.clone();
        bad[7] = bulk("xyz");
        assert!(parse_session(&bad).is_err());
        let mut bad = good.clone();
        bad[10] = Value::BulkString(vec![9, 9]);
        assert!(parse_session(&bad).is_err());
        let mut bad = good.clone();
        bad[11] = bulk("not a fingerprint");
        assert!(parse_session(&bad).is_err());
        let mut bad = good.clone();
        bad[12] = bulk("yesterday");
        assert!(parse_session(&bad).is_err());
        let mut with_fp = good.clone();
        with_fp[11] = bulk(&"ab".repeat(16));
        with_fp[12] = bulk("10");
        let s = parse_session(&with_fp).unwrap();
        assert_eq!(s.auth_fingerprint, Some(Fingerprint([0xab; 16])));
        assert_eq!(s.authenticated_at, Some(Timestamp(10)));
        let mut bad = good.clone();
        bad[13] = bulk("not a series id");
        assert!(parse_session(&bad).is_err());
        let mut bad = good.clone();
        bad[13] = bulk(&"ab".repeat(15));
        assert!(parse_session(&bad).is_err());
        let mut with_series = good.clone();
        with_series[13] = bulk(&"cd".repeat(16));
        assert_eq!(
            parse_session(&with_series).unwrap().remember_series,
            Some(SeriesId([0xcd; 16]))
        );
        assert!(parse_session(&good[..13]).is_err());
    }
}
