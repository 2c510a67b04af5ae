//! [`OneTimeTokens`]: issue, look up and redeem one-time tokens over a [`OneTimeStore`].

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::store::{CodeRedemption, OneTimeRecord, OneTimeStore, Purpose};
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::store::StoreError;
use crate::token::{labeled_key, CookieSigner, CookieValue, SecretError, Token, TokenHash};

const LINK_LABEL: &[u8] = b"keycard one-time link signing key v1";
const CODE_LABEL: &[u8] = b"keycard one-time code key v1";

/// Digits of a code ([`IssueRequest::code_attempts`]).
pub const CODE_DIGITS: usize = 6;

/// What to issue ([`OneTimeTokens::issue`]).
#[derive(Debug, Clone)]
pub struct IssueRequest<'a> {
    /// What it is for.
    pub purpose: Purpose,
    /// Whose (a user key, or the key the app names the recipient by).
    pub subject: &'a str,
    /// How long it lives.
    pub ttl: Duration,
    /// `Some(n)`: also issue a [`CODE_DIGITS`]-digit code, redeemable with at most `n` guesses
    /// ([`OneTimeTokens::redeem_code`]). `None`: a link only.
    pub code_attempts: Option<u32>,
    /// What to bind to it (the address it goes to, a credential fingerprint, a challenge's state): given
    /// back, unchanged, by `find` and the redemptions.
    pub payload: Vec<u8>,
    /// Delete the purpose's other live records for this subject in the same step (a new link supersedes
    /// the older ones). Required for a code (codes are looked up by purpose and subject).
    pub supersede: bool,
}

/// A token just issued: send `link` (in a URL) and `code` (in words) to its recipient; the store keeps
/// only their hashes.
#[derive(Debug)]
#[non_exhaustive]
pub struct Issued {
    /// The signed token for the link: URL-safe (base64url), 86 or 88 characters.
    pub link: CookieValue,
    /// The code, when one was asked for: [`CODE_DIGITS`] decimal digits.
    pub code: Option<String>,
    /// When both stop working.
    pub expires_at: Timestamp,
}

/// One-time tokens: single use, purpose-bound, short-lived (see the [module docs](super)).
#[derive(Clone)]
pub struct OneTimeTokens {
    store: Arc<dyn OneTimeStore>,
    signer: CookieSigner,
    code_key: Hmac<Sha256>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for OneTimeTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneTimeTokens").finish_non_exhaustive()
    }
}

/// A uniformly random code of [`CODE_DIGITS`] digits.
fn random_code() -> String {
    const RANGE: u32 = 1_000_000;
    // Rejection sampling: the largest multiple of RANGE below 2^32 keeps every code equally likely.
    const LIMIT: u32 = u32::MAX - (u32::MAX % RANGE);
    loop {
        let mut b = [0u8; 4];
        getrandom::getrandom(&mut b).expect("the OS random number generator failed");
        let n = u32::from_le_bytes(b);
        if n < LIMIT {
            return format!("{:0width$}", n % RANGE, width = CODE_DIGITS);
        }
    }
}

impl OneTimeTokens {
    /// Over `store`, signing links and keying codes with keys derived from `secret` (at least
    /// [`MIN_SECRET_LEN`](crate::token::MIN_SECRET_LEN) bytes; the app secret is fine: each key has a
    /// label of its own, so a link is never a valid session cookie).
    ///
    /// Errors: [`SecretError::TooShort`].
    pub fn new(store: Arc<dyn OneTimeStore>, secret: &[u8]) -> Result<Self, SecretError> {
        Ok(OneTimeTokens {
            store,
            signer: CookieSigner::labeled(secret, LINK_LABEL)?,
            code_key: labeled_key(secret, CODE_LABEL)?,
            clock: Arc::new(SystemClock),
        })
    }

