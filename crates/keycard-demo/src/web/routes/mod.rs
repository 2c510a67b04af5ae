//! The demo's routes (issue 3's table, and issue 14's refresh and assets); [`crate::web::router`] puts them together.
//!
//! | route | handler |
//! |---|---|
//! | `GET /` | [`home::show`] |
//! | `GET /registration/new`, `POST /registration` | [`registration`] |
//! | `GET /session/new`, `POST /session`, `POST /session/delete` | [`session`] |
//! | `GET /session/confirm`, `POST /session/confirm` | [`confirm`] (sudo mode: confirm the password) |
//! | `GET /profile`, `GET /me` | [`profile`] (cached user, no database read) |
//! | `GET /events` | [`events`] (server-sent events: `ended` when this session ends, on any node) |
//! | `GET /plan/edit`, `POST /plan` | [`plan`] (database update, then sync) |
//! | `GET /pro` | [`pro`] (behind `ReloadUser`: the database decides) |
//! | `GET /sessions`, `POST /sessions/{id}/delete`, `POST /sessions/delete-others` | [`sessions`] |
//! | `POST /account/password` | [`account`] |
//! | `POST /account/refresh` | [`refresh`] (behind `ReloadUser`: the database's copy replaces the cached one) |
//! | `GET/POST /password/reset`, `GET/POST /password/reset/{token}` | [`password_reset`] |
//! | `GET/POST /confirm/{token}`, `POST /confirm/resend` | [`email_confirm`] |
//! | `POST /session/link`, `GET /session/link/sent`, `GET/POST /session/link/{token}`, `POST /session/code` | [`magic`] (sign in by email) |
//! | `POST /account/email`, `GET/POST /account/email/{token}` | [`email_change`] |
//! | `GET /session/two-factor`, `POST /session/two-factor` | [`two_factor`] (the second step of a sign-in) |
//! | `GET/POST /account/totp`, `POST /account/totp/delete`, `POST /account/recovery-codes` | [`totp`] (sudo) |
//! | `POST /session/passkey/options`, `POST /session/passkey` | [`passkey_sign_in`] ("Sign in with a passkey", no email typed) |
//! | `POST /session/two-factor/passkey/options`, `POST /session/two-factor/passkey` | [`passkey_step`] (a passkey as the second step) |
//! | `GET /account/passkeys`, `POST /account/passkeys/options`, `POST /account/passkeys`, `POST /account/passkeys/{id}/rename`, `POST /account/passkeys/{id}/delete` | [`passkeys`] (adding and removing: sudo) |
//! | `POST /api/session`, `DELETE /api/session` | [`api`] (bearer tokens for API clients; outside CSRF) |
//! | `GET/POST /account/tokens`, `POST /account/tokens/{id}/delete` | [`tokens`] (personal access tokens) |
//! | `GET /auth/oidc/{key}`, `GET /auth/oidc/{key}/callback` | [`oidc`] ("Sign in with {name}": identity providers) |
//! | `GET /account/identities`, `POST /account/identities/{key}/link`, `POST /account/identities/unlink` | [`identities`] (linked identities; linking and unlinking: sudo) |
//! | `GET /dev/mailbox` | [`mailbox`] (without `SMTP_URL`, on loopback) |
//! | `GET /healthz`, `GET /healthz/near` | [`health`] (the near cache's counters) |
//! | `GET /static/app.css`, `GET /static/session-events.js`, `GET /static/passkeys.js`, `GET /static/favicon.svg`, `GET /favicon.ico` | [`assets`] |

pub mod account;
pub mod api;
pub mod assets;
pub mod confirm;
pub mod email_change;
pub mod email_confirm;
pub mod events;
pub mod health;
pub mod home;
pub mod identities;
pub mod magic;
pub mod mailbox;
pub mod oidc;
pub mod passkey_sign_in;
pub mod passkey_step;
pub mod passkeys;
pub mod password_reset;
pub mod plan;
pub mod pro;
pub mod profile;
pub mod refresh;
pub mod registration;
pub mod session;
pub mod sessions;
pub mod tokens;
pub mod totp;
pub mod two_factor;
