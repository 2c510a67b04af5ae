//! What every handler can reach.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use keycard::password::PasswordHasher;
use keycard::CredentialsCache;
use keycard_axum::ClientIpSource;

use crate::clock::AppClock;
use crate::domain::cache::NearView;
use crate::domain::db::Db;
use crate::domain::mail::Mail;
use crate::domain::throttle::{LoginThrottle, RateLimit};
use crate::domain::users::User;
use crate::web::flash::Flash;

/// The router's state: one `Arc`, so that the copy axum clones for every request is one reference-count
/// bump (cloning the fields themselves made about 24 allocations a request: BENCHMARKS.md, "The hot path's
/// last tenth"). Handlers read the fields through it (`state.db`).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    /// The state over these services.
    pub fn new(services: Services) -> Self {
        AppState(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What every handler can reach, behind [`AppState`].
#[derive(Debug)]
pub struct Services {
    /// The users database.
    pub db: Db,
    /// The credentials cache (for the plan job and admin paths; handlers go through the auth handle).
    pub cache: CredentialsCache<User>,
    /// Flash messages.
    pub flash: Arc<Flash>,
    /// Password hashing (argon2id, a bounded number at a time).
    pub hasher: PasswordHasher,
    /// Sign-in throttle ([`crate::domain::throttle`]).
    pub throttle: LoginThrottle,
    /// Registrations per client address ([`crate::domain::throttle::registration_limit`]).
    pub registration_limit: RateLimit,
    /// Requests for mail per client address ([`crate::domain::throttle::mail_limits`]).
    pub mail_per_client: RateLimit,
    /// Requests for mail per typed address.
    pub mail_per_address: RateLimit,
    /// The accounts-by-email flows (`keycard::inbox`), over the session store's one-time tokens.
    pub inbox: keycard::inbox::InboxFlows,
    /// The mail queue and the origin links start with.
    pub mail: Mail,
    /// The development mailbox, shown at `GET /dev/mailbox` (no `SMTP_URL`, a loopback address).
    pub dev_mailbox: Option<keycard_mail::DevMailbox>,
    /// The app's clock.
    pub clock: AppClock,
    /// Length of a pro-trial.
    pub trial: Duration,
    /// Where the client address comes from (the session layer is configured with the same).
    pub client_ip: ClientIpSource,
    /// The near cache in front of the credentials cache, if any (`GET /healthz/near`).
    pub near: Option<NearView>,
    /// Second factors: their store, the pending logins between password and second step, TOTP,
    /// recovery codes.
    pub second: SecondFactors,
    /// Identity providers (`OIDC_*`) and the linked identities.
    pub oidc: Providers,
}

/// What the identity-provider pages use ([`crate::web::routes::oidc`]).
#[derive(Clone)]
pub struct Providers {
    /// The providers and the flows (keycard-oidc).
    pub oidc: keycard_oidc::Oidc,
    /// The linked identities, with the users.
    pub identities: Arc<dyn keycard::identity::IdentityStore>,
    /// Whether the flow cookie is `Secure`.
    pub cookie_secure: bool,
    /// Flows begun per client address ([`crate::domain::throttle::oidc_start_limit`]).
    pub starts: RateLimit,
}

/// What the second-factor pages use ([`crate::web::second_factor`]).
#[derive(Clone)]
pub struct SecondFactors {
    /// The factor records, with the users ([`crate::domain::factors`]).
    pub factors: Arc<dyn keycard::factor::FactorStore>,
    /// Logins whose password was right, waiting for the second step (in the session store).
    pub pending: keycard::factor::PendingLogins,
    /// The cookie that carries a pending login to `/session/two-factor`.
    pub cookie: keycard_axum::PendingLoginCookie,
    /// Authenticator-app codes.
    pub totp: keycard_totp::Totp,
    /// Recovery codes.
    pub recovery: keycard::factor::RecoveryCodes,
    /// Passkeys: registration, sign-in with no email typed, the second step ([`crate::domain::passkeys`]).
    pub passkeys: keycard_passkey::Passkeys,
    /// Passkey sign-ins begun per client address ([`crate::domain::throttle::passkey_start_limit`]).
    pub passkey_starts: RateLimit,
}

/// What the flash extractor reads ([`crate::web::flash::IncomingFlash`]).
impl FromRef<AppState> for Arc<Flash> {
    fn from_ref(state: &AppState) -> Self {
        state.flash.clone()
    }
}

/// What the client-address extractor reads ([`crate::web::client_ip::ClientIp`]).
impl FromRef<AppState> for ClientIpSource {
    fn from_ref(state: &AppState) -> Self {
        state.client_ip
    }
}

impl std::fmt::Debug for SecondFactors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondFactors")
            .field("totp", &self.totp)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Providers")
            .field("oidc", &self.oidc)
            .finish_non_exhaustive()
    }
}
