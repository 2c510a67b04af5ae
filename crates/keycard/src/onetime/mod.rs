//! One-time tokens: single use, purpose-bound, short-lived. The primitive behind every flow that proves
//! something with a secret sent elsewhere (a link by email, a code typed back) and behind short-lived
//! challenges (a pending second factor, an identity provider's `state`).
//!
//! # The model
//! [`OneTimeTokens::issue`] makes a random 256-bit token for a [`Purpose`] and a subject (whose), with a
//! lifetime and optionally a [`CODE_DIGITS`]-digit code, and binds a payload to it (the address a mail
//! goes to, the user's credential fingerprint: whatever the flow must find unchanged when the token comes
//! back). The app sends the **link** (the token, signed like a session cookie but under a key of its own,
//! so a forged link never reaches the store) and the **code**; the store keeps only their hashes (the
//! code's keyed by the app secret, since six digits are easy to enumerate).
//!
//! | step | what the store does, atomically |
//! |---|---|
//! | issue, `supersede` | the purpose's other live records for the subject are deleted: a new link supersedes the older ones |
//! | [`find`](OneTimeTokens::find) | reads a live record (the page a link opens: a GET never consumes) |
//! | [`redeem`](OneTimeTokens::redeem) | deletes and returns it: of any number of concurrent redemptions, exactly one wins |
//! | [`redeem_code`](OneTimeTokens::redeem_code) | reserves one attempt **before** comparing, then consumes on a right code: however many guesses race, at most the allowed number are compared |
//! | [`revoke`](OneTimeTokens::revoke) | deletes every record of the purpose and subject |
//!
//! What a redeemed record is good for is the flow's decision (`keycard::inbox` for the email flows): it
//! checks the payload against the user as it is now, so a reset link dies when the password changes.
//!
//! Stores: [`MemoryOneTime`], the SQL stores (keycard-sqlx, table `{prefix}one_time`), the Redis store,
//! each through `keycard-store-tests`' `one_time_suite!`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use keycard::onetime::{IssueRequest, MemoryOneTime, OneTimeTokens, Purpose};
//!
//! const RESET: Purpose = Purpose::new("reset_password");
//! let tokens = OneTimeTokens::new(Arc::new(MemoryOneTime::new()), &[7u8; 64])?;
//! let issued = tokens
//!     .issue(IssueRequest {
//!         purpose: RESET,
//!         subject: "user-42",
//!         ttl: Duration::from_secs(3600),
//!         code_attempts: None,
//!         payload: b"ann@example.com".to_vec(),
//!         supersede: true,
//!     })
//!     .await?;
//! let link = issued.link.as_str(); // put it in the mail: https://app.example/password/reset/{link}
//! assert!(tokens.find(RESET, link).await?.is_some(), "the page shows a button");
//! let record = tokens.redeem(RESET, link).await?.expect("the first use");
//! assert_eq!(record.subject, "user-42");
//! assert!(tokens.redeem(RESET, link).await?.is_none(), "single use");
//! # Ok(()) }
//! ```

mod memory;
mod service;
mod store;

pub use memory::MemoryOneTime;
pub use service::{IssueRequest, Issued, OneTimeTokens, CODE_DIGITS};
pub use store::{CodeRedemption, OneTimeRecord, OneTimeStore, Purpose};
