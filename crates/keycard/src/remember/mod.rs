//! Remember-me: a long-lived cookie that signs a browser back in when its session has ended.
//!
//! # The model
//! A sign-in that ticks "remember me" starts a **series** ([`RememberMe::issue`]): a stable
//! [`SeriesId`] and a one-time token, both in one signed cookie (its own key, derived from the app secret
//! under a label); the store keeps only the token's SHA-256. A request with no live session but a
//! remember-me cookie **redeems** it ([`RememberMe::redeem`]), and the store decides in one atomic step
//! ([`RememberStore::redeem`]):
//!
//! | the presented token is | answer | then |
//! |---|---|---|
//! | the series' current one | [`Redeemed::Rotated`] | a new token (the old one is the previous, for a grace window); sign in with a new session, send the new cookie |
//! | the one it replaced, inside the grace window | [`Redeemed::Grace`] | another tab won; serve this request as the user, set no cookie: **one** new session for any number of tabs |
//! | any older one | [`Redeemed::Theft`] | the cookie was copied and used by two browsers: the series is deleted; end every session and series of the user |
//! | anything else (forged, expired, forgotten) | [`Redeemed::Unknown`] | anonymous; clear the cookie |
//!
//! This is Barry Jaspan's "improved persistent login cookie" (Pow's `PowPersistentSession` without its
//! lost-session race, pow #739: concurrent tabs get the grace answer, not a sign-out). A series outlives
//! no password change: it records the user's credential fingerprint ([`Redeemed::still_valid`]), and the
//! app ends a user's series with their sessions ([`RememberMe::forget_user`]) on revoke-all, password
//! change and theft; sign-out ends its own ([`RememberMe::forget`]). A session created from a series has
//! no fresh proof of password (`authenticated_at` is not set): sudo mode asks for the password again.
//!
//! **With sessions.** A cache built with [`Builder::remember`](crate::Builder::remember) ties series to
//! sessions: [`CredentialsCache::create_and_remember`](crate::CredentialsCache::create_and_remember)
//! starts a series with a session that belongs to it ([`SessionRecord::remember_series`](crate::SessionRecord::remember_series)),
//! [`CredentialsCache::redeem_remember_me`](crate::CredentialsCache::redeem_remember_me) turns a cookie
//! into a new session of the series (or ends everything on theft), "log out everywhere (else)" ends
//! series too, and [`CredentialsCache::end_series`](crate::CredentialsCache::end_series) ends a series
//! with its sessions. keycard-axum's `SessionLayer::remember_me` does the redemption for every request
//! that has no live session.
//!
//! **A redemption that may have written.** A store call that fails (a timeout against a paused Redis,
//! a lost connection) may still have rotated the series. Successor tokens are therefore deterministic
//! (an HMAC of the token they replace, under the cookie key), and a failed redemption answers a
//! **retry cookie** ([`RememberMe::retry_cookie`]): the same token, signed as "my redemption may have
//! been written". Redeeming it presents both the successor that write would have made and the token
//! itself ([`RedeemPlan::alternates`]), so the retry rotates whichever of the two the series holds, and
//! a store stall is never mistaken for theft (issue 18, W13). A retry that fails again answers a retry
//! cookie of the next depth: still the first token, signed with how many attempts may have written
//! (up to [`MAX_RETRY_CHAIN`]), whose redemption presents that token and each successor those attempts
//! could have made, so a chain of failures, whichever of them wrote, still signs the browser back in
//! (issue 24: the soak found that two failures in a row that never reached the store were taken for
//! theft). Past that depth the retry cookie stays as it is. Only a response to a request that presented
//! the token ever carries its retry cookie.
//!
//! Stores: [`MemoryRemember`], the SQL stores (keycard-sqlx, table `keycard_remember`), each through
//! `keycard-store-tests`' `remember_suite!` and `remember_sessions_suite!`.

mod memory;
mod service;
mod store;

pub use memory::MemoryRemember;
pub use service::{Redeemed, RememberMe, REMEMBER_COOKIE_LEN};
pub use store::{
    RedeemPlan, Redemption, RememberPolicy, RememberStore, SeriesId, SeriesRecord,
    DEFAULT_REMEMBER_GRACE, DEFAULT_REMEMBER_GRACE_USES, MAX_RETRY_CHAIN,
};
