//! Rows to records and back: timestamps, ids, token hashes, JSON.
//!
//! The cached user and the session metadata are stored as JSON text (`serde_json`), so an operator can read
//! them with `psql`/`sqlite3` and an app can add `#[serde(default)]` fields to its user type without
//! invalidating the cached copies. A row that does not decode (a wrong-sized id, a negative timestamp,
//! JSON that does not fit the type) is treated as absent by the store and logged, never a panic and never
//! a sign-in.

use keycard::token::{SeriesId, TokenHash};
use keycard::{Fingerprint, SessionId, SessionMetadata, SessionRecord, Timestamp};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::backend::Row;

/// A timestamp as the database stores it (milliseconds; saturated deadlines stay the largest value).
pub(crate) fn ts(t: Timestamp) -> i64 {
    i64::try_from(t.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn read_ts(row: &impl Row, i: usize) -> Result<Timestamp, &'static str> {
    let v = row
        .int(i)
        .map_err(|_| "a timestamp column does not hold an integer")?;
    u64::try_from(v)
        .map(Timestamp)
        .map_err(|_| "a timestamp column is negative")
}

pub(crate) fn read_session_id(row: &impl Row, i: usize) -> Result<SessionId, &'static str> {
    let b = row
        .bytes(i)
        .map_err(|_| "a session id column does not hold bytes")?;
    <[u8; 16]>::try_from(b)
        .map(SessionId)
        .map_err(|_| "a session id is not 16 bytes")
}

/// A nullable fingerprint column.
pub(crate) fn read_fingerprint(
    row: &impl Row,
    i: usize,
) -> Result<Option<Fingerprint>, &'static str> {
    match row
        .opt_bytes(i)
        .map_err(|_| "a fingerprint column does not hold bytes")?
    {
        None => Ok(None),
        Some(b) => <[u8; 16]>::try_from(b)
            .map(|f| Some(Fingerprint(f)))
            .map_err(|_| "a fingerprint is not 16 bytes"),
    }
}

fn token(b: &[u8]) -> Result<TokenHash, &'static str> {
    <[u8; 32]>::try_from(b)
        .map(TokenHash)
        .map_err(|_| "a token hash is not 32 bytes")
}

/// A JSON text column.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    serde_json::to_string(value)
}

/// A JSON text column back.
pub(crate) fn decode<T: DeserializeOwned>(text: &str) -> Result<T, &'static str> {
    serde_json::from_str(text).map_err(|_| "a JSON column does not decode to its type")
}

/// The session whose columns start at column 0 (the order of `queries::SESSION_COLS`).
pub(crate) fn session_from_row(row: &impl Row) -> Result<SessionRecord, &'static str> {
    let previous = match (
        row.opt_bytes(7)
            .map_err(|_| "previous_token is not bytes")?,
        row.opt_int(8)
            .map_err(|_| "previous_until is not an integer")?,
    ) {
        (Some(t), Some(until)) => Some((
            token(t)?,
            Timestamp(u64::try_from(until).map_err(|_| "previous_until is negative")?),
        )),
        (None, _) => None,
        (Some(_), None) => return Err("a previous token has no grace deadline"),
    };
    let metadata: SessionMetadata = decode(row.text(9).map_err(|_| "metadata is not text")?)?;
    Ok(SessionRecord {
        session_id: read_session_id(row, 0)?,
        user_key: row.text(1).map_err(|_| "user_key is not text")?.into(),
        created_at: read_ts(row, 2)?,
        renewed_at: read_ts(row, 3)?,
        idle_deadline: read_ts(row, 4)?,
        absolute_deadline: read_ts(row, 5)?,
        current_token: token(row.bytes(6).map_err(|_| "current_token is not bytes")?)?,
        previous_token: previous,
        metadata: metadata.into_shared(),
        auth_fingerprint: read_fingerprint(row, 10)?,
        authenticated_at: match row
            .opt_int(11)
            .map_err(|_| "authenticated_at is not an integer")?
        {
            None => None,
            Some(t) => Some(Timestamp(
                u64::try_from(t).map_err(|_| "authenticated_at is negative")?,
            )),
        },
        remember_series: match row.opt_bytes(12).map_err(|_| "series_id is not bytes")? {
            None => None,
            Some(b) => Some(SeriesId(
                <[u8; 16]>::try_from(b).map_err(|_| "a series id is not 16 bytes")?,
            )),
        },
    })
}

/// Log a row that did not decode (its session id when known; never a token or the row).
pub(crate) fn warn_undecodable(backend: &'static str, operation: &'static str, reason: &str) {
    tracing::warn!(
        backend,
        operation,
        reason,
        "undecodable keycard-sqlx row treated as absent"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturated_deadlines_stay_the_largest_value() {
        assert_eq!(ts(Timestamp(u64::MAX)), i64::MAX);
        assert_eq!(ts(Timestamp(1_700_000_000_000)), 1_700_000_000_000);
    }

    #[test]
    fn metadata_round_trips_as_json() {
        let mut m = SessionMetadata {
            user_agent: Some("Firefox".into()),
            ip: Some("127.0.0.1".into()),
            ..SessionMetadata::default()
        };
        m.fields.insert("k".into(), "v\"".into());
        let text = encode(&m).unwrap();
        assert!(text.contains("Firefox"), "{text}");
        assert_eq!(decode::<SessionMetadata>(&text).unwrap(), m);
        assert!(decode::<SessionMetadata>("{not json").is_err());
    }
}
