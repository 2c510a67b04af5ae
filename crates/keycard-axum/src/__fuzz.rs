//! The checks behind the fuzz targets `cookie_header` and `csrf_token` in `fuzz/` (feature `fuzzing`; not
//! a supported API).
//!
//! Each check takes the fuzzer's raw bytes, so a crash input replays byte for byte in
//! `tests/fuzz_regressions.rs`. A check panics (an `assert!`) exactly when the code under test broke a
//! property; malformed input is not a failure.

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use keycard::__fuzz::arbitrary::{Result, Unstructured};
use keycard::token::{COOKIE_VALUE_LEN, TAGGED_COOKIE_VALUE_LEN};
use keycard::{CookieSigner, SessionId, Timestamp};

use crate::cookie::{lookup, Lookup, Refusal, MAX_COOKIE_HEADER_BYTES};
use crate::csrf::token::{self, CsrfKey, MASKED_LEN};

const SECRET: [u8; 64] = [0x44; 64];
const NAME: &str = "__Host-keycard_session";
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn well_shaped(v: &str) -> bool {
    (v.len() == COOKIE_VALUE_LEN || v.len() == TAGGED_COOKIE_VALUE_LEN)
        && v.bytes().all(|b| BASE64URL.contains(&b))
}

/// Target `cookie_header`: the session cookie lookup on arbitrary `Cookie` headers, then the signature
/// check on what it found.
///
/// - Arbitrary header bytes (split into up to four `Cookie` headers): no panic; over
///   [`MAX_COOKIE_HEADER_BYTES`] in total is never `Found`; `Found(v)` is a well-shaped value that one of the
///   headers holds, and it goes through [`CookieSigner::decode`] as the layer would.
/// - A real session cookie appended as `; <name>=<value>` to arbitrary text that does not mention the
///   cookie's name is found (the text is UTF-8 and the total is under the limit), or refused as not UTF-8.
pub fn cookie_header(data: &[u8]) {
    let signer = CookieSigner::new(&SECRET).expect("the fuzz secret is 64 bytes long");
    let mut u = Unstructured::new(data);
    let _ = arbitrary_headers(&mut u, &signer);
    let _ = planted_cookie(&mut u, &signer);
}

fn arbitrary_headers(u: &mut Unstructured<'_>, signer: &CookieSigner) -> Result<()> {
    let count = u.int_in_range(0..=4u8)?;
    let mut headers = HeaderMap::new();
    let mut total = 0usize;
    for _ in 0..count {
        let bytes: &[u8] = u.arbitrary()?;
        if let Ok(v) = HeaderValue::from_bytes(bytes) {
            total += v.len();
            headers.append(COOKIE, v);
        }
    }
    match lookup(&headers, NAME) {
        Lookup::Found(v) => {
            assert!(
                total <= MAX_COOKIE_HEADER_BYTES,
                "found in oversized headers"
            );
            assert!(well_shaped(v), "found a value of the wrong shape");
            assert!(
                headers
                    .get_all(COOKIE)
                    .iter()
                    // As the lookup reads them: UTF-8 (`HeaderValue::to_str` refuses all but ASCII).
                    .any(|h| std::str::from_utf8(h.as_bytes())
                        .is_ok_and(|h| h.contains(NAME) && h.contains(v))),
                "found a value no header holds"
            );
            let _ = signer.decode(v);
        }
        Lookup::Refused(Refusal::Oversized) => assert!(total > MAX_COOKIE_HEADER_BYTES),
        Lookup::Absent | Lookup::Refused(_) => {}
    }
    Ok(())
}

fn planted_cookie(u: &mut Unstructured<'_>, signer: &CookieSigner) -> Result<()> {
    let before: &[u8] = u.arbitrary()?;
    let cookie = signer.encode(&keycard::__fuzz::token(u.arbitrary()?));
    let mut raw = before.to_vec();
    raw.extend_from_slice(format!("; {NAME}={}", cookie.as_str()).as_bytes());
    if before.windows(NAME.len()).any(|w| w == NAME.as_bytes()) {
        return Ok(());
    }
    let Ok(value) = HeaderValue::from_bytes(&raw) else {
        return Ok(());
    };
    let mut headers = HeaderMap::new();
    headers.append(COOKIE, value);
    let expected = if raw.len() > MAX_COOKIE_HEADER_BYTES {
        Lookup::Refused(Refusal::Oversized)
    } else if std::str::from_utf8(before).is_err() {
        Lookup::Refused(Refusal::NotUtf8)
    } else {
        Lookup::Found(cookie.as_str())
    };
    assert_eq!(lookup(&headers, NAME), expected);
    if let Lookup::Found(v) = expected {
        assert!(signer.decode(v).is_ok(), "the planted cookie verifies");
    }
    Ok(())
}

/// Target `csrf_token`: the masked CSRF token check.
///
/// - An arbitrary presented string: no panic; if it is ever accepted for one session's secret, it is
///   refused for another session's, for the anonymous secret, and for the same session under another key.
/// - A token masked (with any mask) for a session is accepted for that session, also with blanks around
///   it, and refused for another session, another creation time, the anonymous secret and another key;
///   one character changed, a character cut or added, is refused.
pub fn csrf_token(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let _ = csrf(&mut u);
}

fn csrf(u: &mut Unstructured<'_>) -> Result<()> {
    let key = CsrfKey::new(&SECRET).expect("the fuzz secret is 64 bytes long");
    let other_key = CsrfKey::new(&[0x55; 64]).expect("the fuzz secret is 64 bytes long");
    let id = SessionId(u.arbitrary()?);
    let created = Timestamp(u.arbitrary()?);
    let mut other_id = SessionId(u.arbitrary()?);
    if other_id == id {
        other_id.0[0] ^= 1;
    }
    let anonymous_cookie: &str = u.arbitrary()?;
    let raw = key.for_session(&id, created);
    let others = [
        key.for_session(&other_id, created),
        key.for_session(&id, Timestamp(created.0.wrapping_add(1))),
        key.for_anonymous(anonymous_cookie),
        other_key.for_session(&id, created),
    ];

    let presented: &str = u.arbitrary()?;
    if token::verify(&raw, presented) {
        for other in &others {
            assert!(
                !token::verify(other, presented),
                "one token accepted for two secrets"
            );
        }
    }

    let m: [u8; 32] = u.arbitrary()?;
    let masked = token::mask_with(&raw, &m);
    assert_eq!(masked.len(), MASKED_LEN);
    assert!(token::verify(&raw, &masked), "a real token is accepted");
    assert!(
        token::verify(&raw, &format!(" \t{masked}\t ")),
        "blanks around it"
    );
    for other in &others {
        assert!(
            !token::verify(other, &masked),
            "accepted for another secret"
        );
    }
    let at = u.choose_index(MASKED_LEN)?;
    let with = *u.choose(BASE64URL)?;
    let mut tampered = masked.clone().into_bytes();
    if tampered[at] != with {
        tampered[at] = with;
        let tampered = String::from_utf8(tampered).expect("base64url is ASCII");
        assert!(!token::verify(&raw, &tampered), "a changed character");
    }
    let cut = u.choose_index(MASKED_LEN)?;
    assert!(!token::verify(&raw, &masked[..cut]), "a cut token");
    let extra = *u.choose(BASE64URL)? as char;
    assert!(
        !token::verify(&raw, &format!("{masked}{extra}")),
        "an extended token"
    );
    Ok(())
}
