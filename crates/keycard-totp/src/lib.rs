//! Authenticator-app codes (TOTP, [RFC 6238]) as keycard's second factor.
//!
//! # The model
//! - **Enrolment** (the app checks sudo mode first): [`Totp::begin_enrolment`] makes a 160-bit secret
//!   and shows it as an `otpauth://` URI, a QR code (SVG) and base32 text; the secret waits, sealed, in
//!   the session store's one-time tokens for [`ENROLMENT_TTL`]. [`Totp::confirm_enrolment`] takes the
//!   first code the app shows: right, and TOTP is on.
//! - **The record** lives with the user ([`keycard::factor::FactorStore`]: keycard-sqlx's tables or the
//!   app's own): the secret **sealed** with XChaCha20-Poly1305 under a key derived (HKDF-SHA-256) from
//!   the app secret, the user key as associated data, so a database dump alone yields no secret and a
//!   row copied to another user does not open; and the **last accepted time step**.
//! - **Checking** ([`Totp::verify`]): a code is accepted for the current step or one either side
//!   ([`TotpConfig::skew`]), and only if its step is later than the last accepted one, claimed
//!   atomically in the store: a code is never accepted twice (RFC 6238 §5.2), even by two concurrent
//!   requests.
//! - **Recovery codes** are keycard's ([`keycard::factor::RecoveryCodes`]); the pending login between
//!   the password and the code is keycard's too ([`keycard::factor::PendingLogins`]).
//!
//! Codes are made by [`totp-rs`](https://docs.rs/totp-rs) (RFC 6238, constant-time comparison, the
//! `otpauth` URI); the QR code by [`qrcode`](https://docs.rs/qrcode); the sealing by RustCrypto's
//! [`chacha20poly1305`](https://docs.rs/chacha20poly1305) and [`hkdf`](https://docs.rs/hkdf).
//!
//! ```no_run
//! # async fn demo(
//! #     factors: std::sync::Arc<dyn keycard::factor::FactorStore>,
//! #     one_time: std::sync::Arc<dyn keycard::onetime::OneTimeStore>,
//! #     secret: &[u8],
//! # ) -> Result<(), keycard_totp::TotpError> {
//! use keycard_totp::{Totp, TotpConfig, TotpError};
//!
//! let totp = Totp::new(TotpConfig::new("Example"), factors, one_time, secret)?;
//! // GET /account/totp (sudo): show the QR code, keep the ticket in the form.
//! let enrolment = totp.begin_enrolment("user:42", "ada@example.com").await?;
//! // POST /account/totp: the first code turns it on.
//! totp.confirm_enrolment("user:42", &enrolment.ticket, "123456").await?;
//! // The second step of a later sign-in.
//! match totp.verify("user:42", "654321").await {
//!     Ok(()) => { /* complete the pending login */ }
//!     Err(TotpError::WrongCode | TotpError::Replayed) => { /* count a failure, ask again */ }
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! [RFC 6238]: https://www.rfc-editor.org/rfc/rfc6238

mod authenticator;
mod config;
mod error;
mod qr;
mod seal;

pub use authenticator::{Enrolment, Totp, ENROLMENT_TTL};
pub use config::TotpConfig;
pub use error::TotpError;
