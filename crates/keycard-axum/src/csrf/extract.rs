//! [`CsrfToken`]: the token a page puts in its forms.

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::csrf::context::CsrfContext;
use crate::csrf::rejection::CsrfRejection;

/// The CSRF token for the forms of the page being rendered, masked afresh for this response. Put it in
/// every state-changing form as the hidden field [`_csrf_token`](crate::CSRF_FORM_FIELD), or send it as
/// the [`X-CSRF-Token`](crate::CSRF_HEADER) header from a script or API client.
///
/// ```
/// use axum::response::Html;
/// use keycard_axum::CsrfToken;
///
/// async fn plan_form(csrf: CsrfToken) -> Html<String> {
///     Html(format!(
///         r#"<form method="post" action="/plan">
///              <input type="hidden" name="_csrf_token" value="{csrf}">
///              <button>Go pro</button>
///            </form>"#
///     ))
/// }
/// ```
///
/// Signed in, the token is bound to the session; anonymous, to the anonymous CSRF cookie (which the
/// response sets when the request has none). A handler that signs in or out and then renders a page in
/// the same response gets the token for the new state. Any number of tokens of one page or tab stay
/// valid together; each differs byte for byte (BREACH).
///
/// Rejects with [`CsrfRejection::MissingLayer`] (500) outside a [`CsrfLayer`](crate::CsrfLayer),
/// [`CsrfRejection::SessionUnavailable`] (503) when the session store failed.
#[derive(Clone, PartialEq, Eq)]
pub struct CsrfToken(String);

impl CsrfToken {
    pub(crate) fn new(masked: String) -> Self {
        CsrfToken(masked)
    }

    /// The token, for a form field or header.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Never shows the token (logs would otherwise carry it).
impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfToken(<redacted>)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = CsrfRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(ctx) = parts.extensions.get::<CsrfContext>() else {
            tracing::error!("a handler asked for a CsrfToken but no CsrfLayer runs in front of it");
            return Err(CsrfRejection::MissingLayer);
        };
        ctx.token().map(CsrfToken)
    }
}
