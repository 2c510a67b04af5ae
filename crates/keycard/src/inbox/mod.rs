//! Accounts by email: confirmation, password reset, sign-in by link or code, and email change, each a
//! [`Flow`] over one [one-time token](crate::onetime) with its policy in one place.
//!
//! # The model
//! A flow **issues** a token for a user ([`InboxFlows::issue`], [`InboxFlows::issue_email_change`]): a
//! link to mail (and, for sign-in, a code to type instead), bound to what must not change before it is
//! used: the user's email, the address the message goes to, and the user's credential fingerprint. A
//! new token of a flow supersedes the user's older ones. The link opens a page that **checks** it
//! ([`InboxFlows::check`]: mail scanners fetch links, so a GET never consumes) and shows one button; the
//! button's POST **redeems** it ([`InboxFlows::redeem`]): consumed (single use, one winner), the user
//! loaded again through the app, and the binding checked against that user. Every way a token can be
//! wrong (forged, used, expired, superseded, the user gone, the email or the password changed since)
//! is one answer, [`Redeemed::Invalid`]: say "this link is no longer valid" and offer a new one.
//!
//! | flow | lifetime | code | after a redemption the app… |
//! |---|---|---|---|
//! | [`Flow::ConfirmEmail`] | 7 days | — | marks the user confirmed |
//! | [`Flow::ResetPassword`] | 1 hour | — | sets the new password (checked by `PasswordPolicy` **before** redeeming); the new credential fingerprint ends every session, series and other reset link |
//! | [`Flow::SignIn`] | 15 min (the code: 10 min, 5 guesses) | 6 digits | signs the user in (`Auth::create`: a fresh proof for sudo mode) and marks the address confirmed |
//! | [`Flow::ChangeEmail`] | 7 days | — | sets the new address (the link went there), tells the old one |
//!
//! These follow phx.gen.auth's and Pow's lifetimes ([`InboxPolicy`]). What stays the app's: finding
//! the user by email, sending the message (keycard-mail's queue: never blocks or changes a response),
//! answering the same page whether or not an address has an account, sudo mode before an email change,
//! and throttling requests for mail.

mod binding;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use binding::Binding;

use crate::clock::{Clock, Timestamp};
use crate::onetime::{CodeRedemption, IssueRequest, OneTimeStore, OneTimeTokens, Purpose};
use crate::store::StoreError;
use crate::token::SecretError;
use crate::user::{CachedUser, Fingerprint};

/// A user with an email address: what the inbox flows bind tokens to.
pub trait InboxUser: CachedUser {
    /// The user's email, as the app stores it (normalized: trimmed, lowercased domain or whole).
    fn email(&self) -> &str;
}

/// One of the flows (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Flow {
    /// Confirm the address the account was registered with.
    ConfirmEmail,
    /// Set a new password without the old one.
    ResetPassword,
    /// Sign in with a link or a code, no password.
    SignIn,
    /// Move the account to a new address.
    ChangeEmail,
}

const CONFIRM: Purpose = Purpose::new("confirm_email");
const RESET: Purpose = Purpose::new("reset_password");
const SIGN_IN: Purpose = Purpose::new("sign_in");
const SIGN_IN_CODE: Purpose = Purpose::new("sign_in_code");
const CHANGE: Purpose = Purpose::new("change_email");

impl Flow {
    /// A stable name: `confirm_email`, `reset_password`, `sign_in`, `change_email`.
    pub fn as_str(self) -> &'static str {
        self.purpose().as_str()
    }

    fn purpose(self) -> Purpose {
        match self {
            Flow::ConfirmEmail => CONFIRM,
            Flow::ResetPassword => RESET,
            Flow::SignIn => SIGN_IN,
            Flow::ChangeEmail => CHANGE,
        }
    }
}

/// How long each flow's tokens live, and how many guesses a code gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboxPolicy {
    /// A confirmation link: 7 days.
    pub confirm_email: Duration,
    /// A reset link: 1 hour.
    pub reset_password: Duration,
    /// A sign-in link: 15 minutes.
    pub sign_in: Duration,
    /// A sign-in code: 10 minutes.
    pub sign_in_code: Duration,
    /// Guesses of a sign-in code: 5.
    pub code_attempts: u32,
    /// An email-change link: 7 days.
    pub change_email: Duration,
}

