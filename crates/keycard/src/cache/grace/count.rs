//! What grace answers are counted by: the kind of replaced token, where the counts live, and the
//! counter of one replaced token. A leaf of the cache: the cache holds a [`GraceCounter`], and its
//! grace methods (`super`) count with it.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::throttle::{ThrottleKey, ThrottleStore};
use crate::token::TokenHash;

const LABEL: &[u8] = b"keycard grace answers v1\0";

/// Which kind of replaced token a grace answer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GraceKind {
    /// A session token after its renewal.
    Session,
    /// A remember-me token after its redemption.
    Remember,
}

impl GraceKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GraceKind::Session => "session",
            GraceKind::Remember => "remember_me",
        }
    }
}

/// Where grace answers are counted.
#[derive(Clone)]
pub(crate) struct GraceCounter {
    pub(crate) store: Arc<dyn ThrottleStore>,
}

/// The counter of one replaced token: a hash of its (already hashed) value, so the counter store never
/// holds anything a lookup could use.
pub(super) fn counter(kind: GraceKind, token: &TokenHash) -> ThrottleKey {
    let mut h = Sha256::new();
    h.update(LABEL);
    h.update([kind as u8]);
    h.update(token.0);
    ThrottleKey(h.finalize().into())
}
