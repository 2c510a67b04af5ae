//! The cache's remember-me operations ([`crate::remember`] wired to sessions): sign in and remember,
//! redeem a remember-me cookie into a new session, end series with the sessions they made.

use std::future::Future;
use std::sync::Arc;

use super::{CreateError, CredentialsCache, SignedIn};
use crate::remember::{Redeemed, RememberMe, SeriesRecord};
use crate::store::{SessionMetadata, StoreError};
use crate::token::{CookieValue, SeriesId, SessionId};
use crate::user::CachedUser;

/// A boxed error from the app's user loader.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A sign-in that ticked "remember me" ([`CredentialsCache::create_and_remember`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct RememberedSignIn<U> {
    /// The session, as [`CredentialsCache::create`] returns it; it belongs to the new series.
    pub signed_in: SignedIn<U>,
    /// The remember-me cookie value: send it in its own long-lived cookie.
    pub remember_cookie: CookieValue,
    /// The new series.
    pub series: SeriesRecord,
}

/// What a remember-me cookie redeemed to ([`CredentialsCache::redeem_remember_me`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Remembered<U> {
    /// Not a live series of a user who still has the credentials it began with: the visitor is
    /// anonymous; clear the remember-me cookie.
    Unknown,
    /// Signed back in: a new session of the series (not fresh for sudo mode: no password was checked).
    /// Send both cookies.
    SignedIn {
        /// The new session and its cookie.
        signed_in: SignedIn<U>,
        /// The rotated remember-me cookie.
        remember_cookie: CookieValue,
    },
    /// Another request redeemed this token a moment ago (tabs reopening at once): serve this request
    /// as `user`, **read-only** (no sign-in, sync, rotation or sign-out may be made from it), set no
    /// cookie; the winner's response carries the new ones.
    Grace {
        /// The user, as the loader returned it.
        user: Arc<U>,
    },
    /// The replaced token has answered all the grace requests it may
    /// ([`RememberPolicy::grace_uses`](crate::remember::RememberPolicy::grace_uses)): the visitor is
    /// anonymous; leave the cookie as it is (the winner's response may have replaced it already).
    GraceExhausted {
        /// Whose series it is.
        user_key: String,
    },
    /// The cookie was copied (a token its series had moved on from): every session and series of the
    /// user has been ended. Clear the cookie; tell the user.
    Theft {
        /// Whose.
        user_key: String,
    },
}

/// A redemption that could not finish: the store or the app's user loader failed. Answer 503, and
/// send `remember_cookie` if it is there: the rotated cookie when the series rotated before the
/// failure, a retry cookie when the store call itself failed and may still have written (see
/// [`crate::remember`], "A redemption that may have written"). Either way the browser's next visit
/// is not mistaken for theft.
#[derive(Debug, thiserror::Error)]
#[error("remember-me redemption failed: {source}")]
#[non_exhaustive]
pub struct RedeemError {
    /// The cookie to send with the 503: the rotated one, or a retry cookie.
    pub remember_cookie: Option<CookieValue>,
    /// What failed.
    #[source]
    pub source: BoxError,
}

impl From<StoreError> for RedeemError {
    fn from(e: StoreError) -> Self {
        RedeemError {
            remember_cookie: None,
            source: Box::new(e),
        }
    }
}

impl<U: CachedUser> CredentialsCache<U> {
    /// The remember-me service, when the cache was built with [`Builder::remember`](super::Builder::remember).
    pub fn remember(&self) -> Option<&RememberMe> {
        self.inner.remember.as_ref()
    }

    fn remember_or_refuse(&self) -> Result<&RememberMe, CreateError> {
        self.remember().ok_or(CreateError::RememberNotConfigured)
    }

    /// Sign in and remember: [`create`](Self::create) (a password sign-in), plus a new remember-me
    /// series the session belongs to. Nothing is left behind on failure.
    ///
    /// Errors: those of `create`, and [`CreateError::RememberNotConfigured`].
    pub async fn create_and_remember(
        &self,
        user: impl Into<Arc<U>>,
        metadata: SessionMetadata,
    ) -> Result<RememberedSignIn<U>, CreateError> {
        let user = user.into();
        let remember = self.remember_or_refuse()?;
        let (remember_cookie, series) = remember.issue(&*user).await?;
        match self
            .create_session(user, metadata, true, Some(series.series_id))
            .await
        {
            Ok(signed_in) => Ok(RememberedSignIn {
                signed_in,
                remember_cookie,
                series,
            }),
            Err(e) => {
                if let Err(cleanup) = remember.forget_series(&series.series_id).await {
                    tracing::warn!(error = %cleanup, "a remember-me series of a failed sign-in was not removed; it expires unused");
                }
                Err(e)
            }
        }
    }

