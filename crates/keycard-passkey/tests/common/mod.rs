//! What the passkey tests share: a site with its stores and clock, and the software authenticator.
#![allow(dead_code)] // each test binary uses a part

// The software authenticator lives in the crate (feature `testing`) so an app's tests can use it too.
pub use keycard_passkey::testing as authenticator;

use std::sync::Arc;

use keycard::factor::{FactorStore, MemoryFactors};
use keycard::onetime::{MemoryOneTime, OneTimeStore};
use keycard::{ManualClock, Timestamp};
use keycard_passkey::{BrowserReply, Ceremony, PasskeyConfig, PasskeyUser, Passkeys, Url};

#[allow(unused_imports)]
pub use authenticator::{AuthenticatorError, SoftAuthenticator};

pub const ORIGIN: &str = "https://example.com";
pub const RP_ID: &str = "example.com";
pub const SECRET: [u8; 64] = [0x5a; 64];

/// A site: passkeys over in-memory one-time records and factors, on a manual clock.
pub struct Site {
    pub passkeys: Passkeys,
    pub factors: Arc<dyn FactorStore>,
    pub one_time: Arc<dyn OneTimeStore>,
    pub clock: ManualClock,
}

impl Site {
    /// A site over in-memory stores.
    pub fn new() -> Site {
        Self::over(
            Arc::new(MemoryFactors::new()),
            Arc::new(MemoryOneTime::new()),
        )
    }

    /// A site over `factors` and `one_time` (any stores) with the tests' configuration.
    pub fn over(factors: Arc<dyn FactorStore>, one_time: Arc<dyn OneTimeStore>) -> Site {
        let clock = ManualClock::new(Timestamp(1_700_000_000_000));
        let config = PasskeyConfig::new(RP_ID, "Example", Url::parse(ORIGIN).expect("origin"));
        let passkeys = Passkeys::new(config, one_time.clone(), factors.clone(), &SECRET)
            .expect("a valid configuration")
            .with_clock(Arc::new(clock.clone()));
        Site {
            passkeys,
            factors,
            one_time,
            clock,
        }
    }

    /// Registers a passkey for `user_key` on `authenticator`, named `name`: its credential id (base64url).
    pub async fn register(
        &self,
        authenticator: &mut SoftAuthenticator,
        user_key: &str,
        name: &str,
    ) -> String {
        let ceremony = self.start_registration(user_key).await;
        let credential = authenticator
            .register(&ceremony.options)
            .expect("the authenticator makes a credential");
        let record = self
            .passkeys
            .finish_registration(user_key, name, reply(&ceremony, &credential))
            .await
            .expect("registered");
        authenticator::b64(&record.id)
    }

    pub async fn start_registration(&self, user_key: &str) -> Ceremony {
        let name = format!("user{user_key}@example.com");
        self.passkeys
            .start_registration(PasskeyUser {
                key: user_key,
                name: &name,
                display_name: "A user",
            })
            .await
            .expect("a registration starts")
    }
}

/// The browser's reply to `ceremony` with `credential`.
pub fn reply<'a>(ceremony: &'a Ceremony, credential: &'a str) -> BrowserReply<'a> {
    BrowserReply {
        token: &ceremony.token,
        credential,
    }
}
