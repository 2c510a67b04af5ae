//! The verification tests: Pow vectors, malformed and absurd hashes, argon2 round trips and rehashes,
//! unknown users, over-long passwords.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::pow::PowHash;
use super::*;

/// One hasher for the whole file (its dummy hash is made once).
/// The default hasher but for its wait for a permit: these tests hash in parallel on a loaded 2-core
/// machine, and a test that is not about capacity must not fail with `Busy` (the tests of the bound set
/// their own waits).
fn hasher() -> &'static PasswordHasher {
    static HASHER: LazyLock<PasswordHasher> = LazyLock::new(|| {
        PasswordHasher::builder()
            .max_wait(std::time::Duration::from_secs(120))
            .build()
            .expect("the default configuration with a longer wait")
    });
    &HASHER
}

// python3 -c "import hashlib,base64;print(base64.b64encode(hashlib.pbkdf2_hmac('sha512', b'secret1234', b'0123456789abcdef', 100000)).decode())"
// (salt: base64.b64encode(b'0123456789abcdef') = MDEyMzQ1Njc4OWFiY2RlZg==). Pow's defaults: 100,000
// iterations, 16-byte salt, 64-byte output.
const POW_100K: &str = "$pbkdf2-sha512$100000$MDEyMzQ1Njc4OWFiY2RlZg==$1lMupKyfiiMVmQMSurej/NX2p7s16zIyLtlUv0vlGU6w+G8bgrj/YBpmKJKcgfeMniZPyGPD413fOdlpsSf0rg==";

// python3 -c "import hashlib,base64;print(base64.b64encode(hashlib.pbkdf2_hmac('sha512', 'pässwörd ✓'.encode(), bytes(range(16)), 1000)).decode(), base64.b64encode(bytes(range(16))).decode())"
const POW_UNICODE_1K: &str = "$pbkdf2-sha512$1000$AAECAwQFBgcICQoLDA0ODw==$8wdAPRY0tqYtf2WLR1IVnRsQhxevulMX/QqzzmM+bayJWVUaQdMSA1VfHZ2BDFuJ7AcPXmBluyWScJALuOYNuQ==";

// python3 -c "import hashlib,base64;print(base64.b64encode(hashlib.pbkdf2_hmac('sha512', b'', b'saltsaltsaltsalt', 1)).decode())"
// (salt: base64.b64encode(b'saltsaltsaltsalt') = c2FsdHNhbHRzYWx0c2FsdA==)
const POW_EMPTY_1: &str = "$pbkdf2-sha512$1$c2FsdHNhbHRzYWx0c2FsdA==$lRSWwuE1XgE8zEKStWhYXB3zHA4KxA706xnMRc4gYDIzEPu8lqxrYMni0ju+k2zBL2pQ529BMJyNJjWyfNXCDA==";

// A 32-byte output (dklen=32):
// python3 -c "import hashlib,base64;print(base64.b64encode(hashlib.pbkdf2_hmac('sha512', b'hunter2hunter2', b'0123456789abcdef', 2000, 32)).decode())"
const POW_DKLEN32: &str =
    "$pbkdf2-sha512$2000$MDEyMzQ1Njc4OWFiY2RlZg==$+XeuVF2JzClX52KrLFX9L/qsmcLnbR8810g5SCB7NGc=";

fn assert_valid_with_current_rehash(v: Verified, password: &str) {
    let Verified::Valid { rehash: Some(new) } = v else {
        panic!("expected Valid with a rehash, got {v:?}");
    };
    assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{new}");
    assert!(!hasher().needs_rehash(&new));
    assert_eq!(
        hasher().verify_blocking(password, Some(&new)).unwrap(),
        Verified::Valid { rehash: None }
    );
}

#[tokio::test]
async fn pow_hash_verifies_and_asks_for_a_rehash() {
    let v = hasher().verify("secret1234", Some(POW_100K)).await.unwrap();
    assert_valid_with_current_rehash(v, "secret1234");
    assert!(hasher().needs_rehash(POW_100K));
}

#[test]
fn pow_vectors_from_python() {
    assert_valid_with_current_rehash(
        hasher()
            .verify_blocking("pässwörd ✓", Some(POW_UNICODE_1K))
            .unwrap(),
        "pässwörd ✓",
    );
    assert_valid_with_current_rehash(hasher().verify_blocking("", Some(POW_EMPTY_1)).unwrap(), "");
    assert_valid_with_current_rehash(
        hasher()
            .verify_blocking("hunter2hunter2", Some(POW_DKLEN32))
            .unwrap(),
        "hunter2hunter2",
    );
}

