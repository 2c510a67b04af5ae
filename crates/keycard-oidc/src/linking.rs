//! The linking policy: what a verified identity signs in as, and the settings page's list, link and
//! unlink (see the [crate docs](crate#the-linking-policy)).

use keycard::identity::{can_unlink, IdentityRecord, LinkOutcome};

use crate::error::OidcError;
use crate::oidc::Oidc;
use crate::types::{Intent, Verified};

/// The account that has the provider's email, as the app's users table says (the app looks it up by
/// [`Verified::email`] before [`Oidc::sign_in`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingAccount {
    /// Its user key.
    pub user_key: String,
    /// Whether its owner proved they read that address (a confirmation link, a code).
    pub email_confirmed: bool,
}

/// What a provider sign-in comes to ([`Oidc::sign_in`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignIn {
    /// Sign in as `user_key` (`Auth::create`): the identity was linked to it, before or just now.
    User {
        /// The user.
        user_key: String,
        /// Whether it was linked by this sign-in (to the account with the provider's verified email).
        linked_now: bool,
    },
    /// No account has the provider's verified email: create one with `email` (confirmed: the provider
    /// vouched for it), then [`Oidc::link_new_account`], then sign in.
    CreateAccount {
        /// The email for the new account.
        email: String,
    },
    /// Nothing is created: an account has this email but may not be linked automatically (the provider
    /// is not trusted for email, the token does not say it is verified, or the account's email is not
    /// confirmed). Ask the user to sign in with their password and link the provider from settings.
    PasswordFirst,
    /// Nothing is created: the provider gave no email it vouches for, so no account can be made from
    /// it. Ask the user to create an account (or sign in) and link the provider from settings.
    NoTrustedEmail,
}

impl Oidc {
    /// What `verified` (an [`Intent::SignIn`] flow) signs in as, linking it where the policy allows:
    ///
    /// 1. a linked identity signs in as its user;
    /// 2. else, where `account_with_email` (the account with [`Verified::email`], if any) exists: it is
    ///    linked and signed in **only if** the provider is trusted for email, the token says
    ///    `email_verified: true` and the account's email is confirmed; otherwise [`SignIn::PasswordFirst`];
    /// 3. else, with an email the provider vouches for (trusted, verified): [`SignIn::CreateAccount`];
    /// 4. else [`SignIn::NoTrustedEmail`].
    ///
    /// Errors: [`OidcError::Store`]; [`OidcError::IdentityTaken`] when a concurrent sign-in linked the
    /// identity to another account in between.
    pub async fn sign_in(
        &self,
        verified: &Verified,
        account_with_email: Option<ExistingAccount>,
    ) -> Result<SignIn, OidcError> {
        let ids = &self.inner.identities;
        let now = self.inner.clock.now();
        if let Some(linked) = ids
            .find_identity(&verified.provider, &verified.subject)
            .await?
        {
            ids.touch_identity(&verified.provider, &verified.subject, now)
                .await?;
            self.inner
                .events
                .signed_in(&verified.provider, &linked.user_key);
            return Ok(SignIn::User {
                user_key: linked.user_key,
                linked_now: false,
            });
        }
        let trusted = verified.trusted_email();
        match (account_with_email, trusted) {
            (Some(account), Some(_)) if account.email_confirmed => {
                self.link_as(verified, &account.user_key, "email").await?;
                self.inner
                    .events
                    .signed_in(&verified.provider, &account.user_key);
                Ok(SignIn::User {
                    user_key: account.user_key,
                    linked_now: true,
                })
            }
            (Some(_), _) => {
                self.inner
                    .events
                    .password_first(&verified.provider, "email_taken");
                Ok(SignIn::PasswordFirst)
            }
            (None, Some(email)) => Ok(SignIn::CreateAccount {
                email: email.to_owned(),
            }),
            (None, None) => {
                self.inner
                    .events
                    .password_first(&verified.provider, "no_trusted_email");
                Ok(SignIn::NoTrustedEmail)
            }
        }
    }

