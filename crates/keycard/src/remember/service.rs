//! [`RememberMe`]: issue, redeem and forget remember-me cookies over a [`RememberStore`].

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::store::{
    RedeemPlan, Redemption, RememberPolicy, RememberStore, SeriesId, SeriesRecord, MAX_RETRY_CHAIN,
};
use crate::clock::{Clock, SystemClock};
use crate::store::StoreError;
use crate::token::{labeled_key, CookieValue, SecretError, TokenHash};
use crate::user::{CachedUser, Fingerprint};

const KEY_LABEL: &[u8] = b"keycard remember-me cookie key v1";
/// Domain of the successor derivation (a successor is never a cookie MAC).
const SUCCESSOR: &[u8] = b"keycard remember-me successor\0";
/// Domain of a retry cookie's MAC (a retry cookie never verifies as a plain one, nor the reverse); past
/// the first depth, the depth follows as one byte (a cookie verifies at one depth only).
const RETRY: &[u8] = b"keycard remember-me retry\0";
const SERIES_LEN: usize = 16;
const TOKEN_LEN: usize = 32;
const MAC_LEN: usize = 32;
/// Length of a remember-me cookie value: base64url of series id, token and HMAC (80 bytes).
pub const REMEMBER_COOKIE_LEN: usize = 107;

/// What [`RememberMe::redeem`] found.
#[derive(Debug)]
#[non_exhaustive]
pub enum Redeemed {
    /// Not a live series (forged, foreign, expired, forgotten): treat the visitor as anonymous and clear
    /// the cookie.
    Unknown,
    /// Rotated: load the user (`series.user_key`), check [`Redeemed::still_valid`] against it, create a
    /// session (it is not fresh for sudo mode: no password was checked) and send `cookie`.
    Rotated {
        /// The series, already carrying the new token.
        series: SeriesRecord,
        /// Its new cookie value.
        cookie: CookieValue,
    },
    /// Another request redeemed this token a moment ago (tabs reopening at once): serve this request as
    /// `series.user_key` without setting cookies; the winner's response carries them.
    Grace {
        /// The series.
        series: SeriesRecord,
    },
    /// The cookie was copied (a token the series moved on from): the series is gone; end every session of
    /// the user and every series ([`RememberMe::forget_user`]), and tell them.
    Theft {
        /// Whose.
        user_key: String,
    },
}

impl Redeemed {
    /// Whether `user` (just loaded) still has the credentials the series began with: a series does not
    /// survive a password change.
    pub fn still_valid<U: CachedUser>(series: &SeriesRecord, user: &U) -> bool {
        series.auth_fingerprint == Fingerprint::of(user)
    }
}

/// Remember-me: long-lived cookies naming a series and carrying a one-time token (see the
/// [module docs](super)).
#[derive(Clone)]
pub struct RememberMe {
    store: Arc<dyn RememberStore>,
    key: Hmac<Sha256>,
    policy: RememberPolicy,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RememberMe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RememberMe")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn token_hash(token: &[u8; TOKEN_LEN]) -> TokenHash {
    TokenHash(Sha256::digest(token).into())
}

fn fresh_token() -> [u8; TOKEN_LEN] {
    let mut t = [0u8; TOKEN_LEN];
    getrandom::getrandom(&mut t).expect("the OS random number generator failed");
    t
}

/// Which kind of cookie a value is: a plain one, or a retry cookie covering that many failed
/// redemptions (1 to [`MAX_RETRY_CHAIN`]; see the [module docs](super)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Retry(u8),
}

/// The retry depths, 1 to [`MAX_RETRY_CHAIN`].
fn retry_depths() -> impl Iterator<Item = u8> {
    (1..=MAX_RETRY_CHAIN).filter_map(|d| u8::try_from(d).ok())
}

/// What a well-signed cookie carries.
struct Decoded {
    series: SeriesId,
    token: [u8; TOKEN_LEN],
    kind: Kind,
}

impl RememberMe {
    /// Over `store`, signing cookies with a key derived from `secret` (at least [`MIN_SECRET_LEN`](crate::token::MIN_SECRET_LEN)
    /// bytes; the app secret is fine, the key has a label of its own).
    ///
    /// Errors: [`SecretError::TooShort`] for a secret shorter than [`MIN_SECRET_LEN`](crate::token::MIN_SECRET_LEN).
    pub fn new(store: Arc<dyn RememberStore>, secret: &[u8]) -> Result<Self, SecretError> {
        Ok(RememberMe {
            store,
            key: labeled_key(secret, KEY_LABEL)?,
            policy: RememberPolicy::default(),
            clock: Arc::new(SystemClock),
        })
    }

