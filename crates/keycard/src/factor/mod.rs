//! Second factors: a password sign-in of a user who has one is not signed in until the second step.
//!
//! # The model
//! - **Durable, with the user** ([`FactorStore`]: the app's users database; keycard-sqlx's tables, or the
//!   app's own implementation): the TOTP authenticator (its secret sealed by keycard-totp under a key
//!   derived from the app secret, and the last time step accepted, so a code is never accepted twice),
//!   the recovery codes (keyed hashes, each single use), the passkeys (WebAuthn credentials, from
//!   keycard-passkey).
//! - **Ephemeral, in the session store**: a **pending login** ([`PendingLogins`]). After a right password
//!   for a user whose [`Factors::second_step_required`], the app does not sign in: it begins a pending
//!   login, a single-use challenge that lives [`PENDING_TTL`] (5 minutes), kept by the browser in a short
//!   cookie. No session exists, so every extractor that needs one refuses the request. The second step
//!   [`peek`](PendingLogins::peek)s it, checks the code or the passkey (through the login throttle, per
//!   account and per client), then [`complete`](PendingLogins::complete)s it (one winner) and signs in
//!   with `Auth::create`: a new session, fresh for sudo mode.
//!
//! Recovery codes ([`RecoveryCodes`]): ten, shown once, each standing in for the second factor once.

mod memory;
mod pending;
mod recovery;
mod store;

pub use memory::MemoryFactors;
pub use pending::{Pending, PendingLogins, PENDING_TTL};
pub use recovery::{RecoveryCodes, RECOVERY_CODES};
pub use store::{FactorStore, Factors, PasskeyRecord, TotpRecord};
