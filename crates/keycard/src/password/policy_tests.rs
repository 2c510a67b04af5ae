//! The policy's behaviours, one test each.

use super::*;
use crate::password::Argon2Params;

fn policy() -> PasswordPolicy {
    PasswordPolicy::new()
}

#[test]
fn refuses_password_from_common_list() {
    for common in ["password", "12345678", "qwertyuiop", "iloveyou", "sunshine"] {
        assert_eq!(
            policy().check(common),
            Err(PasswordRejected::Common),
            "{common}"
        );
    }
}

#[test]
fn refuses_common_password_in_any_case_and_with_surrounding_spaces() {
    for common in ["PASSWORD", "PassWord", "  password  ", "\tSunshine\n"] {
        assert_eq!(
            policy().check(common),
            Err(PasswordRejected::Common),
            "{common:?}"
        );
    }
}

#[test]
fn accepts_long_random_passphrase() {
    for good in [
        "maple trumpet gravel orbit",
        "correct horse battery staple",
        "Xk3#q9!vTz",
        "šťastný pes 2026",
    ] {
        assert_eq!(policy().check(good), Ok(()), "{good}");
    }
}

#[test]
fn refuses_eight_spaces_and_other_whitespace_only() {
    assert_eq!(
        policy().check("        "),
        Err(PasswordRejected::OnlyWhitespace)
    );
    assert_eq!(
        policy().check(" \t \n \u{a0}  "),
        Err(PasswordRejected::OnlyWhitespace)
    );
}

#[test]
fn refuses_one_repeated_character() {
    assert_eq!(
        policy().check("aaaaaaaa"),
        Err(PasswordRejected::OneRepeatedCharacter)
    );
    assert_eq!(
        policy().check("ééééééééé"),
        Err(PasswordRejected::OneRepeatedCharacter)
    );
    assert_eq!(policy().check("zzzzzzzq"), Ok(()));
}

#[test]
fn counts_length_in_characters_without_trimming() {
    // 7 characters in 14 bytes: too short, whatever the byte count.
    assert_eq!(
        policy().check("žžžžžžx"),
        Err(PasswordRejected::TooShort { min_chars: 8 })
    );
    assert_eq!(
        policy().check("žluťouč"),
        Err(PasswordRejected::TooShort { min_chars: 8 })
    );
    assert_eq!(policy().check("žluťoučk"), Ok(()));
    // Surrounding spaces count: 4 characters and 4 spaces are 8.
    assert_eq!(policy().check("  q7#x  "), Ok(()));
    assert_eq!(
        policy().check(" q7#x  "),
        Err(PasswordRejected::TooShort { min_chars: 8 })
    );
}

#[test]
fn refuses_more_than_max_bytes_and_accepts_exactly_max() {
    let at_max: String = "ab3 ".repeat(DEFAULT_MAX_BYTES / 4);
    assert_eq!(at_max.len(), DEFAULT_MAX_BYTES);
    assert_eq!(policy().check(&at_max), Ok(()));
    assert_eq!(
        policy().check(&format!("{at_max}x")),
        Err(PasswordRejected::TooLong { max_bytes: 1024 })
    );
    // Megabytes are refused before anything counts them.
    assert_eq!(
        policy().check(&"x".repeat(4 << 20)),
        Err(PasswordRejected::TooLong { max_bytes: 1024 })
    );
}

#[test]
fn settings_change_the_limits_and_the_list() {
    let p = policy().with_min_chars(12).with_max_bytes(64);
    assert_eq!(p.check("plum orbit 7"), Ok(()));
    assert_eq!(
        p.check("plum orbit"),
        Err(PasswordRejected::TooShort { min_chars: 12 })
    );
    assert_eq!(
        p.check(&"plum ".repeat(13)),
        Err(PasswordRejected::TooLong { max_bytes: 64 })
    );
    assert_eq!(
        policy().with_max_bytes(usize::MAX).max_bytes(),
        MAX_PASSWORD_BYTES
    );
    assert_eq!(policy().with_common_list(false).check("password"), Ok(()));
}

#[test]
fn refuses_the_email_or_its_local_part_as_password() {
    let email = ["Alice.Liddell@Example.com"];
    for own in [
        "alice.liddell@example.com",
        "ALICE.LIDDELL",
        " alice.liddell ",
    ] {
        assert_eq!(
            policy().check_for_user(own, &email),
            Err(PasswordRejected::MatchesAccount),
            "{own}"
        );
    }
    assert_eq!(
        policy().check_for_user("alice in wonderland", &email),
        Ok(())
    );
    assert_eq!(
        policy().check_for_user("alice in wonderland", &[""]),
        Ok(())
    );
}

#[test]
fn refuses_new_password_equal_to_current() {
    assert_eq!(
        policy().check_change("plum orbit gravel", "plum orbit gravel", &[]),
        Err(PasswordRejected::SameAsCurrent)
    );
    assert_eq!(
        policy().check_change("plum orbit gravel!", "plum orbit gravel", &[]),
        Ok(())
    );
    // The rules come first: a common new password is refused as common.
    assert_eq!(
        policy().check_change("password", "password", &[]),
        Err(PasswordRejected::Common)
    );
}

#[tokio::test]
async fn refuses_new_password_that_verifies_against_current_hash() {
    let params = Argon2Params::new(64, 1, 1).expect("cheap argon2 parameters");
    let hasher = PasswordHasher::builder()
        .params(params)
        .build()
        .expect("hasher");
    let current = hasher.hash("plum orbit gravel").await.expect("hash");
    let same = policy()
        .check_change_against_hash(&hasher, "plum orbit gravel", &current, &[])
        .await;
    assert_eq!(
        same,
        Err(PasswordCheckError::Rejected(
            PasswordRejected::SameAsCurrent
        ))
    );
    let other = policy()
        .check_change_against_hash(&hasher, "plum orbit gravel!", &current, &[])
        .await;
    assert_eq!(other, Ok(()));
    let weak = policy()
        .check_change_against_hash(&hasher, "12345678", &current, &[])
        .await;
    assert_eq!(
        weak,
        Err(PasswordCheckError::Rejected(PasswordRejected::Common))
    );
    let broken = policy()
        .check_change_against_hash(&hasher, "plum orbit gravel", "$nonsense$", &[])
        .await;
    assert!(matches!(
        broken,
        Err(PasswordCheckError::Hasher(PasswordError::MalformedHash(_)))
    ));
}

#[test]
fn messages_tell_the_user_what_to_do() {
    assert_eq!(
        PasswordRejected::TooShort { min_chars: 8 }.to_string(),
        "use at least 8 characters"
    );
    assert_eq!(
        PasswordRejected::Common.to_string(),
        "this password is on a list of common or breached passwords; choose another"
    );
    assert_eq!(
        PasswordRejected::SameAsCurrent.to_string(),
        "choose a password different from your current one"
    );
}

#[test]
fn bundled_list_is_sorted_lowercase_and_trimmed() {
    let lines: Vec<&str> = COMMON_PASSWORDS.lines().collect();
    assert_eq!(lines.len(), 19_640);
    assert!(
        lines.windows(2).all(|w| w[0] < w[1]),
        "sorted, no duplicates"
    );
    for line in &lines {
        assert!(!line.is_empty() && line.trim() == *line, "{line:?}");
        assert_eq!(line.to_lowercase(), *line);
    }
}
