//! [`Passkeys`]: the service, and registration.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use keycard::audit::AuditLog;
use keycard::factor::{FactorStore, PasskeyRecord};
use keycard::onetime::{IssueRequest, OneTimeRecord, OneTimeStore, OneTimeTokens, Purpose};
use keycard::{Clock, SystemClock};
use sha2::Sha256;
use webauthn_rs::prelude::Uuid;
use webauthn_rs::Webauthn;

use crate::audit::Events;
use crate::ceremony::{CeremonyState, RegisterState, REGISTER};
use crate::config::PasskeyConfig;
use crate::error::PasskeyError;
use crate::stored::StoredPasskey;
use crate::types::{encode_id, BrowserReply, Ceremony, PasskeyUser};
use crate::verify;

const USER_HANDLE_LABEL: &[u8] = b"keycard passkey user handle v1";
/// The longest passkey name kept, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// The name a passkey gets when the user gives none.
pub const DEFAULT_NAME: &str = "Passkey";

/// Passkeys for one site: registration, sign-in with no username, the second step of a password
/// sign-in, and the account's list (see the [crate docs](crate)). Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Passkeys {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Clone)]
pub(crate) struct Inner {
    pub(crate) config: PasskeyConfig,
    pub(crate) webauthn: Webauthn,
    pub(crate) tokens: OneTimeTokens,
    pub(crate) factors: Arc<dyn FactorStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) handle_key: Hmac<Sha256>,
    pub(crate) events: Events,
}

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkeys")
            .field("rp_id", &self.inner.config.rp_id)
            .field("origin", &self.inner.config.origin.as_str())
            .finish_non_exhaustive()
    }
}

