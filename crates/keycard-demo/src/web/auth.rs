//! Where the demo meets `keycard-axum`: the session layer, the `ReloadUser` loader (the guide's
//! `Repo.get!`), the extractor types the pages use, and the sign-in step shared by registration and
//! sign-in.

use std::sync::Arc;

use axum::response::Response;
use keycard::CredentialsCache;
use keycard_axum::{
    ClientIpSource, CookieConfig, RedirectTo, ReloadUser, SessionLayer, UserByKey, UserLoader,
};

use crate::domain::db::Db;
use crate::domain::users::{self, User};
use crate::web::error::AppError;
use crate::web::respond::SignIn;
use crate::web::state::AppState;

/// The per-request auth handle.
pub type AuthUser = keycard_axum::Auth<User>;

/// The signed-in user for HTML pages: anonymous visitors get `303` to the sign-in page ([`SignIn`]).
pub type PageUser = keycard_axum::CurrentUser<User, RedirectTo<SignIn>>;

/// The session layer with the demo's cookie settings, recording the client address by `client_ip` (the
/// same rule the sign-in throttle counts by: [`crate::web::client_ip::ClientIp`]), signing remembered
/// browsers back in (the user read from `db`) when the cache has remember-me.
pub fn session_layer(
    cache: CredentialsCache<User>,
    db: Db,
    cookie: CookieConfig,
    client_ip: ClientIpSource,
    sudo: std::time::Duration,
) -> Result<SessionLayer<User>, keycard_axum::CookieConfigError> {
    let remember = cache.remember().is_some();
    // API clients (`POST /api/session`, personal tokens) present `Authorization: Bearer`.
    let layer = SessionLayer::new(cache)
        .try_with_config(cookie)?
        .client_ip(client_ip)
        .sudo_max_age(sudo)
        .accept_bearer();
    Ok(if remember {
        layer.remember_me(DbUserLoader::new(db))
    } else {
        layer
    })
}

/// A signed-in user who proved their password recently (sudo mode, `SUDO_SECS`); otherwise `303` to the
/// password confirmation page ([`Confirm`]), which comes back here; anonymous visitors go to sign in.
pub type SudoUser =
    keycard_axum::RecentlyAuthenticated<User, keycard_axum::ReauthRedirect<Confirm, SignIn>>;

/// The password confirmation page (sudo mode).
#[derive(Debug, Clone, Copy)]
pub struct Confirm;

impl keycard_axum::RedirectPath for Confirm {
    const PATH: &'static str = "/session/confirm";
}

/// The guide's `reload_user` plug: the user as the database has it now.
#[derive(Debug, Clone)]
pub struct DbUserLoader {
    db: Db,
}

impl DbUserLoader {
    /// A loader over `db`.
    pub fn new(db: Db) -> Self {
        DbUserLoader { db }
    }
}

impl UserLoader<User> for DbUserLoader {
    async fn load(&self, cached: &User) -> Result<Option<User>, keycard_axum::BoxError> {
        Ok(users::find(&self.db, &cached.id).await?)
    }
}

/// Remember-me's loader: the series names the user by key (the user id).
impl UserByKey<User> for DbUserLoader {
    async fn load_by_key(&self, user_key: &str) -> Result<Option<User>, keycard_axum::BoxError> {
        Ok(users::find(&self.db, user_key).await?)
    }
}

/// `ReloadUser` over the database, for `route_layer`.
pub fn reload_user_layer(db: Db) -> ReloadUser<User, DbUserLoader> {
    ReloadUser::new(DbUserLoader::new(db))
}

/// Sign `user` in as a **new** session and answer `303` to `/profile`, carrying `welcome` there as a
/// flash message. With `remember` ("Remember me" ticked) the session starts a remember-me series: a
/// persistent cookie signs this browser back in for `REMEMBER_SECS` after its last visit.
///
/// A session the request already had ends first, whoever it belonged to (so a re-sign-in never inherits an
/// old session's absolute deadline, and a planted cookie never survives: fixation). The new session has
/// new CSRF tokens, and the CSRF layer replaces the anonymous CSRF cookie on this response.
pub async fn sign_in(
    state: &AppState,
    auth: &AuthUser,
    user: User,
    welcome: &str,
    remember: bool,
) -> Result<Response, AppError> {
    if auth.is_signed_in() {
        auth.delete().await?;
    }
    let user_id = user.id.clone();
    let session = if remember {
        auth.create_and_remember(Arc::new(user)).await?
    } else {
        auth.create(Arc::new(user)).await?
    };
    // After the store accepted the session: during an outage the sign-in is a 503, not a success.
    state
        .cache
        .audit()
        .sign_in_succeeded(&user_id, &session.session_id);
    Ok(state.flash.redirect("/profile", welcome))
}