#[tokio::test]
async fn pow_hash_wrong_password_is_invalid() {
    assert_eq!(
        hasher().verify("secret1235", Some(POW_100K)).await.unwrap(),
        Verified::Invalid
    );
    assert_eq!(
        hasher()
            .verify_blocking("passwörd ✓", Some(POW_UNICODE_1K))
            .unwrap(),
        Verified::Invalid
    );
    assert_eq!(
        hasher().verify_blocking(" ", Some(POW_EMPTY_1)).unwrap(),
        Verified::Invalid
    );
}

#[test]
fn pow_hash_with_one_bit_flipped_is_invalid() {
    // Last hash character 'g' -> 'h' changes the decoded bytes, still valid base64.
    let tampered = POW_100K.replace("sSf0rg==", "sSf0rw==");
    assert_ne!(tampered, POW_100K);
    assert_eq!(
        hasher()
            .verify_blocking("secret1234", Some(&tampered))
            .unwrap(),
        Verified::Invalid
    );
}

#[test]
fn malformed_hashes_are_errors_not_panics() {
    let cases = [
        "",
        "$",
        "plaintext",
        "$pbkdf2-sha512$",
        "$pbkdf2-sha512$100000",
        "$pbkdf2-sha512$100000$MDEyMzQ1Njc4OWFiY2RlZg==",
        "$pbkdf2-sha512$100000$MDEyMzQ1Njc4OWFiY2RlZg==$",
        "$pbkdf2-sha512$abc$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
        "$pbkdf2-sha512$-1$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
        "$pbkdf2-sha512$+5$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
        "$pbkdf2-sha512$0$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
        "$pbkdf2-sha512$1000$$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
        "$pbkdf2-sha512$1000$not*base64$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
        // URL-safe alphabet / missing padding are not what Pow writes.
        "$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
        "$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt-JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
        // Too short an output.
        "$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
        // Extra field.
        "$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=$x",
        "$pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
        "$argon2id$",
        "$argon2id$v=19$m=19456,t=2,p=1$",
        "$argon2x$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=1,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA",
        "$2b$12$abcdefghijklmnopqrstuv",
    ];
    for case in cases {
        let err = hasher()
            .verify_blocking("secret1234", Some(case))
            .expect_err(&format!("{case:?} should be an error"));
        assert!(
            matches!(err, PasswordError::MalformedHash(_)),
            "{case:?}: {err:?}"
        );
        assert!(hasher().needs_rehash(case));
    }
    let non_utf8_like = "$pbkdf2-sha512$1000$\u{fffd}\u{fffd}$\u{0}";
    assert!(hasher().verify_blocking("x", Some(non_utf8_like)).is_err());
}

#[tokio::test]
async fn absurd_parameters_are_refused_without_work() {
    // Refused at parse time: had any of these run, the test would take hours (4 billion PBKDF2
    // iterations) or gigabytes (4 GiB of argon2 memory) instead of returning the error.
    for case in [
        "$pbkdf2-sha512$1000001$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
        "$pbkdf2-sha512$4294967295$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
        // 128-byte output (two SHA-512 blocks).
        "$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=19456,t=1000,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=19456,t=2,p=64$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let err = hasher().verify_blocking("secret1234", Some(case)).expect_err(case);
        assert!(
            matches!(err, PasswordError::UnsupportedParams(_)),
            "{case}: {err:?}"
        );
    }
    // Same answer through the async API.
    assert!(matches!(
        hasher().verify(
            "x",
            Some("$pbkdf2-sha512$4294967295$MDEyMzQ1Njc4OWFiY2RlZg==$+XeuVF2JzClX52KrLFX9L/qsmcLnbR8810g5SCB7NGc=")
        )
        .await,
        Err(PasswordError::UnsupportedParams(_))
    ));
    // The bound itself is accepted (parse only; not run here).
    assert!(PowHash::parse(
        "$pbkdf2-sha512$1000000$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI="
    )
    .is_ok());
}

#[tokio::test]
async fn argon2id_round_trip_without_rehash() {
    let h = hasher().hash("correct horse battery staple").await.unwrap();
    assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    assert!(!hasher().needs_rehash(&h));
    assert_eq!(
        hasher()
            .verify("correct horse battery staple", Some(&h))
            .await
            .unwrap(),
        Verified::Valid { rehash: None }
    );
    assert_eq!(
        hasher()
            .verify("correct horse battery stapler", Some(&h))
            .await
            .unwrap(),
        Verified::Invalid
    );
    // Fresh salt every time.
    let h2 = hasher().hash("correct horse battery staple").await.unwrap();
    assert_ne!(h, h2);
}

