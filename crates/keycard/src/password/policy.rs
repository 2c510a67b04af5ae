//! Which new passwords to accept: length, whitespace and repeats, a bundled list of common and breached
//! passwords, the account's own name, and the current password.
//!
//! # The bundled list
//!
//! `common-passwords.txt` is the list Django's `CommonPasswordValidator` ships (Django 5.2.19,
//! `django/contrib/auth/common-passwords.txt.gz`): the 20,000 most common passwords compiled by Royce
//! Williams from breached-password data, unhexed, lowercased and deduplicated by Django (19,640 lines),
//! stored here uncompressed and sorted so it can be searched in place. It is Django's, under Django's
//! BSD-3-Clause licence, which `common-passwords.LICENSE` beside it reproduces. The list is compiled
//! into the crate (about 160 KB) and indexed once, at the first check; a check is then one binary search.

use std::sync::LazyLock;

use subtle::ConstantTimeEq as _;

use super::{PasswordError, PasswordHasher, Verified, MAX_PASSWORD_BYTES};

/// The shortest password [`PasswordPolicy::new`] accepts, in characters (NIST SP 800-63B's minimum).
pub const DEFAULT_MIN_CHARS: usize = 8;
/// The longest password [`PasswordPolicy::new`] accepts, in bytes: long enough for any passphrase, short
/// enough that nobody makes the server hash megabytes.
pub const DEFAULT_MAX_BYTES: usize = 1024;

/// The bundled list: lowercase, one a line, sorted in byte order (see the [module docs](self)).
const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

static COMMON_INDEX: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| COMMON_PASSWORDS.lines().collect());

/// Whether `password` is on the bundled list of common and breached passwords, ignoring case and
/// surrounding whitespace (as Django does).
pub fn is_common_password(password: &str) -> bool {
    let candidate = password.trim().to_lowercase();
    COMMON_INDEX.binary_search(&candidate.as_str()).is_ok()
}

/// The rules a new password must pass, at registration and at every password change.
///
/// | rule | default | refused with |
/// |---|---|---|
/// | at least `min_chars` characters (Unicode scalar values, counted as typed: nothing is trimmed) | 8 | [`PasswordRejected::TooShort`] |
/// | at most `max_bytes` bytes (never truncated) | 1024 | [`PasswordRejected::TooLong`] |
/// | not whitespace only | on | [`PasswordRejected::OnlyWhitespace`] |
/// | not one character repeated | on | [`PasswordRejected::OneRepeatedCharacter`] |
/// | not on the bundled list of common and breached passwords, in any case | on | [`PasswordRejected::Common`] |
/// | not the account's email or name, nor the email's local part ([`check_for_user`](Self::check_for_user)) | on | [`PasswordRejected::MatchesAccount`] |
/// | not the current password ([`check_change`](Self::check_change)) | on | [`PasswordRejected::SameAsCurrent`] |
///
/// No composition rules (a digit, a capital, a symbol): like NIST SP 800-63B, the policy refuses what is
/// known to be guessed first and otherwise lets people choose long passphrases.
///
/// ```
/// use keycard::password::{PasswordPolicy, PasswordRejected};
///
/// let policy = PasswordPolicy::new();
/// assert_eq!(policy.check("password"), Err(PasswordRejected::Common));
/// assert_eq!(policy.check("short"), Err(PasswordRejected::TooShort { min_chars: 8 }));
/// assert!(policy.check("maple trumpet gravel orbit").is_ok());
/// // A change: the current password was just verified, the new one must differ from it.
/// assert_eq!(
///     policy.check_change("maple trumpet gravel orbit", "maple trumpet gravel orbit", &[]),
///     Err(PasswordRejected::SameAsCurrent),
/// );
/// assert_eq!(
///     PasswordRejected::Common.to_string(),
///     "this password is on a list of common or breached passwords; choose another",
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
    max_bytes: usize,
    common_list: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy::new()
    }
}

/// Why a new password was refused. `Display` says what to do instead, in words fit for the user; none
/// of the variants holds the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordRejected {
    /// Fewer characters than the policy's minimum.
    #[error("use at least {min_chars} characters")]
    TooShort {
        /// The minimum, in characters.
        min_chars: usize,
    },
    /// More bytes than the policy's maximum.
    #[error("use at most {max_bytes} bytes; a few words are plenty")]
    TooLong {
        /// The maximum, in bytes.
        max_bytes: usize,
    },
    /// Nothing but spaces, tabs or newlines.
    #[error("use something other than spaces only")]
    OnlyWhitespace,
    /// One character repeated (`aaaaaaaa`).
    #[error("use more than one character repeated; a few unrelated words are easy to remember")]
    OneRepeatedCharacter,
    /// On the bundled list of common and breached passwords.
    #[error("this password is on a list of common or breached passwords; choose another")]
    Common,
    /// The account's email, its local part, or another of the user's own inputs.
    #[error("don't use your email address or name as your password; choose another")]
    MatchesAccount,
    /// The same as the current password (a password change).
    #[error("choose a password different from your current one")]
    SameAsCurrent,
}