    /// Another clock (tests; the app's).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The current time on this service's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn code_hash(&self, purpose: Purpose, subject: &str, code: &str) -> TokenHash {
        let mut m = self.code_key.clone();
        m.update(purpose.as_str().as_bytes());
        m.update(&[0]);
        m.update(&(subject.len() as u64).to_be_bytes());
        m.update(subject.as_bytes());
        m.update(code.trim().as_bytes());
        TokenHash(m.finalize().into_bytes().into())
    }

    /// Issue a token (and a code, if asked) for `request.subject`.
    ///
    /// Errors: the store's; and a [`StoreError`] for a code asked without `supersede` (codes are looked
    /// up by purpose and subject, so there must be one live record to look in).
    pub async fn issue(&self, request: IssueRequest<'_>) -> Result<Issued, StoreError> {
        if request.code_attempts.is_some() && !request.supersede {
            return Err(StoreError::new(
                "one-time",
                "issue",
                "a code needs supersede: true (codes are looked up by purpose and subject)",
            ));
        }
        let now = self.clock.now();
        let token = Token::generate_tagged(self.store.route_tag(request.subject));
        let code = request.code_attempts.map(|_| random_code());
        let record = OneTimeRecord {
            purpose: request.purpose.as_str().to_owned(),
            subject: request.subject.to_owned(),
            token: token.hash(),
            code: code
                .as_deref()
                .map(|c| self.code_hash(request.purpose, request.subject, c)),
            created_at: now,
            expires_at: now.saturating_add(request.ttl),
            attempts_left: request.code_attempts.unwrap_or(1).max(1),
            payload: request.payload,
        };
        let expires_at = record.expires_at;
        self.store.issue(record, request.supersede).await?;
        Ok(Issued {
            link: self.signer.encode(&token),
            code,
            expires_at,
        })
    }

    /// The token hash a link carries, if it is a well-formed link signed by this service (no store
    /// access otherwise).
    fn hash_of(&self, link: &str) -> Option<TokenHash> {
        self.signer.decode(link.trim()).ok().map(|t| t.hash())
    }

    /// The live record a link names, without consuming it: for the page the link opens (mail scanners
    /// fetch links; only the page's button, a POST, redeems). `None` for a forged, used, expired or
    /// superseded link, or one of another purpose.
    pub async fn find(
        &self,
        purpose: Purpose,
        link: &str,
    ) -> Result<Option<OneTimeRecord>, StoreError> {
        let Some(hash) = self.hash_of(link) else {
            return Ok(None);
        };
        self.store
            .find(purpose.as_str(), &hash, self.clock.now())
            .await
    }

    /// Redeem a link: the record, consumed (exactly one of any number of concurrent redemptions gets it),
    /// or `None` as for [`find`](Self::find).
    pub async fn redeem(
        &self,
        purpose: Purpose,
        link: &str,
    ) -> Result<Option<OneTimeRecord>, StoreError> {
        let Some(hash) = self.hash_of(link) else {
            return Ok(None);
        };
        self.store
            .redeem(purpose.as_str(), &hash, self.clock.now())
            .await
    }

    /// Redeem a code typed by the recipient of `subject`'s message: see [`CodeRedemption`]. Every call
    /// counts one attempt, whatever was typed.
    pub async fn redeem_code(
        &self,
        purpose: Purpose,
        subject: &str,
        code: &str,
    ) -> Result<CodeRedemption, StoreError> {
        let hash = self.code_hash(purpose, subject, code);
        self.store
            .redeem_code(purpose.as_str(), subject, &hash, self.clock.now())
            .await
    }

    /// End every live token of `purpose` for `subject`; how many.
    pub async fn revoke(&self, purpose: Purpose, subject: &str) -> Result<usize, StoreError> {
        self.store.revoke(purpose.as_str(), subject).await
    }

    /// Remove expired records (see [`OneTimeStore::sweep_one_time`]).
    pub async fn sweep(&self) -> Result<usize, StoreError> {
        self.store.sweep_one_time(self.clock.now()).await
    }
}
