//! `GET /account/identities`, `POST /account/identities/{key}/link`, `POST /account/identities/unlink`:
//! the account's linked identities (keycard-oidc).
//!
//! The list shows each identity's provider, the email it gave and when it was linked and last used,
//! with an "Unlink" button, and a "Link {name}" button per configured provider. Linking and unlinking
//! need sudo mode (they change how the account signs in). An identity that is the account's last way
//! to sign in (no password, no passkey, no other identity) cannot be unlinked: the button is not shown
//! and the request is refused (409).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use keycard::identity::can_unlink;
use keycard_oidc::{Intent, OidcError};
use serde::Deserialize;

use crate::domain::users::{self, User};
use crate::web::auth::{PageUser, SudoUser};
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::oidc_flow::OidcRejection;
use crate::web::oidc_views::{IdentitiesPage, IdentityRow, ProviderButton, IDENTITIES_PATH};
use crate::web::state::AppState;
use crate::web::time_view::TimeView;
use crate::web::views::{render, Layout};

/// The unlink form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UnlinkForm {
    /// The provider's key.
    pub provider: String,
    /// The identity's subject at it.
    pub subject: String,
}

/// Whether `user` can sign in without an identity: a password or a passkey.
pub async fn can_sign_in_otherwise(state: &AppState, user: &User) -> Result<bool, AppError> {
    let password = users::password_hash(&state.db, &user.id)
        .await?
        .is_some_and(|h| !h.is_empty());
    Ok(password || state.second.factors.factors(&user.id).await?.passkeys > 0)
}

async fn page(
    state: &AppState,
    user: &User,
    csrf: &CsrfToken,
    flash: &IncomingFlash,
    sudo: bool,
) -> Result<Response, AppError> {
    let now = state.clock.now_secs();
    let secs = |t: keycard::Timestamp| i64::try_from(t.as_unix_secs()).unwrap_or(i64::MAX);
    let oidc = &state.oidc.oidc;
    let list = state.oidc.identities.identities(&user.id).await?;
    let can_remove = can_unlink(list.len(), can_sign_in_otherwise(state, user).await?);
    let identities = list
        .into_iter()
        .map(|r| IdentityRow {
            provider_name: oidc
                .provider(&r.provider)
                .map(|p| p.name)
                .unwrap_or_else(|| r.provider.clone()),
            provider: r.provider,
            subject: r.subject,
            email: r.email.unwrap_or_default(),
            linked: TimeView::new(secs(r.created_at), now),
            last_used: r.last_used_at.map(|t| TimeView::new(secs(t), now)),
        })
        .collect();
    let page = IdentitiesPage {
        layout: Layout::new(csrf, Some(user), flash).at(IDENTITIES_PATH),
        identities,
        providers: ProviderButton::all(oidc),
        sudo,
        can_remove,
    };
    Ok(render(StatusCode::OK, &page, Some(flash)))
}

/// The list (signed in).
pub async fn index(
    State(state): State<AppState>,
    auth: crate::web::auth::AuthUser,
    PageUser { user, .. }: PageUser,
    csrf: CsrfToken,
    flash: IncomingFlash,
) -> Result<Response, AppError> {
    let sudo = auth.is_recently_authenticated();
    page(&state, &user, &csrf, &flash, sudo).await
}

/// Begin linking the provider `key` (sudo): the flow cookie and a page that goes on to the provider.
pub async fn link(
    State(state): State<AppState>,
    SudoUser { user, .. }: SudoUser,
    ClientIp(ip): ClientIp,
    csrf: CsrfToken,
    Path(key): Path<String>,
) -> Result<Response, AppError> {
    let layout = Layout::new(&csrf, Some(&user), &IncomingFlash::default());
    let intent = Intent::Link {
        user_key: user.id.clone(),
    };
    use crate::web::routes::oidc::{begin, Started};
    begin(&state, ip, &key, intent, Started::ByForm, layout).await
}

/// Unlink one (sudo): 303 to the list; the last way to sign in: 409.
pub async fn unlink(
    State(state): State<AppState>,
    SudoUser { user, .. }: SudoUser,
    csrf: CsrfToken,
    Form(form): Form<UnlinkForm>,
) -> Result<Response, AppError> {
    let otherwise = can_sign_in_otherwise(&state, &user).await?;
    match state
        .oidc
        .oidc
        .unlink(&user.id, &form.provider, &form.subject, otherwise)
        .await
    {
        Ok(()) => Ok(state.flash.redirect(IDENTITIES_PATH, "Unlinked.")),
        Err(OidcError::Store(e)) => Err(e.into()),
        Err(error) => Ok(OidcRejection {
            error,
            layout: Layout::new(&csrf, Some(&user), &IncomingFlash::default()),
            secure: state.oidc.cookie_secure,
        }
        .into_response()),
    }
}
