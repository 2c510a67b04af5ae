//! A signed-in user's own sessions, for a sessions page: list them, end one, end all the others.

use keycard::{CachedUser, SessionId, SessionRecord};

use crate::auth::Auth;
use crate::rejection::AuthError;

impl<U: CachedUser> Auth<U> {
    /// The live sessions of the signed-in user, oldest first. Compare with
    /// [`session()`](Self::session)`.session_id` to mark the current one.
    ///
    /// Errors: [`AuthError::NotSignedIn`], [`AuthError::Store`].
    pub async fn sessions(&self) -> Result<Vec<SessionRecord>, AuthError> {
        let (_, session) = self.signed_in()?;
        Ok(self.cache().sessions(&session.user_key).await?)
    }

    /// End one of the signed-in user's own sessions by id. `Ok(false)` if no live session of this user has
    /// that id (another user's id included: nobody can end somebody else's session this way). Ending the
    /// current session signs out (the cookie is cleared).
    ///
    /// Ending **another** session needs sudo mode, as "sign out everywhere else" does (issue 18, W11):
    /// [`AuthError::SudoRequired`] unless this session's proof of password is recent
    /// ([`is_recently_authenticated`](Self::is_recently_authenticated)), so a session a copied
    /// remember-me cookie made cannot sign the owner out device by device. [`AuthError::StaleToken`]
    /// from a request served in a grace window.
    ///
    /// Errors: [`AuthError::NotSignedIn`], [`AuthError::Store`], [`AuthError::SudoRequired`],
    /// [`AuthError::StaleToken`].
    pub async fn delete_session(&self, session_id: &SessionId) -> Result<bool, AuthError> {
        let _op = self.lock_ops().await;
        self.writable("delete_session")?;
        let (_, current) = self.signed_in()?;
        if &current.session_id == session_id {
            self.delete_locked().await?;
            return Ok(true);
        }
        let own = self.cache().sessions(&current.user_key).await?;
        let Some(target) = own.iter().find(|s| &s.session_id == session_id) else {
            return Ok(false);
        };
        if !self.is_recently_authenticated() {
            return Err(AuthError::SudoRequired);
        }
        let ended = self.cache().delete_session(session_id).await?;
        // The device it was on must not sign itself back in.
        if let Some(series) = target.remember_series {
            self.cache().forget_series(&series).await?;
        }
        Ok(ended)
    }

    /// End every session of the signed-in user except this one ("sign out everywhere else"). Returns how
    /// many ended.
    ///
    /// Needs sudo mode: [`AuthError::SudoRequired`] unless this session's proof of password is recent
    /// (take [`RecentlyAuthenticated`](crate::RecentlyAuthenticated) in the handler to send the user to
    /// the re-authentication page first); [`AuthError::StaleToken`] from a request served in a grace
    /// window.
    ///
    /// Errors: [`AuthError::NotSignedIn`], [`AuthError::Store`], [`AuthError::SudoRequired`],
    /// [`AuthError::StaleToken`].
    pub async fn delete_other_sessions(&self) -> Result<usize, AuthError> {
        let _op = self.lock_ops().await;
        self.writable("delete_other_sessions")?;
        let (_, current) = self.signed_in()?;
        if !self.is_recently_authenticated() {
            return Err(AuthError::SudoRequired);
        }
        Ok(self
            .cache()
            .delete_user_sessions(&current.user_key, Some(&current.session_id))
            .await?)
    }
}
