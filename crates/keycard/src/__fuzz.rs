//! The checks behind the fuzz targets in `fuzz/` (feature `fuzzing`; not a supported API).
//!
//! Each check takes the fuzzer's raw bytes, so a crash input saved by libFuzzer replays byte for byte in an
//! ordinary test (`tests/fuzz_regressions.rs` reads `fuzz/regressions/<target>/`). A check panics (an
//! `assert!`) exactly when the code under test broke a property; malformed input is not a failure.
//!
//! [`arbitrary_session`] builds an arbitrary [`SessionRecord`] for the stores' codec checks
//! (keycard-redis, keycard-sqlx), which enable this feature too.

pub use arbitrary;
use arbitrary::{Arbitrary, Result, Unstructured};

use crate::token::{
    CookieError, CookieSigner, RouteTag, Token, TokenHash, COOKIE_VALUE_LEN,
    TAGGED_COOKIE_VALUE_LEN, TOKEN_LEN,
};
use crate::{Fingerprint, SessionId, SessionMetadata, SessionRecord, Timestamp};

/// Runs `check` on every file of `fuzz/regressions/<target>/` (the crash inputs kept after their fix, and
/// the seeds), found from `manifest_dir` (a crate's `CARGO_MANIFEST_DIR`: `crates/<name>`). Panics when the
/// folder is missing or empty, so a replay test cannot pass on nothing.
pub fn replay(manifest_dir: &str, target: &str, check: fn(&[u8])) {
    let dir = std::path::Path::new(manifest_dir)
        .join("../../fuzz/regressions")
        .join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        eprintln!("replaying {} ({} bytes)", file.display(), data.len());
        check(&data);
    }
}

const PRIMARY: [u8; 64] = [0x11; 64];
const OLDER: [u8; 64] = [0x22; 64];
const STRANGER: [u8; 64] = [0x33; 64];
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn signer(secret: &[u8]) -> CookieSigner {
    CookieSigner::new(secret).expect("the fuzz secrets are 64 bytes long")
}

/// Target `session_cookie`: [`CookieSigner::decode`] on the raw input, then a round trip.
///
/// - The whole input (lossily made UTF-8, as a cookie header value would be) must decode without a panic,
///   to the error its shape calls for; if it ever decodes, it must be exactly the value `encode` gives for
///   that token (there is one accepted spelling per token, and guessing one is a forgery).
/// - A token built from the input encodes to [`COOKIE_VALUE_LEN`] characters and decodes back to itself,
///   with the primary secret and after a rotation (as a fallback); a signer with another secret refuses it;
///   any one character changed, or the value cut or extended, is refused.
pub fn session_cookie(data: &[u8]) {
    let primary = signer(&PRIMARY);
    let value = String::from_utf8_lossy(data);
    match primary.decode(&value) {
        Ok(token) => assert_eq!(
            primary.encode(&token).as_str(),
            value,
            "a cookie value that decodes must be the canonical encoding of its token"
        ),
        Err(CookieError::Length) => assert!(!is_issued_len(value.len()), "{}", value.len()),
        Err(CookieError::Alphabet) => assert!(is_issued_len(value.len()), "{}", value.len()),
        Err(CookieError::Signature) => {
            assert!(value.bytes().all(|b| BASE64URL.contains(&b)));
        }
    }

    let mut u = Unstructured::new(data);
    let _ = round_trip(&mut u, &primary);
}

/// The two lengths keycard issues: an untagged and a tagged (routed) token's cookie.
fn is_issued_len(len: usize) -> bool {
    len == COOKIE_VALUE_LEN || len == TAGGED_COOKIE_VALUE_LEN
}

