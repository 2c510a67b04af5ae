//! CSRF protection: [`CsrfLayer`] checks every state-changing request, [`CsrfToken`] gives pages the
//! token for their forms (the crate docs, "CSRF", tell the whole story).
//!
//! `config` (what is the app's own origin), `origin` (parsing and comparing origins), `token` (key,
//! binding, masking), `context` (one request's state), `check` (the checks), `layer`, `extract`,
//! `rejection`.

mod check;
mod config;
mod context;
mod extract;
mod layer;
mod origin;
mod rejection;
pub(crate) mod token;

pub use config::{
    CsrfConfig, CsrfConfigError, CSRF_FORM_FIELD, CSRF_HEADER, DEFAULT_CSRF_COOKIE_NAME,
    DEFAULT_MAX_FORM_BYTES,
};
pub use extract::CsrfToken;
pub use layer::{CsrfFuture, CsrfLayer, CsrfRefusal, CsrfService};
pub use rejection::CsrfRejection;
