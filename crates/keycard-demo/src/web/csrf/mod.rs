//! CSRF protection for every state-changing request, sign-in and registration included.
//!
//! - Each browser gets a random **CSRF cookie** (`keycard_csrf`, or `__Host-keycard_csrf` when cookies are
//!   secure): 256 bits, `HttpOnly`, `SameSite=Lax`. It is set by the first response that lacks it and
//!   replaced at every sign-in (so a value planted before sign-in is useless after).
//! - Each form carries `_csrf_token = base64url(HMAC-SHA256(K, cookie value))`, where `K` is derived from the
//!   app secret under its own label: an attacker who cannot read the cookie cannot compute the token, and
//!   one who plants a cookie (a sibling subdomain) cannot either, without the secret.
//! - A request with any method other than GET, HEAD, OPTIONS or TRACE gets **403** unless it carries the
//!   token (form field `_csrf_token`, or header `X-CSRF-Token`) matching its cookie (compared in constant
//!   time), and gets 403 whatever it carries when the browser marks it `Sec-Fetch-Site: cross-site`.
//!
//! The middleware puts a [`CsrfToken`] into the request's extensions for the pages to render.

mod guard;
mod token;

pub use guard::{guard, CsrfFailure};
pub use token::{Csrf, CsrfToken, COOKIE_NAME, FORM_FIELD, HEADER, SECURE_COOKIE_NAME};
