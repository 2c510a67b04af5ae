//! The check behind the fuzz target `sql_record` in `fuzz/` (feature `fuzzing`; not a supported API).
//!
//! It takes the fuzzer's raw bytes, so a crash input replays byte for byte in `tests/fuzz_regressions.rs`.
//! It panics (an `assert!`) exactly when the codec broke a property; malformed input is not a failure.

use keycard::__fuzz::arbitrary::{Arbitrary, Result, Unstructured};
use keycard::__fuzz::{arbitrary_session, SampleUser};
use keycard::{SessionMetadata, SessionRecord, Timestamp};

use crate::backend::Row;
use crate::codec::{decode, encode, read_fingerprint, read_session_id, session_from_row, ts};
use crate::queries::SESSION_WIDTH;

/// One column of a row, as a driver hands it over.
#[derive(Debug, Clone)]
enum Col {
    Null,
    Int(i64),
    Bytes(Vec<u8>),
    Text(String),
}

/// A row of columns, read like the drivers' rows: a value of another type (or a missing column) is an
/// error, NULL is `None` for the nullable reads and an error for the others.
#[derive(Debug)]
struct FakeRow(Vec<Col>);

fn mismatch(i: usize, what: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: i.to_string(),
        source: format!("expected {what}").into(),
    }
}

