//! The account's passkeys on its settings page: list, rename, remove, and the rule that keeps a way in.

use crate::error::PasskeyError;
use crate::passkeys::{clean_name, Passkeys};
use crate::types::{decode_id, PasskeyInfo};

/// Whether an account may remove one of its `passkeys` (how many it has now): yes when another passkey
/// is left, or when it `can_sign_in_otherwise` (a password, or whatever else the app lets this account
/// sign in with: a sign-in link by email, an identity provider). An account may not remove its last way
/// to sign in: it would be locked out, with account recovery as the only way back.
///
/// A page can use it to show or hide the "Remove" button; [`Passkeys::remove`] enforces it.
pub fn can_remove(passkeys: usize, can_sign_in_otherwise: bool) -> bool {
    can_sign_in_otherwise || passkeys > 1
}

impl Passkeys {
    /// The account's passkeys, oldest first.
    ///
    /// Errors: [`PasskeyError::Store`].
    pub async fn list(&self, user_key: &str) -> Result<Vec<PasskeyInfo>, PasskeyError> {
        let records = self.inner.factors.passkeys(user_key).await?;
        Ok(records.iter().map(PasskeyInfo::from).collect())
    }

    /// Rename one of the account's passkeys (`id` as [`PasskeyInfo::id`] gives it; the name is cleaned
    /// as at registration).
    ///
    /// Errors: [`PasskeyError::UnknownCredential`] (not one of the account's), [`PasskeyError::Store`].
    pub async fn rename(&self, user_key: &str, id: &str, name: &str) -> Result<(), PasskeyError> {
        let id = decode_id(id).ok_or(PasskeyError::UnknownCredential)?;
        let renamed = self
            .inner
            .factors
            .rename_passkey(user_key, &id, &clean_name(name))
            .await?;
        renamed.then_some(()).ok_or(PasskeyError::UnknownCredential)
    }

    /// Remove one of the account's passkeys, unless it is the account's last way to sign in (see
    /// [`can_remove`]). The app asks for sudo mode first, as for any change of credentials, and may
    /// tell the user by mail. Removing the last passkey of an account with a password also turns the
    /// passkey second step off (`Factors::second_step_required`).
    ///
    /// Concurrent removals keep the rule: each checks what is left after its own removal, and puts its
    /// passkey back if nothing is, so at least one passkey survives two removals that race (an instant
    /// with none may be seen by a sign-in in between).
    ///
    /// Errors: [`PasskeyError::LastSignInMethod`], [`PasskeyError::UnknownCredential`],
    /// [`PasskeyError::Store`].
    pub async fn remove(
        &self,
        user_key: &str,
        id: &str,
        can_sign_in_otherwise: bool,
    ) -> Result<(), PasskeyError> {
        let raw = decode_id(id).ok_or(PasskeyError::UnknownCredential)?;
        let factors = &self.inner.factors;
        let passkeys = factors.passkeys(user_key).await?;
        let Some(record) = passkeys.iter().find(|p| p.id == raw).cloned() else {
            return Err(PasskeyError::UnknownCredential);
        };
        if !can_remove(passkeys.len(), can_sign_in_otherwise) {
            return Err(PasskeyError::LastSignInMethod);
        }
        if !factors.remove_passkey(user_key, &raw).await? {
            return Err(PasskeyError::UnknownCredential); // removed meanwhile
        }
        if !can_sign_in_otherwise && factors.passkeys(user_key).await?.is_empty() {
            // Another removal raced this one and nothing is left: put this one back.
            factors.add_passkey(user_key, record).await?;
            return Err(PasskeyError::LastSignInMethod);
        }
        self.inner.events.removed(user_key, id);
        Ok(())
    }
}
