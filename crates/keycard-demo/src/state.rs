//! What every handler can reach.

use std::sync::Arc;
use std::time::Duration;

use keycard::password::PasswordHasher;
use keycard::CredentialsCache;

use crate::clock::AppClock;
use crate::csrf::Csrf;
use crate::db::Db;
use crate::flash::Flash;
use crate::throttle::LoginThrottle;
use crate::users::User;

/// The router's state. Cloning is a handful of reference-count bumps.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The users database.
    pub db: Db,
    /// The credentials cache (for the plan job and admin paths; handlers go through the auth handle).
    pub cache: CredentialsCache<User>,
    /// Password hashing (argon2id, a bounded number at a time).
    pub hasher: PasswordHasher,
    /// CSRF tokens.
    pub csrf: Arc<Csrf>,
    /// Flash messages.
    pub flash: Arc<Flash>,
    /// Sign-in throttle.
    pub throttle: Arc<LoginThrottle>,
    /// The app's clock.
    pub clock: AppClock,
    /// Length of a pro-trial.
    pub trial: Duration,
}
