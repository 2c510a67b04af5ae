//! The HTTP side: the router and its routes, the session layer's settings, CSRF protection (keycard-axum's
//! layer with the demo's refusal page), flash messages (on the `cookie` crate's signed jar), the pages, and
//! how errors become responses.
//!
//! Dependencies point one way: `router` → `routes` → (`auth`, `error`, `csrf::guard`, `client_ip`,
//! `ended_session`, `device`, `state`) → `views` → (`layout`, `time_view`) → (`csrf::token`, `flash`) →
//! `respond`, the leaf; nothing here is used by `domain` or `config`
//! (`scripts/module-cycles.py crates/keycard-demo/src` checks there is no cycle).

pub mod attempts;
pub mod auth;
pub mod client_ip;
pub mod csrf;
pub mod device;
pub mod email_views;
pub mod ended_session;
pub mod error;
pub mod factor_views;
pub mod flash;
pub mod inbox;
pub mod layout;
pub mod oidc_flow;
pub mod oidc_views;
pub mod passkey_reply;
pub mod passkey_views;
pub mod respond;
pub mod router;
pub mod routes;
pub mod second_factor;
pub mod state;
pub mod time_view;
pub mod views;
