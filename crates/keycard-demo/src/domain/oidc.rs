//! Sign-in with identity providers (keycard-oidc): the providers of the configuration (`OIDC_*`), their
//! flows in the session store's one-time records, the linked identities with the users
//! ([`crate::domain::factors::UserRecords`]), and the accounts a provider sign-in creates.
//!
//! An account created by a provider sign-in has no password (an empty `password_hash`, which no
//! password matches) and its email confirmed (the provider vouched for it, and the app trusts it for
//! that: `OIDC_TRUST_EMAIL`). Its owner signs in with the provider, or adds a password through "Forgot
//! your password?".

use std::sync::Arc;

use keycard::identity::IdentityStore;
use keycard::onetime::OneTimeStore;
use keycard_oidc::{Oidc, OidcError, ProviderConfig};

use crate::clock::AppClock;
use crate::config::Config;
use crate::domain::db::Db;
use crate::domain::users::{self, CreateUserError, User};

/// The providers of `config`, over `one_time` and `identities`, keyed by the app `secret`.
///
/// Errors: [`OidcError::Config`] (a provider's URL or name that cannot be used).
pub fn build(
    config: &Config,
    one_time: Arc<dyn OneTimeStore>,
    identities: Arc<dyn IdentityStore>,
    secret: &[u8],
    clock: AppClock,
) -> Result<Oidc, OidcError> {
    let providers = config
        .oidc
        .iter()
        .map(|p| {
            let key = p.name.to_lowercase();
            let mut c = ProviderConfig::new(
                &p.name,
                &p.issuer,
                &p.client_id,
                config.oidc_redirect_uri(&key),
            )
            .trust_email(p.trust_email);
            if let Some(secret) = &p.client_secret {
                c = c.with_secret(secret);
            }
            c
        })
        .collect();
    Ok(Oidc::new(providers, one_time, identities, secret)?.with_clock(Arc::new(clock)))
}

/// Create the account of a first provider sign-in: `email` confirmed now, no password.
pub async fn create_account(db: &Db, email: &str, now_secs: i64) -> Result<User, CreateUserError> {
    users::create_confirmed(db, email, users::NO_PASSWORD, now_secs).await
}
