//! Remember-me in the layer: redeeming the remember-me cookie of a request with no live session, and the
//! [`Auth`] operations that start and end series ([`keycard::remember`] has the model).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::HeaderMap;
use keycard::remember::SeriesRecord;
use keycard::{CachedUser, CredentialsCache, Fingerprint, Remembered, SeriesId, SessionRecord};

use crate::auth::Auth;
use crate::config::{CookieConfig, CookieConfigError};
use crate::cookie::{lookup_shaped, remember_shaped, CookieWriter, Lookup};
use crate::rejection::AuthError;
use crate::reload::BoxError;
use crate::state::{CookieChange, LayerConfig, Phase, RequestInfo};

/// The remember-me cookie's name without prefix (`__Host-keycard_remember` when `Secure`).
pub const REMEMBER_COOKIE_NAME: &str = "keycard_remember";

/// Loads a user from the app's database by [user key](CachedUser::user_key): what the layer needs to
/// sign a remembered browser back in (it has only the series' user key).
///
/// Implement it with a plain `async fn`:
/// `async fn load_by_key(&self, user_key: &str) -> Result<Option<User>, BoxError>`.
pub trait UserByKey<U>: Send + Sync + 'static {
    /// The user as the database has it now; `Ok(None)` if it no longer exists (the series ends); `Err`
    /// if the database could not answer (the request gets 503; the rotated cookie is still sent).
    fn load_by_key(
        &self,
        user_key: &str,
    ) -> impl Future<Output = Result<Option<U>, BoxError>> + Send;
}

impl<U, L: UserByKey<U>> UserByKey<U> for Arc<L> {
    fn load_by_key(
        &self,
        user_key: &str,
    ) -> impl Future<Output = Result<Option<U>, BoxError>> + Send {
        (**self).load_by_key(user_key)
    }
}

type LoadFuture<'a, U> = Pin<Box<dyn Future<Output = Result<Option<U>, BoxError>> + Send + 'a>>;

trait ErasedLoader<U>: Send + Sync {
    fn load(&self, user_key: String) -> LoadFuture<'_, U>;
}

impl<U, L: UserByKey<U>> ErasedLoader<U> for L {
    fn load(&self, user_key: String) -> LoadFuture<'_, U> {
        Box::pin(async move { self.load_by_key(&user_key).await })
    }
}

/// The app's [`UserByKey`], type-erased so the layer stays generic over the user type only.
pub(crate) struct Loader<U>(Box<dyn ErasedLoader<U>>);

impl<U: 'static> Loader<U> {
    pub(crate) fn new(loader: impl UserByKey<U>) -> Self {
        Loader(Box::new(loader))
    }
}

/// The remember-me cookie: persistent for `ttl`, `Secure` and `__Host-` like the session cookie.
pub(crate) fn cookie_writer(
    secure: bool,
    ttl: std::time::Duration,
) -> Result<CookieWriter, CookieConfigError> {
    CookieWriter::new(
        &CookieConfig::default()
            .with_name(REMEMBER_COOKIE_NAME)
            .with_secure(secure)
            .with_max_age(Some(ttl)),
    )
}

/// The well-shaped remember-me cookie value of a request, if it carries one.
pub(crate) fn presented(headers: &HeaderMap, writer: &CookieWriter) -> Option<String> {
    match lookup_shaped(headers, writer.name(), remember_shaped) {
        Lookup::Found(v) => Some(v.to_owned()),
        Lookup::Refused(why) => {
            tracing::debug!(
                reason = why.as_str(),
                "remember-me cookie refused; not redeemed"
            );
            None
        }
        Lookup::Absent => None,
    }
}

/// The handle of a request with no live session and a remember-me cookie: redeemed into a new session,
/// served as the user (another tab won), or anonymous with the cookie cleared.
pub(crate) async fn redeem<U: CachedUser>(
    cache: &CredentialsCache<U>,
    config: &Arc<LayerConfig>,
    loader: &Loader<U>,
    presented: String,
    info: RequestInfo,
    carried: bool,
) -> Auth<U> {
    let handle =
        |phase, cookie| Auth::new(cache.clone(), config.clone(), phase, None, cookie, carried);
    let redeemed = cache
        .redeem_remember_me(&presented, info.metadata(), |key| loader.0.load(key))
        .await;
    let (auth, remember) = match redeemed {
        Ok(Remembered::SignedIn {
            signed_in,
            remember_cookie,
        }) => {
            tracing::debug!(session_id = %signed_in.session.session_id, "signed back in by a remember-me cookie");
            let phase = Phase::SignedIn {
                user: signed_in.user,
                session: signed_in.session,
                token_use: keycard::TokenUse::Current,
            };
            (
                handle(phase, Some(CookieChange::Set(signed_in.cookie))),
                Some(CookieChange::Set(remember_cookie)),
            )
        }
        Ok(Remembered::Grace { user }) => {
            // Another request redeemed this cookie a moment ago: read as the user, change nothing.
            let auth = handle(Phase::Anonymous, None);
            auth.state_mut(|s| {
                s.assigned = Some(user);
                s.read_only = true;
            });
            (auth, None)
        }
        Ok(Remembered::GraceExhausted { .. }) => {
            // Past its grace answers: anonymous, and the cookie is left to the winner's response.
            (handle(Phase::Anonymous, None), None)
        }
        Ok(Remembered::Theft { .. }) => {
            tracing::warn!("a copied remember-me cookie was presented: the user's sessions and series were ended");
            (handle(Phase::Anonymous, None), Some(CookieChange::Clear))
        }
        Ok(_) => (handle(Phase::Anonymous, None), Some(CookieChange::Clear)),
        Err(e) => {
            tracing::warn!(error = %e, "remember-me redemption failed; session state unknown for this request");
            let phase = Phase::Unavailable { session: None };
            (
                handle(phase, None),
                e.remember_cookie.map(CookieChange::Set),
            )
        }
    };
    // Kept so a sign-out in this very request (a tab served in the grace window, say) still ends the
    // series the cookie names.
    auth.set_remember(Some(presented), remember);
    auth
}

