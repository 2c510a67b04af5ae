//! What keycard needs to know about the app's user type.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The app's user, as the credentials cache keeps it.
///
/// The cache holds **one copy per user** (keyed by [`user_key`](CachedUser::user_key)) that every session of
/// that user reads. Stores that leave the process (Redis, SQL) serialize it with serde; the memory store keeps
/// the value itself behind an `Arc`.
///
/// ```
/// use keycard::CachedUser;
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct User { id: i64, email: String, plan: String, updated_at_ms: u64 }
///
/// impl CachedUser for User {
///     fn user_key(&self) -> String { self.id.to_string() }
///     // Optional: lets the cache refuse to replace a newer copy with an older one.
///     fn version(&self) -> Option<u64> { Some(self.updated_at_ms) }
/// }
/// ```
pub trait CachedUser: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// A stable key for this user (its primary key, usually). Two values with the same key are the same user.
    fn user_key(&self) -> String;

    /// A monotonic version of this user's row (a counter, or `updated_at` in milliseconds), if the app has one.
    ///
    /// When both the cached copy and an incoming copy carry a version, the incoming copy replaces the cached
    /// one only if its version is greater than or equal to the cached one. `None` means "always replace".
    fn version(&self) -> Option<u64> {
        None
    }
}

/// Whether a copy with version `incoming` may replace a cached copy with version `cached`.
pub fn may_replace(cached: Option<u64>, incoming: Option<u64>) -> bool {
    match (cached, incoming) {
        (Some(c), Some(i)) => i >= c,
        _ => true,
    }
}