    /// Redeem a remember-me cookie (a request with no live session): see [`Remembered`]. `load` reads
    /// the user from the app's database by user key (`Ok(None)`: the user no longer exists); the
    /// series must still match the user's credentials ([`Redeemed::still_valid`]), or it is ended.
    ///
    /// Without remember-me configured, or for a forged or malformed value, `Unknown` without store
    /// access.
    ///
    /// Errors: [`RedeemError`] when the store or `load` fails; it carries the rotated cookie, if the series
    /// already rotated, so the caller still sends it (the next visit must not look like theft).
    pub async fn redeem_remember_me<F, Fut, E>(
        &self,
        cookie: &str,
        metadata: SessionMetadata,
        load: F,
    ) -> Result<Remembered<U>, RedeemError>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<Option<U>, E>>,
        E: Into<BoxError>,
    {
        let Some(remember) = self.remember() else {
            return Ok(Remembered::Unknown);
        };
        let redeemed = match remember.redeem(cookie).await {
            Ok(r) => r,
            // The store call failed, and may have written the rotation anyway (a timeout against a
            // paused store): the retry cookie redeems whichever the series holds.
            Err(e) => {
                return Err(RedeemError {
                    remember_cookie: remember.retry_cookie(cookie),
                    source: Box::new(e),
                })
            }
        };
        let (series, rotated) = match redeemed {
            Redeemed::Unknown => return Ok(Remembered::Unknown),
            Redeemed::Theft { user_key } => {
                self.inner.audit.remember_me_theft(&user_key);
                self.delete_user_sessions(&user_key, None).await?;
                return Ok(Remembered::Theft { user_key });
            }
            Redeemed::Grace { series } => (series, None),
            Redeemed::Rotated { series, cookie } => (series, Some(cookie)),
        };
        if rotated.is_none() {
            // A grace answer is counted before anything else is done for it.
            let policy = remember.policy();
            let replaced = series
                .previous_token
                .map_or(series.current_token, |(t, _)| t);
            let allowed = self
                .grace_allowed(
                    super::grace::GraceKind::Remember,
                    &replaced,
                    &series.user_key,
                    policy.grace_uses,
                    policy.grace,
                )
                .await?;
            if !allowed {
                return Ok(Remembered::GraceExhausted {
                    user_key: series.user_key,
                });
            }
        }
        let failed = |source: BoxError, cookie: &Option<CookieValue>| RedeemError {
            remember_cookie: cookie.clone(),
            source,
        };
        let user = match load(series.user_key.clone()).await {
            Ok(Some(user)) if Redeemed::still_valid(&series, &user) => Arc::new(user),
            Ok(_) => {
                tracing::debug!(series_id = %series.series_id.to_hex(), "remember-me series of a missing user or of old credentials; ending it");
                remember.forget_series(&series.series_id).await?;
                return Ok(Remembered::Unknown);
            }
            Err(e) => return Err(failed(e.into(), &rotated)),
        };
        let Some(remember_cookie) = rotated else {
            return Ok(Remembered::Grace { user });
        };
        match self
            .create_session(user, metadata, false, Some(series.series_id))
            .await
        {
            Ok(signed_in) => {
                self.inner
                    .audit
                    .remember_me_redeemed(&series.user_key, &signed_in.session.session_id);
                Ok(Remembered::SignedIn {
                    signed_in,
                    remember_cookie,
                })
            }
            Err(CreateError::CredentialsChanged) => {
                remember.forget_series(&series.series_id).await?;
                Ok(Remembered::Unknown)
            }
            Err(e) => Err(failed(Box::new(e), &Some(remember_cookie))),
        }
    }

    /// End one remember-me series and every session created from it (a sessions page). The number of
    /// sessions ended; `None` if no series has that id.
    ///
    /// Errors: [`StoreError`] when the store fails.
    pub async fn end_series(&self, series_id: &SeriesId) -> Result<Option<usize>, StoreError> {
        let Some(remember) = self.remember() else {
            return Ok(None);
        };
        let Some(user_key) = remember.forget_series(series_id).await? else {
            return Ok(None);
        };
        let mut ended = 0;
        for s in self.sessions(&user_key).await? {
            if s.remember_series.as_ref() == Some(series_id)
                && self.delete_session(&s.session_id).await?
            {
                ended += 1;
            }
        }
        Ok(Some(ended))
    }

    /// The live remember-me series of `user`, oldest first (to list beside the sessions). Series begun
    /// with other credentials (before a password change) are ended here rather than listed. Empty
    /// without remember-me.
    ///
    /// Errors: [`StoreError`] when the store fails.
    pub async fn remembered(&self, user: &U) -> Result<Vec<SeriesRecord>, StoreError> {
        let Some(remember) = self.remember() else {
            return Ok(Vec::new());
        };
        let (valid, stale): (Vec<_>, Vec<_>) = remember
            .series(&user.user_key())
            .await?
            .into_iter()
            .partition(|s| Redeemed::still_valid(s, user));
        for s in stale {
            remember.forget_series(&s.series_id).await?;
        }
        Ok(valid)
    }

    /// Sign-out of a browser: end the series its remember-me cookie names (`None`: it named none).
    ///
    /// Errors: [`StoreError`] when the store fails.
    pub async fn forget_remember_cookie(&self, cookie: &str) -> Result<Option<String>, StoreError> {
        match self.remember() {
            Some(r) => r.forget(cookie).await,
            None => Ok(None),
        }
    }

    /// End `user_key`'s series, all of them or all but the one the session `except` belongs to.
    pub(super) async fn forget_series_but(
        &self,
        user_key: &str,
        except: Option<&SessionId>,
    ) -> Result<(), StoreError> {
        let Some(remember) = self.remember() else {
            return Ok(());
        };
        let keep = match except {
            None => None,
            Some(id) => self
                .sessions(user_key)
                .await?
                .into_iter()
                .find(|s| &s.session_id == id)
                .and_then(|s| s.remember_series),
        };
        remember.forget_user(user_key, keep.as_ref()).await?;
        Ok(())
    }

    /// End one series by id, leaving its sessions (the session it belongs to is signing out anyway).
    ///
    /// Errors: [`StoreError`] when the store fails.
    pub async fn forget_series(&self, series_id: &SeriesId) -> Result<(), StoreError> {
        if let Some(r) = self.remember() {
            r.forget_series(series_id).await?;
        }
        Ok(())
    }
}
