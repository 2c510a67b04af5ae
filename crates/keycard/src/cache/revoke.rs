//! Ending sessions: sign-out by cookie or by id, revocation of one or all of a user's sessions; each
//! written to the audit log and sent to the cache's subscribers.

use super::CredentialsCache;
use crate::events::{EndReason, SessionEvent};
use crate::store::StoreError;
use crate::token::SessionId;
use crate::user::CachedUser;

impl<U: CachedUser> CredentialsCache<U> {
    /// Sign out the session `cookie_value` names: the session and both its tokens die at once.
    ///
    /// Returns the ended session's id, or `None` if the cookie named no live session.
    ///
    /// Errors: [`StoreError`] when the store fails; the session may still be live then (the caller answers 503).
    pub async fn delete(&self, cookie_value: &str) -> Result<Option<SessionId>, StoreError> {
        let Ok(token) = self.inner.signer.decode(cookie_value) else {
            return Ok(None);
        };
        let ended = self
            .inner
            .store
            .delete_by_token(&token.hash(), self.now())
            .await?;
        Ok(ended.map(|(session_id, user_key)| {
            self.inner.audit.signed_out(&user_key, &session_id);
            self.inner.events.emit(SessionEvent::SessionEnded {
                session_id,
                user_key,
                reason: EndReason::SignedOut,
            });
            session_id
        }))
    }

    /// End one session by its id (from a session list). `true` if it existed.
    ///
    /// Errors: [`StoreError`] when the store fails; the session may still be live then.
    pub async fn delete_session(&self, session_id: &SessionId) -> Result<bool, StoreError> {
        let ended = self.inner.store.delete_session(session_id).await?;
        if let Some(user_key) = ended.clone() {
            self.inner.audit.session_revoked(&user_key, session_id);
            self.inner.events.emit(SessionEvent::SessionEnded {
                session_id: *session_id,
                user_key,
                reason: EndReason::Revoked,
            });
        }
        Ok(ended.is_some())
    }

    /// Sign out the session `session_id`, the caller's own (a request that already resolved its cookie):
    /// [`delete_session`](Self::delete_session), written to the audit log as a sign-out
    /// (`session.signed_out`) rather than a revocation. `true` if it existed.
    ///
    /// Errors: [`StoreError`] when the store fails; the session may still be live then.
    pub async fn sign_out(&self, session_id: &SessionId) -> Result<bool, StoreError> {
        let ended = self.inner.store.delete_session(session_id).await?;
        if let Some(user_key) = ended.clone() {
            self.inner.audit.signed_out(&user_key, session_id);
            self.inner.events.emit(SessionEvent::SessionEnded {
                session_id: *session_id,
                user_key,
                reason: EndReason::SignedOut,
            });
        }
        Ok(ended.is_some())
    }

    /// "Log out everywhere (else)": end every session of `user_key` except `except`. Returns the count.
    ///
    /// With remember-me ([`Builder::remember`](super::Builder::remember)) it also ends the user's remember-me series, all of them,
    /// or all but the one `except` belongs to, so a signed-out browser cannot sign itself back in.
    ///
    /// Errors: [`StoreError`] when the store (or, with remember-me, the series store) fails; call it again
    /// (ending what already ended is harmless).
    pub async fn delete_user_sessions(
        &self,
        user_key: &str,
        except: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        let count = self
            .inner
            .store
            .delete_user_sessions(user_key, except)
            .await?;
        self.inner.audit.sessions_revoked(user_key, count, except);
        self.forget_series_but(user_key, except).await?;
        if count > 0 {
            self.inner.events.emit(SessionEvent::UserSessionsEnded {
                user_key: user_key.to_owned(),
                except: except.copied(),
            });
        }
        Ok(count)
    }
}
