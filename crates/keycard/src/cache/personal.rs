//! Personal access tokens: a session of its own kind, for scripts and API clients.
//!
//! A personal token **is a session**: it names the same cached user every other session of the user
//! shares (so `put_user` reaches it), it is listed with the user's sessions and ended like one
//! (`delete_session`, "log out everywhere", a password change, which ends it like any session bound to the
//! old credentials). What makes it a token:
//!
//! - **It never rotates.** A script cannot follow a rotation: a value presented with the prefix is fetched
//!   with a renewal plan that is never due ([`RenewalPlan::is_due`](crate::store::RenewalPlan::is_due)),
//!   and its idle deadline is its expiry (it is not "idle" between two runs of a cron job). It resolves
//!   only with its prefix, and only to a personal token's session; a session's cookie value with the
//!   prefix resolves to nothing. (Presenting a personal token's value *without* its prefix as a session
//!   cookie finds nothing too, but may rotate it first, which kills it: send it as it was shown.)
//! - **It is never fresh for sudo mode** (`authenticated_at` is empty): a leaked token cannot change the
//!   password or the factors.
//! - **A name, an expiry and scopes** the app defines, kept in the session's metadata fields
//!   ([`PersonalTokenInfo::of`]); the app checks the scopes it needs.
//! - **A recognisable prefix** ([`PERSONAL_TOKEN_PREFIX`], `kcpat_`) before the signed value, so secret
//!   scanners (GitHub's, trufflehog) can find a leaked one; shown once, the store keeps only its hash.
//! - It does not count toward [`Policy::max_sessions_per_user`](crate::Policy::max_sessions_per_user)
//!   and is never displaced by a sign-in; a user holds at most [`MAX_PERSONAL_TOKENS_PER_USER`].

use std::sync::Arc;

use super::personal_record::{
    is_personal_token, PersonalToken, PersonalTokenRequest, KIND, KIND_PERSONAL,
    MAX_PERSONAL_TOKENS_PER_USER, MAX_PERSONAL_TOKEN_NAME, MAX_PERSONAL_TOKEN_TTL, NAME,
    PERSONAL_TOKEN_PREFIX, SCOPES,
};
use super::{CreateError, CredentialsCache};
use crate::store::{CreateOutcome, NewSession, SessionMetadata, SessionRecord, StoreError};
use crate::token::{SessionId, Token};
use crate::user::{CachedUser, Fingerprint};

/// A personal token that was not issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersonalTokenError {
    /// The name, the scopes or the lifetime are not acceptable (what is wrong, in words).
    #[error("personal token: {0}")]
    Invalid(&'static str),
    /// The user holds [`MAX_PERSONAL_TOKENS_PER_USER`] already: revoke one first.
    #[error("this account has {max} personal tokens already; revoke one first")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// The sign-in part failed (the store, or credentials changed meanwhile).
    #[error(transparent)]
    Create(#[from] CreateError),
}

impl From<StoreError> for PersonalTokenError {
    fn from(e: StoreError) -> Self {
        PersonalTokenError::Create(CreateError::Store(e))
    }
}

fn check(request: &PersonalTokenRequest<'_>) -> Result<(), PersonalTokenError> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > MAX_PERSONAL_TOKEN_NAME {
        return Err(PersonalTokenError::Invalid(
            "the name must be 1 to 100 characters",
        ));
    }
    if request.ttl.is_zero() || request.ttl > MAX_PERSONAL_TOKEN_TTL {
        return Err(PersonalTokenError::Invalid(
            "the lifetime must be between one second and a year",
        ));
    }
    let scope_ok = |s: &&str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":._-".contains(&b))
    };
    if request.scopes.len() > 32 || !request.scopes.iter().all(scope_ok) {
        return Err(PersonalTokenError::Invalid(
            "scopes are up to 32 words of letters, digits and :._-",
        ));
    }
    Ok(())
}

impl<U: CachedUser> CredentialsCache<U> {
    /// Issue a personal token for `user` (see [`PersonalToken`]): the app checks sudo mode first
    /// (the user proved their password recently), and shows [`PersonalToken::value`] once.
    ///
    /// Errors: [`PersonalTokenError::Invalid`], [`PersonalTokenError::TooMany`], and the sign-in's
    /// ([`CreateError`]).
    pub async fn create_personal_token(
        &self,
        user: impl Into<Arc<U>>,
        request: PersonalTokenRequest<'_>,
        mut metadata: SessionMetadata,
    ) -> Result<PersonalToken, PersonalTokenError> {
        check(&request)?;
        let user: Arc<U> = user.into();
        let key = user.user_key();
        let held = self
            .sessions(&key)
            .await?
            .iter()
            .filter(|s| is_personal_token(s))
            .count();
        if held >= MAX_PERSONAL_TOKENS_PER_USER {
            return Err(PersonalTokenError::TooMany {
                max: MAX_PERSONAL_TOKENS_PER_USER,
            });
        }
        metadata
            .fields
            .insert(KIND.to_owned(), KIND_PERSONAL.to_owned());
        metadata
            .fields
            .insert(NAME.to_owned(), request.name.trim().to_owned());
        metadata
            .fields
            .insert(SCOPES.to_owned(), request.scopes.join(" "));
        let now = self.now();
        let expires_at = now.saturating_add(request.ttl);
        let tag = self.inner.store.route_tag(&key);
        let token = Token::generate_tagged(tag);
        let session = SessionRecord {
            session_id: SessionId::generate_tagged(tag),
            user_key: key.into(),
            created_at: now,
            renewed_at: now,
            idle_deadline: expires_at,
            absolute_deadline: expires_at,
            current_token: token.hash(),
            previous_token: None,
            metadata: metadata.into_shared(),
            auth_fingerprint: Fingerprint::of(&*user),
            // Never fresh for sudo mode.
            authenticated_at: None,
            remember_series: None,
        };
        let outcome = self
            .inner
            .store
            .create(NewSession {
                session: session.clone(),
                user,
            })
            .await?;
        if outcome == CreateOutcome::CredentialsChanged {
            return Err(CreateError::CredentialsChanged.into());
        }
        tracing::debug!(session_id = %session.session_id, "personal token issued");
        Ok(PersonalToken {
            value: format!(
                "{PERSONAL_TOKEN_PREFIX}{}",
                self.inner.signer.encode(&token).as_str()
            ),
            session: Arc::new(session),
        })
    }
}