impl Default for InboxPolicy {
    fn default() -> Self {
        InboxPolicy {
            confirm_email: Duration::from_secs(7 * 24 * 3600),
            reset_password: Duration::from_secs(3600),
            sign_in: Duration::from_secs(15 * 60),
            sign_in_code: Duration::from_secs(10 * 60),
            code_attempts: 5,
            change_email: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl InboxPolicy {
    fn ttl(&self, flow: Flow) -> Duration {
        match flow {
            Flow::ConfirmEmail => self.confirm_email,
            Flow::ResetPassword => self.reset_password,
            Flow::SignIn => self.sign_in,
            Flow::ChangeEmail => self.change_email,
        }
    }
}

/// A message to send: put `link` in an absolute URL of the app (on a line of its own in the text part),
/// and `code` where there is one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InboxMessage {
    /// Which flow.
    pub flow: Flow,
    /// Where to send it: the user's email, or the new address of an email change.
    pub to: String,
    /// The signed token for the link (URL-safe).
    pub link: String,
    /// The link stops working then.
    pub link_expires_at: Timestamp,
    /// The sign-in code (six digits), when the flow has one.
    pub code: Option<String>,
    /// The code stops working then.
    pub code_expires_at: Option<Timestamp>,
}

/// What a redemption found ([`InboxFlows::redeem`], [`InboxFlows::redeem_code`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Redeemed<U> {
    /// The token was good and is now used up. `sent_to` is the address the message went to (for an
    /// email change: the new address).
    Valid {
        /// The user as the app's loader read it just now.
        user: U,
        /// The address the token was sent to.
        sent_to: String,
    },
    /// A wrong code; `attempts_left` more are allowed.
    WrongCode {
        /// Guesses left.
        attempts_left: u32,
    },
    /// Not a good token: forged, used, expired, superseded, of another flow, or the user changed (gone,
    /// another email, other credentials) since it was issued. One answer for all of them.
    Invalid,
}

/// A redemption that could not finish: the store or the app's user loader failed (answer 503). The
/// token may be consumed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The app's user loader failed.
    #[error("loading the user failed: {0}")]
    Load(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The inbox flows over a [`OneTimeStore`] (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct InboxFlows {
    tokens: OneTimeTokens,
    policy: InboxPolicy,
}

impl InboxFlows {
    /// Over `store`, with keys derived from `secret` (the app secret; labels of their own) and the
    /// default [`InboxPolicy`].
    ///
    /// Errors: [`SecretError::TooShort`].
    pub fn new(store: Arc<dyn OneTimeStore>, secret: &[u8]) -> Result<Self, SecretError> {
        Ok(InboxFlows {
            tokens: OneTimeTokens::new(store, secret)?,
            policy: InboxPolicy::default(),
        })
    }

    /// Other lifetimes.
    pub fn with_policy(mut self, policy: InboxPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Another clock (tests; the app's).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.tokens = self.tokens.with_clock(clock);
        self
    }

    /// The lifetimes in force.
    pub fn policy(&self) -> &InboxPolicy {
        &self.policy
    }

    /// Issue `flow`'s token for `user`, to their email ([`Flow::ChangeEmail`]: use
    /// [`issue_email_change`](Self::issue_email_change)). It supersedes the user's older tokens of the
    /// flow.
    ///
    /// Errors: the store's.
    pub async fn issue<U: InboxUser>(
        &self,
        flow: Flow,
        user: &U,
    ) -> Result<InboxMessage, StoreError> {
        self.issue_to(flow, user, user.email()).await
    }

    /// Issue an email-change token for `user`, to `new_email` (nothing changes until it is redeemed).
    ///
    /// Errors: the store's.
    pub async fn issue_email_change<U: InboxUser>(
        &self,
        user: &U,
        new_email: &str,
    ) -> Result<InboxMessage, StoreError> {
        self.issue_to(Flow::ChangeEmail, user, new_email).await
    }

    async fn issue_to<U: InboxUser>(
        &self,
        flow: Flow,
        user: &U,
        to: &str,
    ) -> Result<InboxMessage, StoreError> {
        let key = user.user_key();
        let payload = Binding {
            email: user.email().to_owned(),
            sent_to: to.to_owned(),
            fingerprint: Fingerprint::of(user),
        }
        .encode();
        let link = self
            .tokens
            .issue(IssueRequest {
                purpose: flow.purpose(),
                subject: &key,
                ttl: self.policy.ttl(flow),
                code_attempts: None,
                payload: payload.clone(),
                supersede: true,
            })
            .await?;
        let code = match flow {
            Flow::SignIn => Some(
                self.tokens
                    .issue(IssueRequest {
                        purpose: SIGN_IN_CODE,
                        subject: &key,
                        ttl: self.policy.sign_in_code,
                        code_attempts: Some(self.policy.code_attempts.max(1)),
                        payload,
                        supersede: true,
                    })
                    .await?,
            ),
            _ => None,
        };
        Ok(InboxMessage {
            flow,
            to: to.to_owned(),
            link: link.link.into_string(),
            link_expires_at: link.expires_at,
            code_expires_at: code.as_ref().map(|c| c.expires_at),
            code: code.and_then(|c| c.code),
        })
    }

    /// Whether a link of `flow` is still good, without consuming it: for the page the link opens. `Some`
    /// with the key of the user it was issued for (so the page can load them, and a reset can check the
    /// new password against them before redeeming); `None` is one answer for forged, used, expired and
    /// superseded links.
    ///
    /// Errors: the store's.
    pub async fn check(&self, flow: Flow, link: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .tokens
            .find(flow.purpose(), link)
            .await?
            .map(|r| r.subject))
    }

    /// Redeem a link of `flow` (the page's POST): consumed, then `load` reads the user by key and the
    /// binding is checked against it. A sign-in link takes its code with it.
    ///
    /// Errors: [`InboxError`] (the token may be consumed: the user asks for a new one).
    pub async fn redeem<U, F, Fut, E>(
        &self,
        flow: Flow,
        link: &str,
        load: F,
    ) -> Result<Redeemed<U>, InboxError>
    where
        U: InboxUser,
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<Option<U>, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let Some(record) = self.tokens.redeem(flow.purpose(), link).await? else {
            return Ok(Redeemed::Invalid);
        };
        if flow == Flow::SignIn {
            self.tokens.revoke(SIGN_IN_CODE, &record.subject).await?;
        }
        self.verified(record.subject, &record.payload, load).await
    }

    /// Redeem a sign-in code typed by `user` (the app found them by the email typed with it). A wrong
    /// code uses one of its guesses; a right one takes the link with it.
    ///
    /// Errors: [`InboxError`].
    pub async fn redeem_code<U, F, Fut, E>(
        &self,
        user: &U,
        code: &str,
        load: F,
    ) -> Result<Redeemed<U>, InboxError>
    where
        U: InboxUser,
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<Option<U>, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let key = user.user_key();
        match self.tokens.redeem_code(SIGN_IN_CODE, &key, code).await? {
            CodeRedemption::Redeemed(record) => {
                self.tokens.revoke(SIGN_IN, &record.subject).await?;
                self.verified(record.subject, &record.payload, load).await
            }
            CodeRedemption::Wrong { attempts_left } => Ok(Redeemed::WrongCode { attempts_left }),
            _ => Ok(Redeemed::Invalid),
        }
    }

    /// End every live token of `flow` for the user `user_key` (after a reset: the other reset links).
    ///
    /// Errors: the store's.
    pub async fn revoke(&self, flow: Flow, user_key: &str) -> Result<usize, StoreError> {
        let n = self.tokens.revoke(flow.purpose(), user_key).await?;
        Ok(match flow {
            Flow::SignIn => n + self.tokens.revoke(SIGN_IN_CODE, user_key).await?,
            _ => n,
        })
    }

    /// Remove expired tokens.
    ///
    /// Errors: the store's.
    pub async fn sweep(&self) -> Result<usize, StoreError> {
        self.tokens.sweep().await
    }

    async fn verified<U, F, Fut, E>(
        &self,
        key: String,
        payload: &[u8],
        load: F,
    ) -> Result<Redeemed<U>, InboxError>
    where
        U: InboxUser,
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<Option<U>, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let Some(binding) = Binding::decode(payload) else {
            tracing::warn!("an inbox token's binding did not decode; treated as invalid");
            return Ok(Redeemed::Invalid);
        };
        let user = match load(key).await {
            Ok(Some(user)) => user,
            Ok(None) => return Ok(Redeemed::Invalid),
            Err(e) => return Err(InboxError::Load(e.into())),
        };
        if user.email() != binding.email || Fingerprint::of(&user) != binding.fingerprint {
            tracing::debug!("an inbox token outlived a change of the user's email or credentials");
            return Ok(Redeemed::Invalid);
        }
        Ok(Redeemed::Valid {
            user,
            sent_to: binding.sent_to,
        })
    }
}
