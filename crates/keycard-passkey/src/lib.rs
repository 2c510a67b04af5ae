//! # keycard-passkey: passkeys (WebAuthn) for keycard
//!
//! **Your users sign in with a passkey, with no password and no username typed, or use one as the
//! second step after their password.** This crate runs the three WebAuthn ceremonies on
//! [webauthn-rs](https://docs.rs/webauthn-rs) and keeps what they need where keycard keeps everything
//! else: the passkeys with the users ([`FactorStore`](keycard::factor::FactorStore)), a ceremony's
//! state in the session store's one-time records ([`OneTimeStore`](keycard::onetime::OneTimeStore)).
//!
//! # The model
//! A **ceremony** is one exchange with the browser: the server sends options with a fresh random
//! challenge, the browser asks the authenticator (phone, laptop, security key, password manager), which
//! checks the user (PIN, biometric) and signs; the server checks the answer.
//!
//! | the app's task | start | finish | the ceremony is bound to |
//! |---|---|---|---|
//! | add a passkey (settings page, **in sudo mode**) | [`start_registration`](Passkeys::start_registration) | [`finish_registration`](Passkeys::finish_registration) → the stored [`PasskeyRecord`](keycard::factor::PasskeyRecord) | the user it was begun for |
//! | sign in with no username (autofill or a button) | [`start_sign_in`](Passkeys::start_sign_in) | [`finish_sign_in`](Passkeys::finish_sign_in) → [`Verified`] (whose account) | nobody: the passkey names its account |
//! | the second step of a password sign-in | [`start_second_step`](Passkeys::start_second_step) | [`finish_second_step`](Passkeys::finish_second_step) → [`Verified`] | the user whose password was right |
//! | the settings page's list | [`list`](Passkeys::list), [`rename`](Passkeys::rename), [`remove`](Passkeys::remove) (never the last way in: [`can_remove`]) | | |
//!
//! Each start returns a [`Ceremony`]: `options` for the browser's `navigator.credentials.create` or
//! `.get`, and a `token` the browser sends back with its answer ([`BrowserReply`]). Each finish
//! **consumes** the token first (single use, whatever the outcome; of concurrent finishes exactly one
//! gets it), then checks the answer: the origin and relying party, the challenge, the user's
//! verification, the signature, the sign counter (a counter that goes backwards is refused as a
//! possible clone: [`PasskeyError::CounterRegressed`]).
//!
//! Passkeys require user verification, so a passkey sign-in is complete: no second step follows it.
//! A registration asks for a **discoverable** credential (one the authenticator can offer with no
//! username; see [`PasskeyConfig::require_discoverable`]) and excludes the account's existing ones; a
//! credential id registered to any account is refused.
//!
//! # Where state lives
//! - **Passkeys**, durable, with the users: [`FactorStore`](keycard::factor::FactorStore)
//!   (keycard-sqlx's tables, or the app's own), one [`PasskeyRecord`](keycard::factor::PasskeyRecord)
//!   each: the credential id, its name, its times, and `data`: the WebAuthn user handle and
//!   webauthn-rs' `Passkey` (public key, sign counter, backup flags) as JSON, rewritten after each use.
//! - **Ceremonies**, ephemeral, in the session store's one-time records (memory, SQLite, PostgreSQL,
//!   Redis, Redis Cluster), never in process memory: any node of a fleet finishes a ceremony another
//!   began. Purposes `passkey_register`, `passkey_sign_in` and `passkey_second_step`, each record
//!   single use and dead after [`CEREMONY_TTL`] (5 minutes). The challenge stays in the record; the
//!   browser holds only the signed token that names it.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use keycard::factor::MemoryFactors;
//! use keycard::onetime::MemoryOneTime;
//! use keycard_passkey::{BrowserReply, PasskeyConfig, PasskeyError, PasskeyUser, Passkeys, Url};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Once, at start-up: the site's domain and public origin, the session store's one-time records, the
//! // users' factors and the app secret.
//! let config = PasskeyConfig::new("example.com", "Example", Url::parse("https://example.com")?);
//! let passkeys = Passkeys::new(
//!     config,
//!     Arc::new(MemoryOneTime::new()), // in production: the session store (SQL, Redis)
//!     Arc::new(MemoryFactors::new()), // in production: keycard-sqlx's SqlFactors, or your own
//!     &[7u8; 64],                     // the app secret
//! )?;
//!
//! // GET /passkeys/sign-in/options: JSON for the sign-in page's script.
//! let ceremony = passkeys.start_sign_in().await?;
//! assert_eq!(ceremony.options["mediation"], "conditional");
//! let page_json = serde_json::to_string(&ceremony)?; // {"options":…,"token":…,"expires_at":…}
//! # let _ = page_json;
//!
//! // POST /passkeys/sign-in: the script posts the token back with `JSON.stringify(credential)`.
//! async fn sign_in(passkeys: &Passkeys, token: &str, credential: &str) -> Result<String, PasskeyError> {
//!     let verified = passkeys.finish_sign_in(BrowserReply { token, credential }).await?;
//!     Ok(verified.user_key) // load that user, then `Auth::create(user)`
//! }
//! // A reply to a ceremony the server never began is refused before any check of the credential.
//! let forged = sign_in(&passkeys, "forged", "{}").await;
//! assert!(matches!(forged, Err(PasskeyError::CeremonyExpired)));
//!
//! // Settings page, in sudo mode: add a passkey to user 42.
//! let user = PasskeyUser { key: "42", name: "ann@example.com", display_name: "Ann" };
//! let ceremony = passkeys.start_registration(user).await?;
//! assert_eq!(ceremony.options["publicKey"]["authenticatorSelection"]["residentKey"], "required");
//! // … then `passkeys.finish_registration("42", "Phone", BrowserReply { token, credential })`.
//! # Ok(()) }
//! ```
//!
//! The browser side, in outline (a page's script; `/passkeys/…` are the app's routes):
//! ```text
//! const { options, token } = await (await fetch("/passkeys/sign-in/options")).json();
//! const credential = await navigator.credentials.get({
//!   mediation: "conditional",   // autofill; leave it out for a "Sign in with a passkey" button
//!   publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey),
//! });
//! await fetch("/passkeys/sign-in", { method: "POST", headers: { "content-type": "application/json" },
//!   body: JSON.stringify({ token, credential }) });   // plus the CSRF token of the app's forms
//! ```
//!
//! # Errors and logs
//! Every failure is a [`PasskeyError`] that says what failed and what to answer (see its table); a store
//! failure is [`PasskeyError::Store`] and never signs anybody in. Events go to the audit log (`tracing`
//! target `keycard::audit`, the account as keycard's salted hash):
//!
//! | `event` | level | when |
//! |---|---|---|
//! | `passkey.registered` | INFO | a passkey was added |
//! | `passkey.verified` | INFO | a sign-in or second step verified (`flow`: `sign_in`, `second_step`) |
//! | `passkey.refused` | INFO | a finish failed (`flow`: `register`, `sign_in`, `second_step`; `reason`) |
//! | `passkey.counter_regressed` | WARN | a sign counter went backwards: a possibly cloned authenticator |
//! | `passkey.removed` | INFO | a passkey was removed |
//!
//! A passkey is named by the first six characters of its credential id; no token, challenge, whole
//! credential id or key material is ever logged, and no [`Debug`] of this crate shows one. webauthn-rs
//! logs more under its own targets: a ceremony's state (with its challenge) at TRACE, the attested
//! credential (id and public key) at DEBUG; keep `webauthn_rs_core` at INFO or above in production
//! (`RUST_LOG=info,webauthn_rs_core=info`).
//!
//! # What stays the app's job
//! - **Sudo mode** before [`start_registration`](Passkeys::start_registration) and
//!   [`remove`](Passkeys::remove) (keycard-axum's `RecentlyAuthenticated`).
//! - **CSRF** on the finish endpoints (keycard-axum's `CsrfLayer`), as on every form.
//! - **A rate limit** in front of [`start_sign_in`](Passkeys::start_sign_in) (it writes a record for
//!   anyone who asks).
//! - **Signing in**: [`Verified::user_key`] names the account; the app loads the user and calls
//!   `Auth::create`. For a second step, it completes the pending login first.
//!
//! # Why webauthn-rs
//! [webauthn-rs](https://docs.rs/webauthn-rs) is the maintained WebAuthn relying-party library of the Rust
//! ecosystem (Kanidm's, audited by SUSE): it verifies attestation and assertion exactly as the
//! specification's steps say, on RustCrypto since 0.6 (no OpenSSL), and refuses to serialise a
//! ceremony's state unless told to: this crate turns that on (`danger-allow-state-serialisation`) only
//! to keep the state in the session store, server side and single use, which is the case its
//! documentation calls safe. Its `conditional-ui` feature is the sign-in with no username.

mod audit;
mod ceremony;
mod config;
mod error;
mod manage;
mod passkeys;
mod sign_in;
mod stored;
mod types;
mod verify;

// The checks of the fuzz targets in fuzz/, shared with the replay of fuzz/regressions/ in this crate's
// tests. Behind the `fuzzing` feature and hidden: not part of the supported API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod __fuzz;

// A software authenticator for tests (this crate's, an app's HTTP tests). Behind the `testing` feature:
// not part of the supported API.
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{PasskeyConfig, CEREMONY_TTL};
pub use error::PasskeyError;
pub use manage::can_remove;
pub use passkeys::{Passkeys, DEFAULT_NAME, MAX_NAME_CHARS};
pub use types::{BrowserReply, Ceremony, PasskeyInfo, PasskeyUser, Verified};
/// The URL type of [`PasskeyConfig::origin`] (the `url` crate's, as webauthn-rs re-exports it).
pub use webauthn_rs::prelude::Url;