#[test]
fn weaker_argon2_asks_for_a_rehash() {
    let mut salt = [0u8; SALT_LEN];
    getrandom::getrandom(&mut salt).unwrap();
    let salt = SaltString::encode_b64(&salt).unwrap();
    for (alg, params) in [
        (
            Algorithm::Argon2id,
            Params::new(4096, 3, 1, Some(32)).unwrap(),
        ),
        (
            Algorithm::Argon2id,
            Params::new(19456, 1, 1, Some(32)).unwrap(),
        ),
        (
            Algorithm::Argon2i,
            Params::new(19456, 2, 1, Some(32)).unwrap(),
        ),
    ] {
        let weak = Argon2::new(alg, Version::V0x13, params)
            .hash_password(b"pw-weak-1", &salt)
            .unwrap()
            .to_string();
        assert!(hasher().needs_rehash(&weak), "{weak}");
        assert_valid_with_current_rehash(
            hasher().verify_blocking("pw-weak-1", Some(&weak)).unwrap(),
            "pw-weak-1",
        );
        assert_eq!(
            hasher().verify_blocking("pw-weak-2", Some(&weak)).unwrap(),
            Verified::Invalid
        );
    }
    // Stronger than current is fine as it is.
    let strong = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19456, 3, 1, Some(32)).unwrap(),
    )
    .hash_password(b"pw", &salt)
    .unwrap()
    .to_string();
    assert!(!hasher().needs_rehash(&strong));
}

#[tokio::test]
async fn unknown_user_is_invalid_and_costs_a_verification() {
    assert_eq!(hasher().verify("x", None).await.unwrap(), Verified::Invalid);
    // The cost is pinned structurally, not by a stopwatch: an unknown user is verified against a real
    // argon2id hash made at exactly the parameters of a stored one, so it runs the same work as a wrong
    // password. (Timing it here would make a flaky test on a busy machine; BENCHMARKS measures time.)
    let dummy = hasher().dummy_hash().expect("dummy hash is built");
    assert!(
        !hasher().needs_rehash(dummy),
        "dummy hash must use the current parameters"
    );
    let stored = hasher().hash("the real one").await.unwrap();
    let (d, s) = (
        PasswordHash::new(dummy).unwrap(),
        PasswordHash::new(&stored).unwrap(),
    );
    assert_eq!(d.algorithm, s.algorithm);
    assert_eq!(d.version, s.version);
    assert_eq!(
        Params::try_from(&d).unwrap(),
        Params::try_from(&s).unwrap(),
        "same argon2 parameters"
    );
    assert_eq!(
        hasher().verify_blocking("guess", None).unwrap(),
        Verified::Invalid
    );
    assert_eq!(
        hasher().verify_blocking("guess", Some(&stored)).unwrap(),
        Verified::Invalid
    );
    // The async API answers the same.
    assert_eq!(
        hasher().verify("guess", None).await.unwrap(),
        Verified::Invalid
    );
}

#[tokio::test]
async fn overlong_passwords() {
    let long = "a".repeat(MAX_PASSWORD_BYTES + 1);
    assert_eq!(
        hasher().hash(&long).await,
        Err(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES
        })
    );
    assert_eq!(
        hasher().verify(&long, Some(POW_EMPTY_1)).await.unwrap(),
        Verified::Invalid
    );
    assert_eq!(
        hasher().verify(&long, None).await.unwrap(),
        Verified::Invalid
    );
    // At the limit: accepted, and not truncated (one more byte differs).
    let at = "b".repeat(MAX_PASSWORD_BYTES);
    let h = hasher().hash(&at).await.unwrap();
    assert!(hasher().verify(&at, Some(&h)).await.unwrap().is_valid());
    let mut almost = at.clone();
    almost.pop();
    assert!(!hasher().verify(&almost, Some(&h)).await.unwrap().is_valid());
}

#[test]
fn debug_never_shows_the_new_hash() {
    let v = Verified::Valid {
        rehash: Some("$argon2id$secret".into()),
    };
    assert_eq!(format!("{v:?}"), "Valid { rehash: Some(\"<new hash>\") }");
    assert_eq!(v.rehash(), Some("$argon2id$secret"));
}

#[tokio::test]
async fn parameters_belong_to_the_hasher() {
    let stronger = PasswordHasher::builder()
        .params(Argon2Params::new(19_456, 3, 1).unwrap())
        .build()
        .unwrap();
    let old = hasher().hash("pw").await.unwrap();
    assert!(stronger.needs_rehash(&old), "t=2 is weaker than t=3");
    let v = stronger.verify("pw", Some(&old)).await.unwrap();
    let new = v.rehash().expect("rehashed at the stronger parameters");
    assert!(new.starts_with("$argon2id$v=19$m=19456,t=3,p=1$"), "{new}");
    assert!(!stronger.needs_rehash(new));
    assert!(
        !hasher().needs_rehash(new),
        "stronger than the default needs no rehash"
    );
    // The unknown-user work is at the hasher's own parameters too.
    assert_eq!(stronger.verify("x", None).await.unwrap(), Verified::Invalid);
    let dummy = stronger.dummy_hash().expect("dummy hash is built");
    assert!(
        dummy.starts_with("$argon2id$v=19$m=19456,t=3,p=1$"),
        "{dummy}"
    );
}
