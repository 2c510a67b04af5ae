//! # keycard-oidc: sign in with OpenID Connect providers
//!
//! **Your users sign in with Google, Microsoft Entra, Keycloak, Okta or any OpenID Connect provider,
//! and get the same keycard session a password sign-in gives** (`Auth::create`: the cached user,
//! `put_user`, revocation, events, sudo mode, audit). This crate runs the authorization code flow with
//! PKCE on [openidconnect](https://docs.rs/openidconnect) and keeps what it needs where keycard keeps
//! everything else: a flow's state in the session store's one-time records
//! ([`OneTimeStore`](keycard::onetime::OneTimeStore)), the linked identities with the users
//! ([`IdentityStore`](keycard::identity::IdentityStore)).
//!
//! # The flow
//! | step | the app's route | this crate |
//! |---|---|---|
//! | the user presses "Sign in with {name}" | `POST /auth/oidc/{key}` | [`Oidc::start`]: discovery (first use), a PKCE verifier and a nonce in a one-time record whose signed token is the `state`; the provider's URL, and a browser binding for a cookie |
//! | the provider sends the browser back | `GET /auth/oidc/{key}/callback` | [`Oidc::finish`]: consumes the flow (single use), checks the browser binding and the provider, takes the provider's `error`, or exchanges the code (with the verifier) and verifies the ID token: signature through the provider's JWKS (refetched once on an unknown key: rotation), `iss`, `aud`, `exp`, `nonce` |
//! | who is it? | | [`Oidc::sign_in`]: the linking policy ([`SignIn`]) |
//! | sign in | | the app: `Auth::create(user)`, fresh for sudo mode |
//!
//! Several providers at once, each named by the app ([`ProviderConfig`]); the lowercase name is the
//! provider's key in URLs and in identities.
//!
//! # The linking policy
//! An identity is (provider, `sub`), never an email. The first sign-in with an unknown identity:
//! - where **no account** has the provider's email: an account is created, **only** if the provider
//!   is trusted for email ([`ProviderConfig::trust_email`]) and the token says `email_verified: true`
//!   ([`SignIn::CreateAccount`]); otherwise nothing is created ([`SignIn::NoTrustedEmail`]);
//! - where **an account has that email**: the identity is linked to it **only** if the provider is
//!   trusted for email, the token says `email_verified: true`, **and** the account's email is
//!   confirmed; otherwise nothing is created and the user is asked to sign in with their password and
//!   link the provider from settings ([`SignIn::PasswordFirst`]).
//!
//! Why: an email the provider did not verify is a claim anyone can make, and an account whose email
//! nobody confirmed may have been registered by someone who does not own the address. Linking or
//! creating on either would let one person take another's account ("pre-account hijacking"): an
//! attacker registers the victim's address first, or signs in with a provider that lets them type any
//! address. Requiring both sides to be proven costs the rare user one password sign-in.
//!
//! Settings: [`Oidc::identities`], link ([`Intent::Link`], then [`Oidc::link`]) and [`Oidc::unlink`]
//! (both in sudo mode); the last way to sign in (no password, no passkey, one identity) cannot be
//! removed ([`keycard::identity::can_unlink`]).
//!
//! # Example
//! ```no_run
//! use std::sync::Arc;
//! use keycard::identity::MemoryIdentities;
//! use keycard::onetime::MemoryOneTime;
//! use keycard_oidc::{Callback, ExistingAccount, Intent, Oidc, ProviderConfig, SignIn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let google = ProviderConfig::new(
//!     "Google",
//!     "https://accounts.google.com",
//!     "1234.apps.googleusercontent.com",
//!     "https://app.example/auth/oidc/google/callback",
//! )
//! .with_secret("from your configuration")
//! .trust_email(true);
//! let oidc = Oidc::new(
//!     vec![google],
//!     Arc::new(MemoryOneTime::new()),     // in production: the session store (SQL, Redis)
//!     Arc::new(MemoryIdentities::new()),  // in production: keycard-sqlx's store, or your own
//!     &[7u8; 64],                         // the app secret
//! )?;
//!
//! // POST /auth/oidc/google: a cookie with `started.browser_binding`, then a redirect.
//! let started = oidc.start("google", Intent::SignIn).await?;
//! # let _ = started.authorize_url;
//!
//! // GET /auth/oidc/google/callback?state=…&code=…
//! let verified = oidc
//!     .finish("google", Callback {
//!         state: Some("…"), code: Some("…"), error: None,
//!         browser_binding: Some(&started.browser_binding),
//!     })
//!     .await?;
//! let account = None::<ExistingAccount>; // the app's users table, by `verified.email`
//! match oidc.sign_in(&verified, account).await? {
//!     SignIn::User { user_key, .. } => { /* load the user; Auth::create */ }
//!     SignIn::CreateAccount { email } => { /* insert; oidc.link_new_account(&verified, &key); Auth::create */ }
//!     SignIn::PasswordFirst | SignIn::NoTrustedEmail => { /* a page: sign in, then link from settings */ }
//!     _ => {}
//! }
//! # Ok(()) }
//! ```
//!
//! # Errors, logs and audit
//! Every failure is an [`OidcError`] (its table says what the browser sees): nothing is created and
//! nobody signed in. Audit events (`tracing` target `keycard::audit`, the account as keycard's salted
//! hash): `oidc.signed_in`, `oidc.linked` (`how`: `sign_up`, `email`, `settings`), `oidc.unlinked`,
//! `oidc.password_first` (`reason`), `oidc.refused` (`reason`: [`OidcError::code`]; WARN for what an
//! attacker causes). No code, token, `state`, nonce, PKCE verifier or client secret is ever logged,
//! and no [`Debug`] of this crate shows one. openidconnect and oauth2 write no logs of their own.
//!
//! # What stays the app's job
//! - **The cookie** of [`Started::browser_binding`]: `HttpOnly`, `Secure`, `SameSite=Lax` (it must come
//!   back with the provider's top-level redirect), `Max-Age` [`FLOW_TTL`], a path covering the
//!   callback.
//! - **CSRF** on the `POST` that starts a flow; **sudo mode** before a link or an unlink.
//! - **A rate limit** in front of [`Oidc::start`] (it writes a record for anyone who asks).
//! - **The user**: look it up by email, create it, `Auth::create`.
//!
//! # Why openidconnect
//! [openidconnect](https://docs.rs/openidconnect) is the maintained OpenID Connect relying-party
//! library of the Rust ecosystem (on the `oauth2` crate, same author): discovery, PKCE, and ID token
//! verification as the specification's steps say (issuer, audience and `azp`, expiry, nonce, the
//! algorithms the provider announced, JWKS keys by `kid`), with strong types for every secret. Its
//! reqwest client is the workspace's reqwest 0.12, with rustls.

mod audit;
mod config;
mod error;
mod flow;
mod linking;
mod oidc;
mod provider;
mod types;
mod verify;

pub use config::{ProviderConfig, DEFAULT_SCOPES, FLOW_TTL};
pub use error::OidcError;
pub use linking::{ExistingAccount, SignIn};
pub use oidc::{Oidc, HTTP_TIMEOUT};
pub use types::{Callback, Intent, ProviderInfo, Started, Verified};
