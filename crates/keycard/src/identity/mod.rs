//! Linked identities: an account at an identity provider (an OpenID Connect issuer, named by the app)
//! that signs in as one of the app's users.
//!
//! # The model
//! An identity is the pair **(provider, subject)**: the name the app gave the provider (`google`,
//! `keycloak`) and the provider's stable, never reassigned identifier of the account there (the ID
//! token's `sub`). It points at exactly one user; a user may have any number of identities (several
//! providers, several accounts at one). Emails are not identities: a provider's email can change hands
//! or go unverified, `sub` cannot. Identities are **durable, with the users** ([`IdentityStore`]:
//! keycard-sqlx's `{prefix}identities` table, or the app's own), unlike the short-lived state of a
//! sign-in in progress (keycard-oidc keeps that in the session store's one-time records).
//!
//! | invariant | kept by |
//! |---|---|
//! | one user per (provider, subject) | the store: [`IdentityStore::link`] refuses a pair that is linked ([`LinkOutcome::Taken`]), atomically (a unique key) |
//! | a user is never left with no way to sign in | [`can_unlink`], checked by the app before [`IdentityStore::unlink`] |
//! | an identity names its user only | `unlink` takes the user key: one user never removes another's identity |
//!
//! [`MemoryIdentities`] for tests and one process; `keycard-store-tests`' `identity_suite!` checks an
//! implementation.

mod memory;
mod store;

pub use memory::MemoryIdentities;
pub use store::{can_unlink, IdentityRecord, IdentityStore, LinkOutcome};