impl Passkeys {
    /// Passkeys for the relying party `config`, keeping ceremonies in `one_time` (the session store's
    /// one-time tokens: every node of a fleet sees them) and passkeys in `factors` (with the users).
    /// `secret` is the app secret (at least 64 bytes; keys of their own are derived from it: the
    /// ceremony tokens' signing key, the user handles, the audit log's account hashes).
    ///
    /// Errors: [`PasskeyError::Config`] for a configuration webauthn-rs or a browser would refuse, or a
    /// secret too short.
    pub fn new(
        config: PasskeyConfig,
        one_time: Arc<dyn OneTimeStore>,
        factors: Arc<dyn FactorStore>,
        secret: &[u8],
    ) -> Result<Passkeys, PasskeyError> {
        let webauthn = config.build()?;
        let secret_error = |e: keycard::SecretError| PasskeyError::Config {
            reason: e.to_string(),
        };
        let tokens = OneTimeTokens::new(one_time, secret).map_err(secret_error)?;
        let log = AuditLog::new(secret).map_err(secret_error)?;
        // Key separation as keycard does it: HMAC(secret, label) is this key, and nothing else's.
        let mut kdf =
            <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|_| PasskeyError::Config {
                reason: "the secret was refused as an HMAC key".into(),
            })?;
        kdf.update(USER_HANDLE_LABEL);
        let handle_key = <Hmac<Sha256> as Mac>::new_from_slice(&kdf.finalize().into_bytes())
            .map_err(|_| PasskeyError::Config {
                reason: "the derived key was refused as an HMAC key".into(),
            })?;
        Ok(Passkeys {
            inner: Arc::new(Inner {
                config,
                webauthn,
                tokens,
                factors,
                clock: Arc::new(SystemClock),
                handle_key,
                events: Events { log },
            }),
        })
    }

    /// Another clock (tests; the app's): ceremony lifetimes, and when passkeys were added and used.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        let inner = Arc::make_mut(&mut self.inner);
        inner.tokens = inner.tokens.clone().with_clock(clock.clone());
        inner.clock = clock;
        self
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &PasskeyConfig {
        &self.inner.config
    }

    /// The WebAuthn user handle of `user_key`'s new passkeys: the one their passkeys already have, else
    /// the first 16 bytes of a keyed hash of the user key (stable, so an authenticator keeps one entry
    /// per account; no personal data; meaningless without the app secret).
    fn user_handle(&self, user_key: &str, existing: &[PasskeyRecord]) -> Uuid {
        if let Some(stored) = existing.iter().find_map(StoredPasskey::of) {
            return stored.user_handle;
        }
        let mut mac = self.inner.handle_key.clone();
        mac.update(user_key.as_bytes());
        let out = mac.finalize().into_bytes();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&out[..16]);
        Uuid::from_bytes(bytes)
    }

    /// Issue a ceremony token whose record holds `state`.
    pub(crate) async fn issue(
        &self,
        purpose: Purpose,
        subject: &str,
        state: &CeremonyState,
        options: serde_json::Value,
        supersede: bool,
    ) -> Result<Ceremony, PasskeyError> {
        let payload = state.encode().map_err(|_| PasskeyError::CorruptRecord)?;
        let issued = self
            .inner
            .tokens
            .issue(IssueRequest {
                purpose,
                subject,
                ttl: self.inner.config.ceremony_ttl,
                code_attempts: None,
                payload,
                supersede,
            })
            .await?;
        Ok(Ceremony {
            options,
            token: issued.link.into_string(),
            expires_at: issued.expires_at,
        })
    }

    /// Consume the ceremony `token` of `purpose` (single use, whatever comes next): its record and state.
    pub(crate) async fn redeem(
        &self,
        purpose: Purpose,
        token: &str,
    ) -> Result<(OneTimeRecord, CeremonyState), PasskeyError> {
        let record = self
            .inner
            .tokens
            .redeem(purpose, token)
            .await?
            .ok_or(PasskeyError::CeremonyExpired)?;
        let Some(state) = CeremonyState::decode(purpose, &record.payload) else {
            // Ours, yet unreadable: written by another version of this crate. Start again.
            tracing::warn!(purpose = %purpose, "a passkey ceremony record did not decode");
            return Err(PasskeyError::CeremonyExpired);
        };
        Ok((record, state))
    }

    /// Begin adding a passkey to `user`'s account. **Only in sudo mode**: the app asks for the password
    /// (or a passkey) again before this page, as for any change of credentials (keycard-axum's
    /// `RecentlyAuthenticated`); a stolen session must not be able to add its own passkey.
    ///
    /// The options ask for a discoverable credential with user verification (a passkey), and list the
    /// account's passkeys as excluded, so an authenticator that has one already says so instead of
    /// making a second. A new registration supersedes the user's unfinished one.
    ///
    /// Errors: [`PasskeyError::UserWithoutName`], [`PasskeyError::Store`].
    pub async fn start_registration(
        &self,
        user: PasskeyUser<'_>,
    ) -> Result<Ceremony, PasskeyError> {
        let (name, display_name) = match (user.name.trim(), user.display_name.trim()) {
            ("", "") => return Err(PasskeyError::UserWithoutName),
            ("", d) => (d, d),
            (n, "") => (n, n),
            (n, d) => (n, d),
        };
        let existing = self.inner.factors.passkeys(user.key).await?;
        let handle = self.user_handle(user.key, &existing);
        let exclude = existing.iter().map(|r| r.id.clone()).collect();
        let (ccr, state) = self
            .inner
            .webauthn
            .start_passkey_registration(handle, name, display_name, Some(exclude))
            .map_err(|e| PasskeyError::Config {
                reason: format!("webauthn-rs refused to start a registration: {e}"),
            })?;
        let options = verify::registration_options(ccr, self.inner.config.require_discoverable)?;
        let state = CeremonyState::Register(RegisterState {
            state,
            user_handle: handle,
        });
        self.issue(REGISTER, user.key, &state, options, true).await
    }

    /// Finish adding a passkey: check the browser's `reply` against the ceremony (which must have been
    /// begun for `user_key`), and store the new passkey under `name` (trimmed; at most
    /// [`MAX_NAME_CHARS`] characters; [`DEFAULT_NAME`] when empty). The ceremony is used up whatever the
    /// outcome.
    ///
    /// Errors: [`PasskeyError::CeremonyExpired`], [`PasskeyError::CeremonyMismatch`],
    /// [`PasskeyError::MalformedResponse`], [`PasskeyError::WrongOrigin`], [`PasskeyError::Rejected`],
    /// [`PasskeyError::AlreadyRegistered`] (this credential id is any account's already),
    /// [`PasskeyError::Store`].
    pub async fn finish_registration(
        &self,
        user_key: &str,
        name: &str,
        reply: BrowserReply<'_>,
    ) -> Result<PasskeyRecord, PasskeyError> {
        let result = self.finish_registration_inner(user_key, name, reply).await;
        match &result {
            Ok(record) => self
                .inner
                .events
                .registered(user_key, &encode_id(&record.id)),
            Err(e) => self
                .inner
                .events
                .refused(Some(user_key), None, "register", e),
        }
        result
    }

    async fn finish_registration_inner(
        &self,
        user_key: &str,
        name: &str,
        reply: BrowserReply<'_>,
    ) -> Result<PasskeyRecord, PasskeyError> {
        let (record, state) = self.redeem(REGISTER, reply.token).await?;
        if record.subject != user_key {
            return Err(PasskeyError::CeremonyMismatch);
        }
        let CeremonyState::Register(state) = state else {
            return Err(PasskeyError::CeremonyExpired);
        };
        let response = verify::parse_registration(reply.credential)?;
        let factors = &self.inner.factors;
        let passkey = match verify::finish_registration(&self.inner.webauthn, &state, &response) {
            Ok(passkey) => passkey,
            // webauthn-rs 0.6.2 refuses a credential of the excluded list as "altered algorithm"
            // (`CredentialAlteredAlgFromRequest`): say what it is when the id is registered already.
            Err(PasskeyError::Rejected { .. })
                if factors.passkey_owner(&response.raw_id).await?.is_some() =>
            {
                return Err(PasskeyError::AlreadyRegistered)
            }
            Err(e) => return Err(e),
        };
        let id = passkey.cred_id().to_vec();
        if factors.passkey_owner(&id).await?.is_some() {
            return Err(PasskeyError::AlreadyRegistered);
        }
        let data = StoredPasskey::new(state.user_handle, passkey)
            .encode()
            .map_err(|_| PasskeyError::CorruptRecord)?;
        let record = PasskeyRecord {
            id,
            name: clean_name(name),
            data,
            created_at: self.inner.clock.now(),
            last_used_at: None,
        };
        if let Err(e) = factors.add_passkey(user_key, record.clone()).await {
            // The store refuses an id that exists: a concurrent registration of the same credential won.
            return Err(match factors.passkey_owner(&record.id).await {
                Ok(Some(_)) => PasskeyError::AlreadyRegistered,
                _ => PasskeyError::Store(e),
            });
        }
        Ok(record)
    }
}

/// A passkey name as kept: trimmed, control characters dropped, at most [`MAX_NAME_CHARS`] characters,
/// [`DEFAULT_NAME`] when nothing is left.
pub(crate) fn clean_name(name: &str) -> String {
    let name: String = name
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    let name = name.trim_end();
    if name.is_empty() {
        DEFAULT_NAME.to_owned()
    } else {
        name.to_owned()
    }
}
