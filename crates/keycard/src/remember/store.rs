//! [`RememberStore`]: where remember-me series live, and the one atomic step a redemption needs.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::store::StoreError;
pub use crate::token::SeriesId;
use crate::token::{RouteTag, TokenHash};
use crate::user::Fingerprint;

/// One remember-me series: a long-lived sign-in a browser keeps, redeemable for a new session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRecord {
    /// The stable id.
    pub series_id: SeriesId,
    /// Whose.
    pub user_key: String,
    /// When the user chose "remember me".
    pub created_at: Timestamp,
    /// When it was last redeemed (or created).
    pub used_at: Timestamp,
    /// It dies at this instant unless redeemed before (each redemption moves it).
    pub expires_at: Timestamp,
    /// `SHA-256` of the token the cookie carries now.
    pub current_token: TokenHash,
    /// The token the last redemption replaced, and until when it still counts as a concurrent tab.
    pub previous_token: Option<(TokenHash, Timestamp)>,
    /// The user's credential fingerprint when the series began: a series outlives no password change.
    pub auth_fingerprint: Option<Fingerprint>,
}

/// What one redemption did ([`RememberStore::redeem`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Redemption {
    /// No live series by that id: nothing happened.
    Unknown,
    /// The current token (or a retry cookie's alternate): the series now carries `next`, the token that
    /// was current is its previous one for the grace window. Sign the user in with a new session and send the new cookie.
    Rotated(SeriesRecord),
    /// The token this series replaced a moment ago (another tab redeemed it first): nothing changed.
    /// Serve the request as the user; the winner's response carries the new cookies.
    Grace(SeriesRecord),
    /// A token the series moved on from, outside any grace window: the cookie was copied. The series is
    /// deleted; end the user's sessions too.
    Theft {
        /// Whose series it was.
        user_key: String,
    },
}

/// How many failed redemptions in a row one retry cookie covers ([`RememberMe::retry_cookie`](super::RememberMe::retry_cookie)):
/// its redemption presents the token it started from and each successor those attempts may have written.
pub const MAX_RETRY_CHAIN: usize = 3;

/// What a redemption may write: the successor token and the deadlines it sets.
///
/// `alternates` are set for a **retry cookie** only ([`RememberMe::retry_cookie`](super::RememberMe::retry_cookie)):
/// a browser whose earlier redemptions failed (each may or may not have written its rotation) presents
/// the successor the last of those writes would have made (`presented`) together with every token before
/// it in the chain (`alternates`, oldest first); the series' current token matching any of them is a
/// rotation, the previous one matching any of them (inside the window) is grace. For every other cookie
/// they are all `None`.
#[derive(Debug, Clone, Copy)]
pub struct RedeemPlan {
    /// The tokens a retried redemption may have replaced, which also count as presented (see above).
    pub alternates: [Option<TokenHash>; MAX_RETRY_CHAIN],
    /// The next token's hash.
    pub next_token: TokenHash,
    /// The caller's now.
    pub now: Timestamp,
    /// The replaced token counts as a concurrent tab until then.
    pub grace_until: Timestamp,
    /// The series' new deadline.
    pub expires_at: Timestamp,
}

impl RedeemPlan {
    /// Whether `token` is one of the [`alternates`](Self::alternates).
    pub fn is_alternate(&self, token: &TokenHash) -> bool {
        self.alternates.iter().flatten().any(|t| t == token)
    }
}

/// Remember-me series, kept where every node sees them.
///
/// [`MemoryRemember`](super::MemoryRemember) for one process; `keycard-store-tests`' `remember_suite!`
/// checks an implementation. `redeem` must be **atomic**: of any number of concurrent redemptions of one
/// token, exactly one rotates; the others see the grace token.
#[async_trait::async_trait]
pub trait RememberStore: Send + Sync + 'static {
    /// Store a new series.
    async fn create_series(&self, series: SeriesRecord) -> Result<(), StoreError>;

    /// Redeem `presented` for the series `series_id` (see [`Redemption`]); a series past its deadline is
    /// `Unknown`.
    async fn redeem(
        &self,
        series_id: &SeriesId,
        presented: &TokenHash,
        plan: RedeemPlan,
    ) -> Result<Redemption, StoreError>;

    /// Delete one series; its user key if it existed.
    async fn delete_series(&self, series_id: &SeriesId) -> Result<Option<String>, StoreError>;

    /// Delete every series of `user_key` but `except` (the series of the browser that asked: "sign out
    /// everywhere else"); how many.
    async fn delete_user_series(
        &self,
        user_key: &str,
        except: Option<&SeriesId>,
    ) -> Result<usize, StoreError>;

    /// The live series of `user_key`, oldest first.
    async fn series(&self, user_key: &str, now: Timestamp)
        -> Result<Vec<SeriesRecord>, StoreError>;

    /// Remove series past their deadline; how many.
    async fn sweep_series(&self, now: Timestamp) -> Result<usize, StoreError>;

    /// The [`RouteTag`] to put in the series ids of `user_key`, for a store that shards by user (the Redis
    /// store keeps a user's series in the user's slot, and finds it from the id alone). `None` (the
    /// default): ids are all random.
    fn route_tag(&self, _user_key: &str) -> Option<RouteTag> {
        None
    }
}

/// The remember-me lifetimes.
///
/// | setting | default | meaning |
/// |---|---|---|
/// | `ttl` | 30 days | a series dies this long after its last redemption (Pow's default) |
/// | `grace` | 10 s | a replaced token still counts as a concurrent tab this long: a browser restoring its tabs sends them within seconds |
/// | `grace_uses` | 16 | and answers at most this many requests in that window |
///
/// A request served in the grace window is read-only for identity (keycard-axum refuses every sign-in,
/// sync, rotation and sign-out made from it), so a copied cookie replayed there can read as the user for
/// a few seconds and a few requests, never take over the account (issue 18, V3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RememberPolicy {
    /// A series dies this long after its last redemption (default 30 days, Pow's).
    pub ttl: Duration,
    /// A replaced token still counts as a concurrent tab this long (default [`DEFAULT_REMEMBER_GRACE`]).
    pub grace: Duration,
    /// How many requests a replaced token may answer in its grace window (default
    /// [`DEFAULT_REMEMBER_GRACE_USES`]); later ones are anonymous.
    pub grace_uses: u32,
}

/// The remember-me grace window by default: seconds, like a browser restoring its tabs.
pub const DEFAULT_REMEMBER_GRACE: Duration = Duration::from_secs(10);

/// How many requests a replaced remember-me token may answer in its grace window by default.
pub const DEFAULT_REMEMBER_GRACE_USES: u32 = 16;

impl Default for RememberPolicy {
    fn default() -> Self {
        RememberPolicy {
            ttl: Duration::from_secs(30 * 24 * 3600),
            grace: DEFAULT_REMEMBER_GRACE,
            grace_uses: DEFAULT_REMEMBER_GRACE_USES,
        }
    }
}
