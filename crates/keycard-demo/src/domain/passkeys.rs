//! Passkeys (keycard-passkey): the relying party the demo is, and where ceremonies and passkeys live.
//!
//! The relying party is the origin browsers reach the demo at: `PUBLIC_ORIGIN`, or on a loopback
//! address `http://localhost:PORT` (browsers offer passkeys on `https` origins and on `http://localhost`
//! only, and never for an IP address, so `http://127.0.0.1:PORT` has no passkeys: open
//! `http://localhost:PORT` instead). The relying party id is that origin's host. Ceremonies live in the
//! session store's one-time records (every store: memory, SQLite, PostgreSQL, Redis, the cluster);
//! passkeys with the users, in the factor store ([`crate::domain::factors`]).

use std::sync::Arc;

use keycard::factor::FactorStore;
use keycard::onetime::OneTimeStore;
use keycard_passkey::{PasskeyConfig, PasskeyError, Passkeys, Url};

use crate::clock::AppClock;

/// The name browsers show in their passkey dialogs.
pub const RP_NAME: &str = "keycard demo";

/// Passkeys for the site at `origin` (scheme, host and port), over `one_time` and `factors`, keyed by
/// the app `secret`.
///
/// Errors: [`PasskeyError::Config`] when the origin cannot carry passkeys (an IP address, plain http
/// other than localhost).
pub fn build(
    origin: &str,
    one_time: Arc<dyn OneTimeStore>,
    factors: Arc<dyn FactorStore>,
    secret: &[u8],
    clock: AppClock,
) -> Result<Passkeys, PasskeyError> {
    let url = Url::parse(origin).map_err(|e| PasskeyError::Config {
        reason: format!("the origin {origin:?} is not a URL: {e}"),
    })?;
    let rp_id = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let config = PasskeyConfig::new(rp_id, RP_NAME, url);
    Ok(Passkeys::new(config, one_time, factors, secret)?.with_clock(Arc::new(clock)))
}