fn round_trip(u: &mut Unstructured<'_>, primary: &CookieSigner) -> Result<()> {
    let bytes: [u8; TOKEN_LEN] = u.arbitrary()?;
    let tag: Option<u16> = u.arbitrary()?;
    let token = Token::from_bytes(bytes, tag.map(RouteTag));
    let cookie = primary.encode(&token);
    let text = cookie.as_str();
    let len = if tag.is_some() {
        TAGGED_COOKIE_VALUE_LEN
    } else {
        COOKIE_VALUE_LEN
    };
    assert_eq!(text.len(), len);
    assert!(text.bytes().all(|b| BASE64URL.contains(&b)));
    assert_eq!(primary.decode(text), Ok(token.clone()));

    let rotated = signer(&OLDER)
        .with_fallback(&PRIMARY)
        .expect("the fuzz secrets are 64 bytes long");
    assert_eq!(rotated.decode(text), Ok(token.clone()), "fallback secret");
    assert_ne!(
        rotated.encode(&token),
        cookie,
        "new cookies use the primary"
    );
    assert_eq!(
        signer(&STRANGER).decode(text),
        Err(CookieError::Signature),
        "another app's secret"
    );

    let at = u.choose_index(len)?;
    let with = *u.choose(BASE64URL)?;
    let mut tampered = text.as_bytes().to_vec();
    if tampered[at] != with {
        tampered[at] = with;
        let tampered = String::from_utf8(tampered).expect("base64url is ASCII");
        assert!(
            primary.decode(&tampered).is_err(),
            "a changed character must be refused"
        );
    }
    let cut = u.choose_index(len)?;
    assert!(
        primary.decode(&text[..cut]).is_err(),
        "a cut value is refused"
    );
    if !is_issued_len(cut) {
        assert_eq!(primary.decode(&text[..cut]), Err(CookieError::Length));
    }
    let extra = *u.choose(BASE64URL)? as char;
    let longer = format!("{text}{extra}");
    assert!(
        primary.decode(&longer).is_err(),
        "an extended value is refused"
    );
    if !is_issued_len(longer.len()) {
        assert_eq!(primary.decode(&longer), Err(CookieError::Length));
    }
    Ok(())
}

/// A token with these bytes (the fuzz checks must not depend on randomness, so that a crash replays).
pub fn token(bytes: [u8; TOKEN_LEN]) -> Token {
    Token::from_bytes(bytes, None)
}

/// An arbitrary session record: any ids, hashes, strings and timestamps (not necessarily consistent with
/// each other: a codec must carry whatever the record holds).
pub fn arbitrary_session(u: &mut Unstructured<'_>) -> Result<SessionRecord> {
    let ts = |u: &mut Unstructured<'_>| u.arbitrary::<u64>().map(Timestamp);
    let previous_token = if u.arbitrary()? {
        Some((TokenHash(u.arbitrary()?), ts(u)?))
    } else {
        None
    };
    let metadata = SessionMetadata {
        user_agent: u.arbitrary()?,
        ip: u.arbitrary()?,
        fields: u.arbitrary()?,
    };
    let auth_fingerprint = if u.arbitrary()? {
        Some(Fingerprint(u.arbitrary()?))
    } else {
        None
    };
    let authenticated_at = if u.arbitrary()? { Some(ts(u)?) } else { None };
    Ok(SessionRecord {
        session_id: SessionId(u.arbitrary()?),
        user_key: String::arbitrary(u)?.into(),
        created_at: ts(u)?,
        renewed_at: ts(u)?,
        idle_deadline: ts(u)?,
        absolute_deadline: ts(u)?,
        current_token: TokenHash(u.arbitrary()?),
        previous_token,
        metadata: metadata.into_shared(),
        auth_fingerprint,
        authenticated_at,
        remember_series: if u.arbitrary()? {
            Some(crate::token::SeriesId(u.arbitrary()?))
        } else {
            None
        },
    })
}

/// A user type like an app's, for the stores' user-blob decoders: strings, numbers, options, a list, a
/// map.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, Arbitrary)]
pub struct SampleUser {
    /// An id.
    pub id: u64,
    /// An email.
    pub email: String,
    /// A name, if any.
    pub name: Option<String>,
    /// Flags.
    pub admin: bool,
    /// A signed number.
    pub balance: i64,
    /// Roles.
    pub roles: Vec<String>,
    /// Settings.
    pub settings: std::collections::BTreeMap<String, u32>,
}

/// Target `pending_login`: the record a pending login's challenge carries (a second factor to come),
/// decoded from the session store's bytes.
///
/// - Any input decodes without a panic; if it decodes, it is exactly the encoding of what it decoded to
///   (one spelling per record: a changed byte is another record or none).
/// - A record built from the input encodes and decodes back to itself.
pub fn pending_login(data: &[u8]) {
    use crate::factor::Pending;
    if let Some(p) = Pending::decode("u1".to_owned(), data) {
        assert_eq!(p.encode(), data, "one spelling per record");
    }
    let mut u = Unstructured::new(data);
    let (Ok(remember), Ok(fingerprint)) = (
        bool::arbitrary(&mut u),
        Option::<[u8; 16]>::arbitrary(&mut u),
    ) else {
        return;
    };
    let p = Pending {
        user_key: "u1".to_owned(),
        remember,
        fingerprint: fingerprint.map(Fingerprint),
    };
    assert_eq!(Pending::decode("u1".to_owned(), &p.encode()), Some(p));
}