/// Why [`PasswordPolicy::check_change_against_hash`] could not accept the new password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordCheckError {
    /// The policy refused it: show this to the user.
    #[error(transparent)]
    Rejected(#[from] PasswordRejected),
    /// Comparing it with the current hash failed (busy, malformed hash): handle like any
    /// [`PasswordError`].
    #[error(transparent)]
    Hasher(#[from] PasswordError),
}

impl PasswordPolicy {
    /// The defaults: at least [`DEFAULT_MIN_CHARS`] characters, at most [`DEFAULT_MAX_BYTES`] bytes,
    /// the bundled list on.
    pub const fn new() -> Self {
        PasswordPolicy {
            min_chars: DEFAULT_MIN_CHARS,
            max_bytes: DEFAULT_MAX_BYTES,
            common_list: true,
        }
    }

    /// Another minimum length, in characters.
    pub const fn with_min_chars(mut self, min_chars: usize) -> Self {
        self.min_chars = min_chars;
        self
    }

    /// Another maximum length, in bytes; at most [`MAX_PASSWORD_BYTES`], the most the hasher accepts.
    pub const fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = if max_bytes > MAX_PASSWORD_BYTES {
            MAX_PASSWORD_BYTES
        } else {
            max_bytes
        };
        self
    }

    /// Whether to refuse passwords on the bundled list (default on). Off is for an app that checks a list
    /// of its own (a larger one, or a breach API) instead.
    pub const fn with_common_list(mut self, on: bool) -> Self {
        self.common_list = on;
        self
    }

    /// The minimum length, in characters.
    pub const fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// The maximum length, in bytes.
    pub const fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Check a new password against the rules that need nothing but the password.
    ///
    /// Errors: the first rule the password breaks, as a [`PasswordRejected`] whose `Display` tells the user
    /// what to do.
    pub fn check(&self, password: &str) -> Result<(), PasswordRejected> {
        if password.len() > self.max_bytes {
            return Err(PasswordRejected::TooLong {
                max_bytes: self.max_bytes,
            });
        }
        if password.chars().count() < self.min_chars {
            return Err(PasswordRejected::TooShort {
                min_chars: self.min_chars,
            });
        }
        if !password.is_empty() && password.chars().all(char::is_whitespace) {
            return Err(PasswordRejected::OnlyWhitespace);
        }
        let mut chars = password.chars();
        if let Some(first) = chars.next() {
            if password.chars().nth(1).is_some() && chars.all(|c| c == first) {
                return Err(PasswordRejected::OneRepeatedCharacter);
            }
        }
        if self.common_list && is_common_password(password) {
            return Err(PasswordRejected::Common);
        }
        Ok(())
    }

    /// [`check`](Self::check), and refuse the user's own inputs as the password: each of `user_inputs`
    /// (the email, a user name), and for an email its local part, ignoring case and surrounding
    /// whitespace. Empty inputs are skipped.
    pub fn check_for_user(
        &self,
        password: &str,
        user_inputs: &[&str],
    ) -> Result<(), PasswordRejected> {
        self.check(password)?;
        let candidate = password.trim().to_lowercase();
        let matches = |input: &str| {
            let input = input.trim().to_lowercase();
            !input.is_empty() && input == candidate
        };
        for input in user_inputs {
            let local = input.rsplit_once('@').map(|(local, _)| local);
            if matches(input) || local.is_some_and(matches) {
                return Err(PasswordRejected::MatchesAccount);
            }
        }
        Ok(())
    }

    /// A password change in which the app has just verified `current_password` (the plaintext the user
    /// typed as their current one): [`check_for_user`](Self::check_for_user) on `new_password`, and
    /// [`PasswordRejected::SameAsCurrent`] when it is the current one. Only call it once `current_password`
    /// verified: compared with a wrong guess, "different from your current one" means nothing.
    ///
    /// Errors: those of [`check_for_user`](Self::check_for_user), and [`PasswordRejected::SameAsCurrent`].
    pub fn check_change(
        &self,
        new_password: &str,
        current_password: &str,
        user_inputs: &[&str],
    ) -> Result<(), PasswordRejected> {
        self.check_for_user(new_password, user_inputs)?;
        if bool::from(new_password.as_bytes().ct_eq(current_password.as_bytes())) {
            return Err(PasswordRejected::SameAsCurrent);
        }
        Ok(())
    }

    /// A password change in which the app has the current hash but not a verified current password (a
    /// reset link, an admin setting a password): [`check_for_user`](Self::check_for_user) on
    /// `new_password`, then `new_password` verified against `current_hash` with `hasher` (one verification,
    /// only when the rules passed); [`PasswordRejected::SameAsCurrent`] if it verifies.
    ///
    /// Errors: [`PasswordCheckError`]: a rule broken (as [`check_for_user`](Self::check_for_user), or
    /// [`PasswordRejected::SameAsCurrent`]), or the verification failed (a busy hasher, a malformed hash).
    pub async fn check_change_against_hash(
        &self,
        hasher: &PasswordHasher,
        new_password: &str,
        current_hash: &str,
        user_inputs: &[&str],
    ) -> Result<(), PasswordCheckError> {
        self.check_for_user(new_password, user_inputs)?;
        match hasher.verify(new_password, Some(current_hash)).await? {
            Verified::Valid { .. } => Err(PasswordRejected::SameAsCurrent.into()),
            Verified::Invalid => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