impl<U: CachedUser> Auth<U> {
    /// Sign in and remember this browser ("remember me" ticked): as [`create`](Self::create) for a
    /// sign-in, plus a remember-me series the new session belongs to and its persistent cookie. Any
    /// session the request had ends first, and so does the series of a remember-me cookie it carried.
    ///
    /// Errors: those of `create`, and [`AuthError::RememberNotConfigured`] without
    /// [`SessionLayer::remember_me`](crate::SessionLayer::remember_me).
    pub async fn create_and_remember(
        &self,
        user: impl Into<Arc<U>>,
    ) -> Result<Arc<SessionRecord>, AuthError> {
        let user: Arc<U> = user.into();
        if self.config().remember.is_none() {
            return Err(AuthError::RememberNotConfigured);
        }
        let _op = self.lock_ops().await;
        self.writable("create_and_remember")?;
        self.end_before_sign_in().await?;
        self.forget_presented_series().await?;
        let metadata = self.request_metadata();
        let remembered = self.cache().create_and_remember(user, metadata).await?;
        tracing::debug!(session_id = %remembered.signed_in.session.session_id, "signed in and remembered");
        let session = self.adopt(remembered.signed_in);
        self.set_remember(None, Some(CookieChange::Set(remembered.remember_cookie)));
        Ok(session)
    }

    /// The signed-in user's remember-me series, oldest first (to list beside the
    /// [`sessions`](Self::sessions); a session's [`remember_series`](SessionRecord::remember_series)
    /// says which series it belongs to). Empty without remember-me.
    ///
    /// Errors: [`AuthError::NotSignedIn`], [`AuthError::Store`].
    pub async fn remembered(&self) -> Result<Vec<SeriesRecord>, AuthError> {
        let Some(user) = self.cached_user() else {
            return Err(AuthError::NotSignedIn);
        };
        Ok(self.cache().remembered(&user).await?)
    }

    /// End one of the signed-in user's own remember-me series and every session created from it (a
    /// sessions page). `Ok(false)` if the user has no such series. Ending the series of this very
    /// session signs out (both cookies are cleared).
    ///
    /// Forgetting **another** browser needs sudo mode, as ending any other session does:
    /// [`AuthError::SudoRequired`] unless the session's proof of password is recent
    /// ([`is_recently_authenticated`](Self::is_recently_authenticated)); [`AuthError::StaleToken`] from a
    /// request served in a grace window.
    ///
    /// Errors: [`AuthError::NotSignedIn`], [`AuthError::Store`], [`AuthError::SudoRequired`],
    /// [`AuthError::StaleToken`].
    pub async fn end_series(&self, series_id: &SeriesId) -> Result<bool, AuthError> {
        let _op = self.lock_ops().await;
        self.writable("end_series")?;
        let own = self.remembered().await?;
        if !own.iter().any(|s| &s.series_id == series_id) {
            return Ok(false);
        }
        let current = self.session();
        let this_browser = current
            .as_ref()
            .is_some_and(|s| s.remember_series.as_ref() == Some(series_id));
        if !this_browser && !self.is_recently_authenticated() {
            return Err(AuthError::SudoRequired);
        }
        self.cache().end_series(series_id).await?;
        if current.is_some_and(|s| s.remember_series.as_ref() == Some(series_id)) {
            self.end_locally();
            self.clear_remember();
        }
        Ok(true)
    }

    /// Sign-out's part: end the series of the session and of the request's remember-me cookie, and
    /// clear that cookie.
    pub(crate) async fn forget_on_sign_out(
        &self,
        session: Option<&SessionRecord>,
    ) -> Result<(), AuthError> {
        if let Some(series) = session.and_then(|s| s.remember_series) {
            self.cache().forget_series(&series).await?;
            self.clear_remember();
        }
        self.forget_presented_series().await
    }

    /// End the series of the remember-me cookie the request carried, if any, and clear it.
    pub(crate) async fn forget_presented_series(&self) -> Result<(), AuthError> {
        let presented = self.state_mut(|s| s.remember_presented.take());
        if let Some(cookie) = presented {
            self.cache().forget_remember_cookie(&cookie).await?;
            self.clear_remember();
        }
        Ok(())
    }

    /// A sync that changed the user's credentials (a password change): every series of the user ends,
    /// this browser's included (sign in with "remember me" again).
    pub(crate) async fn forget_series_on_new_credentials(
        &self,
        before: &U,
        after: &U,
    ) -> Result<(), AuthError> {
        if Fingerprint::of(before) == Fingerprint::of(after) {
            return Ok(());
        }
        if let Some(remember) = self.cache().remember() {
            remember.forget_user(&after.user_key(), None).await?;
            if self.config().remember.is_some() {
                self.clear_remember();
            }
        }
        Ok(())
    }

    /// Record the request's remember-me cookie (so sign-out can end its series).
    pub(crate) fn remember_presented(&self, value: Option<String>) {
        if value.is_some() {
            self.state_mut(|s| s.remember_presented = value);
        }
    }

    pub(crate) fn set_remember(&self, presented: Option<String>, change: Option<CookieChange>) {
        self.state_mut(|s| {
            if presented.is_some() {
                s.remember_presented = presented;
            }
            if change.is_some() {
                s.remember_cookie = change;
            }
        });
    }

    fn clear_remember(&self) {
        if self.config().remember.is_some() {
            self.state_mut(|s| s.remember_cookie = Some(CookieChange::Clear));
        }
    }
}