impl Row for FakeRow {
    fn int(&self, i: usize) -> std::result::Result<i64, sqlx::Error> {
        match self.0.get(i) {
            Some(Col::Int(v)) => Ok(*v),
            _ => Err(mismatch(i, "an integer")),
        }
    }
    fn opt_int(&self, i: usize) -> std::result::Result<Option<i64>, sqlx::Error> {
        match self.0.get(i) {
            Some(Col::Null) => Ok(None),
            _ => self.int(i).map(Some),
        }
    }
    fn bytes(&self, i: usize) -> std::result::Result<&[u8], sqlx::Error> {
        match self.0.get(i) {
            Some(Col::Bytes(v)) => Ok(v),
            _ => Err(mismatch(i, "bytes")),
        }
    }
    fn opt_bytes(&self, i: usize) -> std::result::Result<Option<&[u8]>, sqlx::Error> {
        match self.0.get(i) {
            Some(Col::Null) => Ok(None),
            _ => self.bytes(i).map(Some),
        }
    }
    fn text(&self, i: usize) -> std::result::Result<&str, sqlx::Error> {
        match self.0.get(i) {
            Some(Col::Text(v)) => Ok(v),
            _ => Err(mismatch(i, "text")),
        }
    }
    fn opt_text(&self, i: usize) -> std::result::Result<Option<&str>, sqlx::Error> {
        match self.0.get(i) {
            Some(Col::Null) => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
}

/// Target `sql_record`: the row decoder and the JSON columns.
///
/// - Arbitrary text as a user's and as a session's JSON column: no panic; what decodes encodes and
///   decodes back to itself.
/// - An arbitrary row (any number of columns, any type or NULL in each): no panic; a row that decodes,
///   written back as `create` writes it, decodes to the same record.
/// - An arbitrary session record, in the columns `create` writes (`queries::SESSION_COLS`), decodes back
///   to itself (timestamps past `i64::MAX` milliseconds saturate, as the store documents).
pub fn sql_record(data: &[u8]) {
    json(&String::from_utf8_lossy(data));
    let mut u = Unstructured::new(data);
    let _ = row(&mut u);
    let _ = round_trip(&mut u);
}

fn json(text: &str) {
    if let Ok(user) = decode::<SampleUser>(text) {
        let again = encode(&user).expect("a decoded user encodes");
        assert_eq!(decode::<SampleUser>(&again), Ok(user));
    }
    if let Ok(metadata) = decode::<SessionMetadata>(text) {
        let again = encode(&metadata).expect("decoded metadata encodes");
        assert_eq!(decode::<SessionMetadata>(&again), Ok(metadata));
    }
}

fn col(u: &mut Unstructured<'_>) -> Result<Col> {
    Ok(match u.int_in_range(0..=4u8)? {
        0 => Col::Null,
        1 => Col::Int(u.arbitrary()?),
        2 => Col::Bytes(u.arbitrary()?),
        // The sizes the columns really have: ids and fingerprints, token hashes.
        3 => Col::Bytes(if u.arbitrary()? {
            <[u8; 16]>::arbitrary(u)?.to_vec()
        } else {
            <[u8; 32]>::arbitrary(u)?.to_vec()
        }),
        _ => Col::Text(u.arbitrary()?),
    })
}

fn row(u: &mut Unstructured<'_>) -> Result<()> {
    let n = if u.ratio(3u8, 4u8)? {
        SESSION_WIDTH
    } else {
        u.int_in_range(0..=SESSION_WIDTH + 2)?
    };
    let mut cols = (0..n).map(|_| col(u)).collect::<Result<Vec<_>>>()?;
    if n == SESSION_WIDTH && u.arbitrary()? {
        // A row that is well-formed but for some columns, so the decoder's later checks are reached.
        let good = stored_row(&arbitrary_session(u)?);
        for (i, c) in cols.iter_mut().enumerate() {
            if u.ratio(3u8, 4u8)? {
                *c = good.0[i].clone();
            }
        }
    }
    let row = FakeRow(cols);
    let _ = read_session_id(&row, 0);
    let _ = read_fingerprint(&row, 10);
    if let Ok(record) = session_from_row(&row) {
        assert_eq!(
            session_from_row(&stored_row(&record)),
            Ok(record),
            "a decoded row, stored again, decodes to itself"
        );
    }
    Ok(())
}

fn round_trip(u: &mut Unstructured<'_>) -> Result<()> {
    let record = arbitrary_session(u)?;
    assert_eq!(
        session_from_row(&stored_row(&record)),
        Ok(saturated(record))
    );
    let user = SampleUser::arbitrary(u)?;
    let text = encode(&user).expect("a user encodes");
    assert_eq!(decode::<SampleUser>(&text), Ok(user));
    Ok(())
}

/// The record as it reads back: every timestamp at most `i64::MAX` ([`ts`]).
fn saturated(mut s: SessionRecord) -> SessionRecord {
    let sat = |t: Timestamp| Timestamp(ts(t) as u64);
    s.created_at = sat(s.created_at);
    s.renewed_at = sat(s.renewed_at);
    s.idle_deadline = sat(s.idle_deadline);
    s.absolute_deadline = sat(s.absolute_deadline);
    s.previous_token = s.previous_token.map(|(h, t)| (h, sat(t)));
    s.authenticated_at = s.authenticated_at.map(sat);
    s
}

/// The session columns as `create` writes them (`queries::SESSION_COLS`).
fn stored_row(s: &SessionRecord) -> FakeRow {
    let prev = s.previous_token.as_ref();
    FakeRow(vec![
        Col::Bytes(s.session_id.0.to_vec()),
        Col::Text(s.user_key.to_string()),
        Col::Int(ts(s.created_at)),
        Col::Int(ts(s.renewed_at)),
        Col::Int(ts(s.idle_deadline)),
        Col::Int(ts(s.absolute_deadline)),
        Col::Bytes(s.current_token.0.to_vec()),
        prev.map_or(Col::Null, |(t, _)| Col::Bytes(t.0.to_vec())),
        prev.map_or(Col::Null, |(_, until)| Col::Int(ts(*until))),
        Col::Text(encode(&s.metadata).expect("metadata encodes")),
        s.auth_fingerprint
            .map_or(Col::Null, |f| Col::Bytes(f.0.to_vec())),
        s.authenticated_at.map_or(Col::Null, |t| Col::Int(ts(t))),
        s.remember_series
            .map_or(Col::Null, |id| Col::Bytes(id.0.to_vec())),
    ])
}
