//! [`FactorStore`]: where a user's second factors live (with the user, durably), and the atomic steps
//! that make a code single use.

use crate::clock::Timestamp;
use crate::store::StoreError;
use crate::token::TokenHash;

/// A user's TOTP authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpRecord {
    /// The shared secret, **sealed** (keycard-totp encrypts it with a key derived from the app secret, so
    /// a dump of the store alone yields no secret). Opaque to the store.
    pub sealed_secret: Vec<u8>,
    /// When it was turned on (a code was confirmed).
    pub enabled_at: Timestamp,
    /// The last time step a code was accepted for: a code of this step or an earlier one is a replay.
    pub last_step: Option<u64>,
}

/// One passkey (a WebAuthn credential) of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRecord {
    /// The credential id the authenticator chose (unique across users).
    pub id: Vec<u8>,
    /// The name the user gave it ("Phone", "YubiKey").
    pub name: String,
    /// The credential as the WebAuthn library keeps it (public key, sign counter, backup flags):
    /// opaque to the store, updated after every use.
    pub data: Vec<u8>,
    /// When it was added.
    pub created_at: Timestamp,
    /// When it last signed a challenge.
    pub last_used_at: Option<Timestamp>,
}

/// Which second factors a user has: what the sign-in must ask for, and what the profile shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Factors {
    /// An authenticator app.
    pub totp: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: usize,
    /// Passkeys.
    pub passkeys: usize,
}

impl Factors {
    /// Whether a password sign-in needs a second step (TOTP or a passkey; recovery codes alone are not a
    /// factor, they stand in for one).
    pub fn second_step_required(&self) -> bool {
        self.totp || self.passkeys > 0
    }

    /// The stable names of the factors that are on: `totp`, `passkey`.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.totp {
            v.push("totp");
        }
        if self.passkeys > 0 {
            v.push("passkey");
        }
        v
    }
}

/// Second factors, kept with the user (the app's users database: keycard-sqlx's tables, or the app's own
/// implementation). [`MemoryFactors`](super::MemoryFactors) for tests; `keycard-store-tests`'
/// `factor_suite!` checks an implementation. The claiming steps are **atomic**: of any number of
/// concurrent uses of one TOTP step or one recovery code, exactly one succeeds.
#[async_trait::async_trait]
pub trait FactorStore: Send + Sync + 'static {
    /// The user's TOTP authenticator, if on.
    async fn totp(&self, user_key: &str) -> Result<Option<TotpRecord>, StoreError>;

    /// Turn TOTP on (`Some`: replaces any earlier authenticator) or off (`None`).
    async fn set_totp(&self, user_key: &str, record: Option<TotpRecord>) -> Result<(), StoreError>;

    /// Accept a code of time step `step`: `true` (and `step` is now the last one) when it is later than
    /// the last accepted step, `false` for a replay (or no TOTP). Atomic.
    async fn claim_totp_step(&self, user_key: &str, step: u64) -> Result<bool, StoreError>;

    /// Replace the user's recovery codes (their keyed hashes) with `codes` (empty: none).
    async fn set_recovery_codes(
        &self,
        user_key: &str,
        codes: Vec<TokenHash>,
    ) -> Result<(), StoreError>;

    /// How many recovery codes the user has left.
    async fn recovery_codes_left(&self, user_key: &str) -> Result<usize, StoreError>;

    /// Use the recovery code whose hash is `code`: `true` once (it is deleted), `false` after or for an
    /// unknown code. Atomic.
    async fn use_recovery_code(&self, user_key: &str, code: &TokenHash)
        -> Result<bool, StoreError>;

    /// The user's passkeys, oldest first.
    async fn passkeys(&self, user_key: &str) -> Result<Vec<PasskeyRecord>, StoreError>;

    /// Add a passkey. Errors when its id is registered already (to anybody).
    async fn add_passkey(&self, user_key: &str, passkey: PasskeyRecord) -> Result<(), StoreError>;

    /// After a use: store the credential's new `data` (sign counter, backup state) and `used_at`.
    /// `false` if the user has no such passkey.
    async fn update_passkey(
        &self,
        user_key: &str,
        id: &[u8],
        data: Vec<u8>,
        used_at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Rename a passkey; `false` if the user has no such passkey.
    async fn rename_passkey(
        &self,
        user_key: &str,
        id: &[u8],
        name: &str,
    ) -> Result<bool, StoreError>;

    /// Remove a passkey; `false` if the user has no such passkey.
    async fn remove_passkey(&self, user_key: &str, id: &[u8]) -> Result<bool, StoreError>;

    /// Whose passkey `id` is (a sign-in with a discoverable credential names no user).
    async fn passkey_owner(&self, id: &[u8]) -> Result<Option<String>, StoreError>;

    /// The user's factors at a glance. The default asks the three questions one by one.
    async fn factors(&self, user_key: &str) -> Result<Factors, StoreError> {
        Ok(Factors {
            totp: self.totp(user_key).await?.is_some(),
            recovery_codes_left: self.recovery_codes_left(user_key).await?,
            passkeys: self.passkeys(user_key).await?.len(),
        })
    }
}
