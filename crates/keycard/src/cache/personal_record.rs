//! What marks a session as a personal access token, and what it records: the prefix, the limits, the
//! metadata fields ([`PersonalTokenInfo`]). Issuing one is [`CredentialsCache::create_personal_token`]
//! (module `personal`), which this module does not depend on.
//!
//! [`CredentialsCache::create_personal_token`]: crate::CredentialsCache::create_personal_token

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::store::SessionRecord;

/// What a personal token's value starts with: `kcpat_` and then the signed token (86 or 88 URL-safe
/// characters).
pub const PERSONAL_TOKEN_PREFIX: &str = "kcpat_";
/// How many personal tokens one user may hold.
pub const MAX_PERSONAL_TOKENS_PER_USER: usize = 50;
/// The longest lifetime a personal token may have: a year.
pub const MAX_PERSONAL_TOKEN_TTL: Duration = Duration::from_secs(366 * 24 * 3600);
/// The longest name.
pub const MAX_PERSONAL_TOKEN_NAME: usize = 100;

pub(super) const KIND: &str = "keycard.kind";
pub(super) const KIND_PERSONAL: &str = "personal_token";
pub(super) const NAME: &str = "keycard.name";
pub(super) const SCOPES: &str = "keycard.scopes";

/// What to issue ([`CredentialsCache::create_personal_token`](crate::CredentialsCache::create_personal_token)).
#[derive(Debug, Clone)]
pub struct PersonalTokenRequest<'a> {
    /// What the user calls it ("deploy script"): 1 to [`MAX_PERSONAL_TOKEN_NAME`] characters.
    pub name: &'a str,
    /// The app's scopes (`read`, `plans:write`): letters, digits and `:._-`.
    pub scopes: &'a [&'a str],
    /// How long it works: up to [`MAX_PERSONAL_TOKEN_TTL`].
    pub ttl: Duration,
}

/// Personal access tokens: a session of its own kind, for scripts and API clients.
///
/// A personal token **is a session**: it names the same cached user every other session of the user
/// shares (so `put_user` reaches it), it is listed with the user's sessions and ended like one
/// (`delete_session`, "log out everywhere", a password change, which ends it like any session bound to the
/// old credentials). What makes it a token:
///
/// - **It never rotates.** A script cannot follow a rotation: a value presented with the prefix is fetched
///   with a renewal plan that is never due ([`RenewalPlan::is_due`](crate::store::RenewalPlan::is_due)),
///   and its idle deadline is its expiry (it is not "idle" between two runs of a cron job). It resolves
///   only with its prefix, and only to a personal token's session; a session's cookie value with the
///   prefix resolves to nothing. (Presenting a personal token's value *without* its prefix as a session
///   cookie finds nothing too, but may rotate it first, which kills it: send it as it was shown.)
/// - **It is never fresh for sudo mode** (`authenticated_at` is empty): a leaked token cannot change the
///   password or the factors.
/// - **A name, an expiry and scopes** the app defines, kept in the session's metadata fields
///   ([`PersonalTokenInfo::of`]); the app checks the scopes it needs.
/// - **A recognisable prefix** ([`PERSONAL_TOKEN_PREFIX`], `kcpat_`) before the signed value, so secret
///   scanners (GitHub's, trufflehog) can find a leaked one; shown once, the store keeps only its hash.
/// - It does not count toward [`Policy::max_sessions_per_user`](crate::Policy::max_sessions_per_user)
///   and is never displaced by a sign-in; a user holds at most [`MAX_PERSONAL_TOKENS_PER_USER`].
///
/// This is one just issued: show `value` **once**.
#[derive(Debug)]
#[non_exhaustive]
pub struct PersonalToken {
    /// `kcpat_…`: what the client sends as `Authorization: Bearer`.
    pub value: String,
    /// Its session (its id is how the user lists and revokes it).
    pub session: Arc<SessionRecord>,
}

/// A personal token as its session records it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PersonalTokenInfo {
    /// Its name.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// When it stops working.
    pub expires_at: Timestamp,
}

impl PersonalTokenInfo {
    /// The token `session` is, or `None` for an ordinary session.
    pub fn of(session: &SessionRecord) -> Option<PersonalTokenInfo> {
        let fields = &session.metadata.fields;
        if fields.get(KIND).map(String::as_str) != Some(KIND_PERSONAL) {
            return None;
        }
        Some(PersonalTokenInfo {
            name: fields.get(NAME).cloned().unwrap_or_default(),
            scopes: fields
                .get(SCOPES)
                .map(|s| {
                    s.split(' ')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            expires_at: session.absolute_deadline,
        })
    }

    /// Whether it was given `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Whether `session` is a personal token (it never rotates and is never fresh for sudo mode).
pub fn is_personal_token(session: &SessionRecord) -> bool {
    session.metadata.fields.get(KIND).map(String::as_str) == Some(KIND_PERSONAL)
}

/// The signed value inside a presented personal token (`kcpat_…`), or `None` without the prefix.
pub fn personal_token_value(presented: &str) -> Option<&str> {
    presented.strip_prefix(PERSONAL_TOKEN_PREFIX)
}