    /// Link `verified` to the account the app just created for it ([`SignIn::CreateAccount`]).
    ///
    /// Errors: [`OidcError::IdentityTaken`] (a concurrent sign-in linked it first: delete the new
    /// account and sign in as [`Oidc::sign_in`] now says), [`OidcError::Store`].
    pub async fn link_new_account(
        &self,
        verified: &Verified,
        user_key: &str,
    ) -> Result<(), OidcError> {
        self.link_as(verified, user_key, "sign_up").await?;
        self.inner.events.signed_in(&verified.provider, user_key);
        Ok(())
    }

    /// Link `verified` (an [`Intent::Link`] flow, finished in the session of `user_key`) to that
    /// user: the settings page's "link", **in sudo mode**. Linking an identity the user has already
    /// is fine.
    ///
    /// Errors: [`OidcError::BrowserMismatch`] (the flow was started by another user),
    /// [`OidcError::IdentityTaken`], [`OidcError::Store`].
    pub async fn link(&self, verified: &Verified, user_key: &str) -> Result<(), OidcError> {
        let result = match &verified.intent {
            Intent::Link { user_key: started } if started == user_key => {
                self.link_as(verified, user_key, "settings").await
            }
            _ => Err(OidcError::BrowserMismatch),
        };
        if let Err(e) = &result {
            self.inner
                .events
                .refused(&verified.provider, Some(user_key), e);
        }
        result
    }

    async fn link_as(
        &self,
        verified: &Verified,
        user_key: &str,
        how: &'static str,
    ) -> Result<(), OidcError> {
        let now = self.inner.clock.now();
        let record = IdentityRecord {
            provider: verified.provider.clone(),
            subject: verified.subject.clone(),
            user_key: user_key.to_owned(),
            email: verified.email.clone(),
            created_at: now,
            last_used_at: Some(now),
        };
        match self.inner.identities.link(record).await? {
            LinkOutcome::Linked => {
                self.inner.events.linked(&verified.provider, user_key, how);
                Ok(())
            }
            LinkOutcome::Taken { user_key: owner } if owner == user_key => Ok(()),
            _ => Err(OidcError::IdentityTaken),
        }
    }

    /// The user's linked identities, oldest first (the settings page).
    ///
    /// Errors: [`OidcError::Store`].
    pub async fn identities(&self, user_key: &str) -> Result<Vec<IdentityRecord>, OidcError> {
        Ok(self.inner.identities.identities(user_key).await?)
    }

    /// Unlink the identity (`provider`, `subject`) of `user_key`, **in sudo mode**, unless it is the
    /// account's last way to sign in (`can_sign_in_otherwise`: the user has a password or a passkey;
    /// see [`can_unlink`]). Concurrent unlinks keep the rule: each checks what is left after its own
    /// removal and puts its identity back if nothing is.
    ///
    /// Errors: [`OidcError::LastSignInMethod`], [`OidcError::UnknownIdentity`], [`OidcError::Store`].
    pub async fn unlink(
        &self,
        user_key: &str,
        provider: &str,
        subject: &str,
        can_sign_in_otherwise: bool,
    ) -> Result<(), OidcError> {
        let ids = &self.inner.identities;
        let mine = ids.identities(user_key).await?;
        let Some(record) = mine
            .iter()
            .find(|r| r.provider == provider && r.subject == subject)
            .cloned()
        else {
            return Err(OidcError::UnknownIdentity);
        };
        if !can_unlink(mine.len(), can_sign_in_otherwise) {
            return Err(OidcError::LastSignInMethod);
        }
        if !ids.unlink(user_key, provider, subject).await? {
            return Err(OidcError::UnknownIdentity);
        }
        if !can_sign_in_otherwise && ids.identities(user_key).await?.is_empty() {
            // A concurrent unlink took the other one: put this one back.
            ids.link(record).await?;
            return Err(OidcError::LastSignInMethod);
        }
        self.inner.events.unlinked(provider, user_key);
        Ok(())
    }
}
