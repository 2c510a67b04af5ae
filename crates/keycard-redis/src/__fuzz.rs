//! The check behind the fuzz target `redis_record` in `fuzz/` (feature `fuzzing`; not a supported API).
//!
//! It takes the fuzzer's raw bytes, so a crash input replays byte for byte in `tests/fuzz_regressions.rs`.
//! It panics (an `assert!`) exactly when the codec broke a property; malformed input is not a failure.

use keycard::__fuzz::arbitrary::{Arbitrary, Result, Unstructured};
use keycard::__fuzz::{arbitrary_session, SampleUser};
use keycard::{SessionMetadata, SessionRecord};
use redis::Value;

use crate::codec::{decode, encode, fingerprint_arg, parse_session, ts_arg, SESSION_WIDTH};

/// Target `redis_record`: the blob decoder and the session reply parser.
///
/// - Arbitrary bytes as a user blob and as a metadata blob: no panic; what decodes encodes and decodes
///   back to itself.
/// - An arbitrary script reply (any number of fields, any RESP value in each): no panic; a reply that
///   parses, written back as the scripts store it, parses to the same record.
/// - An arbitrary session record, in the fields the scripts store (`create.lua`, `rotate.lua`) and the
///   order they return them (`SFIELDS`), parses back to itself; so do an arbitrary user and metadata
///   through a blob.
pub fn redis_record(data: &[u8]) {
    blobs(data);
    let mut u = Unstructured::new(data);
    let _ = reply(&mut u);
    let _ = round_trip(&mut u);
}

fn blobs(data: &[u8]) {
    if let Ok(user) = decode::<SampleUser>(data) {
        let again = encode(&user).expect("a decoded user encodes");
        assert_eq!(decode::<SampleUser>(&again), Ok(user));
    }
    if let Ok(metadata) = decode::<SessionMetadata>(data) {
        let again = encode(&metadata).expect("decoded metadata encodes");
        assert_eq!(decode::<SessionMetadata>(&again), Ok(metadata));
    }
}

fn value(u: &mut Unstructured<'_>, depth: u8) -> Result<Value> {
    Ok(match u.int_in_range(0..=9u8)? {
        0 => Value::Nil,
        1 => Value::Boolean(u.arbitrary()?),
        2 => Value::Int(u.arbitrary()?),
        3 => Value::SimpleString(u.arbitrary()?),
        4 => Value::Okay,
        5 => Value::Double(u.arbitrary()?),
        6 if depth < 2 => {
            let n = u.int_in_range(0..=3u8)?;
            Value::Array((0..n).map(|_| value(u, depth + 1)).collect::<Result<_>>()?)
        }
        // Mostly what the scripts really send: bulk strings, often of digits or hex.
        7 => Value::BulkString(u.arbitrary::<u64>()?.to_string().into_bytes()),
        8 => Value::BulkString(hex::encode(<Vec<u8>>::arbitrary(u)?).into_bytes()),
        _ => Value::BulkString(u.arbitrary()?),
    })
}

fn reply(u: &mut Unstructured<'_>) -> Result<()> {
    let n = if u.ratio(3u8, 4u8)? {
        SESSION_WIDTH
    } else {
        u.int_in_range(0..=SESSION_WIDTH + 2)?
    };
    let mut fields = (0..n).map(|_| value(u, 0)).collect::<Result<Vec<_>>>()?;
    if n == SESSION_WIDTH && u.arbitrary()? {
        // A reply that is well-formed but for some fields, so the parser's later checks are reached.
        let good = stored_fields(&arbitrary_session(u)?);
        for (i, f) in fields.iter_mut().enumerate() {
            if u.ratio(3u8, 4u8)? {
                *f = good[i].clone();
            }
        }
    }
    if let Ok(record) = parse_session(&fields) {
        assert_eq!(
            parse_session(&stored_fields(&record)),
            Ok(record),
            "a parsed record, stored again, parses to itself"
        );
    }
    Ok(())
}

fn round_trip(u: &mut Unstructured<'_>) -> Result<()> {
    let record = arbitrary_session(u)?;
    assert_eq!(parse_session(&stored_fields(&record)), Ok(record));
    let user = SampleUser::arbitrary(u)?;
    let blob = encode(&user).expect("a user encodes");
    assert_eq!(decode::<SampleUser>(&blob), Ok(user));
    Ok(())
}

fn bulk(b: Vec<u8>) -> Value {
    Value::BulkString(b)
}

/// A session as the scripts keep it and return it: `[sid, v, uk, ca, ra, id, ad, ct, pt, pu, m, af, aa, rs]`,
/// absent fields as Nil.
fn stored_fields(s: &SessionRecord) -> Vec<Value> {
    let (pt, pu) = match &s.previous_token {
        Some((hash, until)) => (bulk(hash.to_hex().into_bytes()), bulk(ts_arg(*until))),
        None => (Value::Nil, Value::Nil),
    };
    vec![
        bulk(s.session_id.to_hex().into_bytes()),
        bulk(b"1".to_vec()),
        bulk(s.user_key.as_bytes().to_vec()),
        bulk(ts_arg(s.created_at)),
        bulk(ts_arg(s.renewed_at)),
        bulk(ts_arg(s.idle_deadline)),
        bulk(ts_arg(s.absolute_deadline)),
        bulk(s.current_token.to_hex().into_bytes()),
        pt,
        pu,
        bulk(encode(&s.metadata).expect("metadata encodes")),
        match s.auth_fingerprint {
            Some(f) => bulk(fingerprint_arg(Some(f))),
            None => Value::Nil,
        },
        match s.authenticated_at {
            Some(t) => bulk(ts_arg(t)),
            None => Value::Nil,
        },
        match s.remember_series {
            Some(id) => bulk(id.to_hex().into_bytes()),
            None => Value::Nil,
        },
    ]
}