    /// Other lifetimes.
    pub fn with_policy(mut self, policy: RememberPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Another clock (tests; the app's).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn mac(&self, kind: Kind, message: &[u8]) -> [u8; MAC_LEN] {
        let mut m = self.key.clone();
        match kind {
            Kind::Plain => {}
            Kind::Retry(1) => m.update(RETRY),
            Kind::Retry(depth) => {
                m.update(RETRY);
                m.update(&[depth]);
            }
        }
        m.update(message);
        m.finalize().into_bytes().into()
    }

    fn encode_as(&self, kind: Kind, series: &SeriesId, token: &[u8; TOKEN_LEN]) -> CookieValue {
        let mut raw = [0u8; SERIES_LEN + TOKEN_LEN + MAC_LEN];
        raw[..SERIES_LEN].copy_from_slice(&series.0);
        raw[SERIES_LEN..SERIES_LEN + TOKEN_LEN].copy_from_slice(token);
        let mac = self.mac(kind, &raw[..SERIES_LEN + TOKEN_LEN]);
        raw[SERIES_LEN + TOKEN_LEN..].copy_from_slice(&mac);
        CookieValue::from_signed(URL_SAFE_NO_PAD.encode(raw))
    }

    fn encode(&self, series: &SeriesId, token: &[u8; TOKEN_LEN]) -> CookieValue {
        self.encode_as(Kind::Plain, series, token)
    }

    /// What a cookie value carries, if it is well-formed and signed by this key (as a plain or a retry
    /// cookie).
    fn decode(&self, value: &str) -> Option<Decoded> {
        if value.len() != REMEMBER_COOKIE_LEN {
            return None;
        }
        let mut raw = [0u8; SERIES_LEN + TOKEN_LEN + MAC_LEN];
        match URL_SAFE_NO_PAD.decode_slice(value.as_bytes(), &mut raw) {
            Ok(n) if n == raw.len() => {}
            _ => return None,
        }
        let (message, sig) = raw.split_at(SERIES_LEN + TOKEN_LEN);
        // Every kind is checked (constant time each), whichever matches.
        let mut kind = None;
        for k in std::iter::once(Kind::Plain).chain(retry_depths().map(Kind::Retry)) {
            if bool::from(self.mac(k, message).ct_eq(sig)) {
                kind = Some(k);
            }
        }
        let kind = kind?;
        let mut series = [0u8; SERIES_LEN];
        series.copy_from_slice(&message[..SERIES_LEN]);
        let mut token = [0u8; TOKEN_LEN];
        token.copy_from_slice(&message[SERIES_LEN..]);
        Some(Decoded {
            series: SeriesId(series),
            token,
            kind,
        })
    }

    /// The token a redemption of `token` rotates to: deterministic, so a retried redemption names the
    /// successor an earlier, possibly written, attempt made.
    fn successor(&self, series: &SeriesId, token: &[u8; TOKEN_LEN]) -> [u8; TOKEN_LEN] {
        let mut m = self.key.clone();
        m.update(SUCCESSOR);
        m.update(&series.0);
        m.update(token);
        m.finalize().into_bytes().into()
    }

    /// The cookie to send when a redemption of `cookie` failed in a way that may have written (the store
    /// call erred or timed out): a retry cookie, whose next redemption rotates the series whether or not
    /// that write happened (see the [module docs](super)). For a retry cookie that failed again, the
    /// retry cookie one depth further (same first token), whose redemption covers every combination of
    /// the failed attempts having written or not: a paused store runs queued redemptions in turn, a
    /// dropped link runs none. Past [`MAX_RETRY_CHAIN`] failures in a row, the same cookie. `None` for a
    /// value that is not a well-signed remember-me cookie.
    pub fn retry_cookie(&self, cookie: &str) -> Option<CookieValue> {
        let d = self.decode(cookie)?;
        let depth = match d.kind {
            Kind::Plain => 1,
            Kind::Retry(depth) => retry_depths().find(|&n| n > depth).unwrap_or(depth),
        };
        Some(self.encode_as(Kind::Retry(depth), &d.series, &d.token))
    }

    /// Start a series for `user` (the sign-in ticked "remember me"): its cookie and record.
    ///
    /// Errors: [`StoreError`] when the store fails; no series was started then.
    pub async fn issue<U: CachedUser>(
        &self,
        user: &U,
    ) -> Result<(CookieValue, SeriesRecord), StoreError> {
        let now = self.clock.now();
        let token = fresh_token();
        let record = SeriesRecord {
            series_id: SeriesId::generate_tagged(self.store.route_tag(&user.user_key())),
            user_key: user.user_key(),
            created_at: now,
            used_at: now,
            expires_at: now.saturating_add(self.policy.ttl),
            current_token: token_hash(&token),
            previous_token: None,
            auth_fingerprint: Fingerprint::of(user),
        };
        self.store.create_series(record.clone()).await?;
        Ok((self.encode(&record.series_id, &token), record))
    }

    /// Redeem a remember-me cookie (a request with no live session): see [`Redeemed`]. A forged, foreign
    /// or malformed value is `Unknown` without reaching the store.
    ///
    /// Errors: [`StoreError`] when the store fails (answer 503).
    pub async fn redeem(&self, cookie: &str) -> Result<Redeemed, StoreError> {
        let Some(d) = self.decode(cookie) else {
            return Ok(Redeemed::Unknown);
        };
        let series_id = d.series;
        // A plain cookie presents its token; a retry cookie of depth `n` presents the successor its `n`
        // failed attempts may have written in turn, with every token before it in that chain as the
        // alternates.
        let mut alternates = [None; MAX_RETRY_CHAIN];
        let mut presented = d.token;
        if let Kind::Retry(depth) = d.kind {
            for slot in alternates.iter_mut().take(usize::from(depth)) {
                *slot = Some(token_hash(&presented));
                presented = self.successor(&series_id, &presented);
            }
        }
        let next = self.successor(&series_id, &presented);
        let presented = token_hash(&presented);
        let now = self.clock.now();
        let plan = RedeemPlan {
            alternates,
            next_token: token_hash(&next),
            now,
            grace_until: now.saturating_add(self.policy.grace),
            expires_at: now.saturating_add(self.policy.ttl),
        };
        Ok(
            match self.store.redeem(&series_id, &presented, plan).await? {
                Redemption::Unknown => Redeemed::Unknown,
                Redemption::Rotated(series) => Redeemed::Rotated {
                    cookie: self.encode(&series.series_id, &next),
                    series,
                },
                Redemption::Grace(series) => Redeemed::Grace { series },
                Redemption::Theft { user_key } => {
                    tracing::warn!(series_id = %series_id.to_hex(), "a remember-me token was replayed after its series moved on: treating the cookie as stolen");
                    Redeemed::Theft { user_key }
                }
            },
        )
    }

    /// Sign-out: end the series the cookie names (its user key, if it existed).
    ///
    /// Errors: [`StoreError`] when the store fails.
    pub async fn forget(&self, cookie: &str) -> Result<Option<String>, StoreError> {
        match self.decode(cookie) {
            Some(d) => self.store.delete_series(&d.series).await,
            None => Ok(None),
        }
    }

    /// Revoke-all, password change, theft: end every series of `user_key`; with `except`, all but that
    /// one ("sign out everywhere else" keeps the asking browser's series).
    ///
    /// Errors: [`StoreError`] when the store fails.
    pub async fn forget_user(
        &self,
        user_key: &str,
        except: Option<&SeriesId>,
    ) -> Result<usize, StoreError> {
        self.store.delete_user_series(user_key, except).await
    }

    /// The series id a cookie value names, if it is well-formed and signed by this key (no store access).
    pub fn series_of(&self, cookie: &str) -> Option<SeriesId> {
        self.decode(cookie).map(|d| d.series)
    }

    /// The lifetimes in force.
    pub fn policy(&self) -> &RememberPolicy {
        &self.policy
    }

    /// End one series by id (a sessions page); its user key if it existed.
    ///
    /// Errors: [`StoreError`] when the store fails.
    pub async fn forget_series(&self, series_id: &SeriesId) -> Result<Option<String>, StoreError> {
        self.store.delete_series(series_id).await
    }

    /// The live series of `user_key`, oldest first (to list beside the sessions).
    ///
    /// Errors: [`StoreError`] when the store fails.
    pub async fn series(&self, user_key: &str) -> Result<Vec<SeriesRecord>, StoreError> {
        self.store.series(user_key, self.clock.now()).await
    }

    /// Remove series past their deadline.
    ///
    /// Errors: [`StoreError`] when the store fails.
    pub async fn sweep(&self) -> Result<usize, StoreError> {
        self.store.sweep_series(self.clock.now()).await
    }
}
