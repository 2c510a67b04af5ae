//! [`PendingLogins`]: a login whose password was right but whose second factor is still to come.

use std::sync::Arc;
use std::time::Duration;

use crate::onetime::{IssueRequest, OneTimeStore, OneTimeTokens, Purpose};
use crate::store::StoreError;
use crate::token::SecretError;
use crate::user::{CachedUser, Fingerprint};

const PENDING: Purpose = Purpose::new("second_factor");
/// How long a pending login waits for its second factor: 5 minutes.
pub const PENDING_TTL: Duration = Duration::from_secs(5 * 60);

/// A pending login, as its challenge names it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pending {
    /// Whose.
    pub user_key: String,
    /// "Remember me" was ticked with the password.
    pub remember: bool,
    /// The user's credential fingerprint when the password was checked: a password change in between
    /// ends the pending login.
    pub fingerprint: Option<Fingerprint>,
}

impl Pending {
    /// Whether `user` (loaded again for the second step) still has the credentials the password was
    /// checked against.
    pub fn still_valid<U: CachedUser>(&self, user: &U) -> bool {
        user.user_key() == self.user_key && Fingerprint::of(user) == self.fingerprint
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = vec![1, u8::from(self.remember)];
        if let Some(f) = &self.fingerprint {
            out.extend_from_slice(&f.0);
        }
        out
    }

    pub(crate) fn decode(user_key: String, bytes: &[u8]) -> Option<Pending> {
        let (&version, rest) = bytes.split_first()?;
        let (&remember, rest) = rest.split_first()?;
        if version != 1 || remember > 1 {
            return None;
        }
        let fingerprint = match rest.len() {
            0 => None,
            16 => Some(Fingerprint(rest.try_into().ok()?)),
            _ => return None,
        };
        Some(Pending {
            user_key,
            remember: remember == 1,
            fingerprint,
        })
    }
}

/// Pending logins over the session store's one-time tokens (see the [module docs](super)).
#[derive(Debug, Clone)]
pub struct PendingLogins {
    tokens: OneTimeTokens,
    ttl: Duration,
}

impl PendingLogins {
    /// Over `store`, with keys derived from `secret` (the app secret; a label of its own).
    ///
    /// Errors: [`SecretError::TooShort`].
    pub fn new(store: Arc<dyn OneTimeStore>, secret: &[u8]) -> Result<Self, SecretError> {
        Ok(PendingLogins {
            tokens: OneTimeTokens::new(store, secret)?,
            ttl: PENDING_TTL,
        })
    }

    /// Another clock (tests; the app's).
    pub fn with_clock(mut self, clock: Arc<dyn crate::Clock>) -> Self {
        self.tokens = self.tokens.with_clock(clock);
        self
    }

    /// The password of `user` was right and they have a second factor: a challenge to keep in a short
    /// cookie (the value is a signed, URL-safe token). Several may be pending at once (two devices).
    ///
    /// Errors: the store's.
    pub async fn begin<U: CachedUser>(
        &self,
        user: &U,
        remember: bool,
    ) -> Result<String, StoreError> {
        let pending = Pending {
            user_key: user.user_key(),
            remember,
            fingerprint: Fingerprint::of(user),
        };
        let issued = self
            .tokens
            .issue(IssueRequest {
                purpose: PENDING,
                subject: &pending.user_key,
                ttl: self.ttl,
                code_attempts: None,
                payload: pending.encode(),
                supersede: false,
            })
            .await?;
        Ok(issued.link.into_string())
    }

    /// The pending login `challenge` names, without consuming it (the second-factor page; a wrong code
    /// leaves it pending). `None` for a forged, used or expired challenge.
    ///
    /// Errors: the store's.
    pub async fn peek(&self, challenge: &str) -> Result<Option<Pending>, StoreError> {
        Ok(self
            .tokens
            .find(PENDING, challenge)
            .await?
            .and_then(|r| Pending::decode(r.subject, &r.payload)))
    }

    /// The second factor was right: consume the challenge (of any number of concurrent completions,
    /// exactly one gets it) and say whose login it was. Then sign in (`Auth::create`), after checking
    /// [`Pending::still_valid`] against the user loaded again.
    ///
    /// Errors: the store's.
    pub async fn complete(&self, challenge: &str) -> Result<Option<Pending>, StoreError> {
        Ok(self
            .tokens
            .redeem(PENDING, challenge)
            .await?
            .and_then(|r| Pending::decode(r.subject, &r.payload)))
    }
}
