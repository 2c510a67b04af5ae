//! The identity-provider flow's HTTP side: the cookie that binds a flow to the browser that started it,
//! and [`OidcRejection`], the page a refused flow answers with (one per [`OidcError`], so tests and the
//! app can match on it).

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keycard_oidc::OidcError;

use crate::web::views::{framed_error_page, Layout};

/// The flow cookie's name.
pub const FLOW_COOKIE: &str = "keycard_oidc";
/// Its path: the start and callback routes only.
const FLOW_COOKIE_PATH: &str = "/auth/oidc";

/// The `Set-Cookie` of a flow's browser binding: HttpOnly, `SameSite=Lax` (it must come back with the
/// provider's top-level redirect; a `Strict` cookie would not), the flow's lifetime.
pub fn set_cookie(binding: &str, secure: bool) -> Option<HeaderValue> {
    let c = cookie::Cookie::build((FLOW_COOKIE, binding.to_owned()))
        .path(FLOW_COOKIE_PATH)
        .http_only(true)
        .secure(secure)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(
            keycard_oidc::FLOW_TTL.as_secs() as i64,
        ))
        .build();
    HeaderValue::from_str(&c.to_string()).ok()
}

/// The `Set-Cookie` that removes it (the flow is used up, whatever its outcome).
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let c = cookie::Cookie::build((FLOW_COOKIE, ""))
        .path(FLOW_COOKIE_PATH)
        .http_only(true)
        .secure(secure)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or(HeaderValue::from_static(
        "keycard_oidc=; Path=/auth/oidc; Max-Age=0",
    ))
}

/// The flow cookie's value in the request, if any.
pub fn read_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == FLOW_COOKIE)
        .map(|c| c.value().to_owned())
}

/// A refused identity-provider flow: nothing was created, nobody signed in. Its page says what happened
/// and what to do, with the status of [`OidcError::status`]; the flow cookie is cleared.
#[derive(Debug)]
pub struct OidcRejection {
    /// Why.
    pub error: OidcError,
    /// The frame of the page (the viewer).
    pub layout: Layout,
    /// Whether the cleared cookie is `Secure`.
    pub secure: bool,
}

impl OidcRejection {
    /// What the page says.
    pub fn message(&self) -> &'static str {
        match &self.error {
            OidcError::UnknownProvider => "There is no such identity provider here.",
            OidcError::ProviderUnavailable { .. } => {
                "The identity provider could not be reached. Try again in a few minutes."
            }
            OidcError::Denied => {
                "You declined at the identity provider, so you are not signed in. Nothing was changed."
            }
            OidcError::ProviderError { .. } => {
                "The identity provider answered with an error. Try again, or sign in another way."
            }
            OidcError::FlowExpired | OidcError::BrowserMismatch | OidcError::WrongProvider => {
                "This sign-in link has expired or was already used. Start again from the sign-in page."
            }
            OidcError::IdentityTaken => {
                "This account at the identity provider is linked to another account here."
            }
            OidcError::LastSignInMethod => {
                "This is your only way to sign in: set a password (or link another provider) first."
            }
            OidcError::Store(_) => "The service is unavailable. Try again in a moment.",
            // Every ID token refusal, and a configuration the provider contradicts: the same words.
            _ => "The identity provider's answer could not be verified, so you are not signed in.",
        }
    }
}

impl IntoResponse for OidcRejection {
    fn into_response(self) -> Response {
        if let OidcError::Store(e) = &self.error {
            tracing::error!(error = %e, "identity provider flow: the store failed");
        }
        let status = StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::BAD_REQUEST);
        // The stable code, for the user to quote and the tests to match on.
        let message = format!("{} (Error code: {}.)", self.message(), self.error.code());
        let mut res = framed_error_page(
            self.layout.clone(),
            status,
            "Sign-in with your identity provider failed",
            &message,
        );
        res.headers_mut()
            .append(header::SET_COOKIE, clear_cookie(self.secure));
        res
    }
}
