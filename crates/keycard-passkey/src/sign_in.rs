//! Signing in with a passkey: with no username typed (a discoverable credential, autofill), and as the
//! second step of a password sign-in.

use webauthn_rs::prelude::{DiscoverableAuthentication, PublicKeyCredential, Uuid};

use crate::ceremony::{CeremonyState, SECOND_STEP, SIGN_IN};
use crate::error::PasskeyError;
use crate::passkeys::Passkeys;
use crate::stored::StoredPasskey;
use crate::types::{encode_id, BrowserReply, Ceremony, Verified};
use crate::verify::{self, UserHandle};

impl Passkeys {
    /// Begin a sign-in with no username: the options list no credential, so the browser offers the
    /// passkeys it holds for this site, in the username field's autofill (`mediation: "conditional"`,
    /// with `<input autocomplete="username webauthn">`) or, if the page's script drops `mediation`, in a
    /// dialog ("Sign in with a passkey").
    ///
    /// Every call writes one record that lives the ceremony lifetime: put the page or endpoint that
    /// calls it behind the app's rate limit (`keycard::throttle::RateLimit`).
    ///
    /// Errors: [`PasskeyError::Store`].
    pub async fn start_sign_in(&self) -> Result<Ceremony, PasskeyError> {
        let (rcr, state) = self.start_assertion()?;
        let options = verify::sign_in_options(rcr)?;
        // Nobody is named yet: a random subject spreads these records over a sharded store.
        let subject = format!("anonymous:{}", Uuid::new_v4().simple());
        self.issue(
            SIGN_IN,
            &subject,
            &CeremonyState::Assert(state),
            options,
            false,
        )
        .await
    }

    /// Finish a sign-in with no username: find whose passkey answered (by its credential id), check the
    /// answer (the user handle must name that account too), record the use (sign counter, backup state,
    /// last use), and say whose account it is. Then sign in (`Auth::create`): a passkey is a complete
    /// sign-in (it proved possession and the user's PIN or biometric), so no second step follows.
    ///
    /// Errors: [`PasskeyError::CeremonyExpired`], [`PasskeyError::MalformedResponse`],
    /// [`PasskeyError::UnknownCredential`] (no account has it: removed, or another site's),
    /// [`PasskeyError::WrongOrigin`], [`PasskeyError::Rejected`], [`PasskeyError::CounterRegressed`],
    /// [`PasskeyError::CorruptRecord`], [`PasskeyError::Store`].
    pub async fn finish_sign_in(&self, reply: BrowserReply<'_>) -> Result<Verified, PasskeyError> {
        let mut seen = Seen::default();
        let result = self.finish_sign_in_inner(reply, &mut seen).await;
        self.report(result.as_ref(), &seen, "sign_in");
        result
    }

    async fn finish_sign_in_inner(
        &self,
        reply: BrowserReply<'_>,
        seen: &mut Seen,
    ) -> Result<Verified, PasskeyError> {
        let (_, state) = self.redeem(SIGN_IN, reply.token).await?;
        let CeremonyState::Assert(state) = state else {
            return Err(PasskeyError::CeremonyExpired);
        };
        let response = verify::parse_assertion(reply.credential)?;
        seen.passkey_id = Some(encode_id(response.get_credential_id()));
        let user_key = self
            .inner
            .factors
            .passkey_owner(response.get_credential_id())
            .await?
            .ok_or(PasskeyError::UnknownCredential)?;
        let user_key = seen.user_key.insert(user_key);
        self.verify_for(user_key, state, &response, UserHandle::Required)
            .await
    }

    /// Begin the second step of a password sign-in for `user_key` (whose password was right, and who
    /// has a passkey: `FactorStore::factors(..).passkeys > 0`): the options list only that user's
    /// passkeys. Call it from the page of the pending login (`keycard::factor::PendingLogins`).
    ///
    /// Errors: [`PasskeyError::NoPasskeys`], [`PasskeyError::Store`].
    pub async fn start_second_step(&self, user_key: &str) -> Result<Ceremony, PasskeyError> {
        let passkeys = self.inner.factors.passkeys(user_key).await?;
        if passkeys.is_empty() {
            return Err(PasskeyError::NoPasskeys);
        }
        let (rcr, state) = self.start_assertion()?;
        let options = verify::second_step_options(rcr, passkeys.into_iter().map(|p| p.id))?;
        self.issue(
            SECOND_STEP,
            user_key,
            &CeremonyState::Assert(state),
            options,
            false,
        )
        .await
    }

    /// Finish the second step for `user_key` (the pending login's): the ceremony must have been begun
    /// for that user, and the answer must come from one of their passkeys. Then complete the pending
    /// login (`PendingLogins::complete`) and sign in.
    ///
    /// Errors: [`PasskeyError::CeremonyExpired`], [`PasskeyError::CeremonyMismatch`] (begun for another
    /// user), [`PasskeyError::UnknownCredential`] (not one of this user's passkeys), and the errors of
    /// [`finish_sign_in`](Self::finish_sign_in).
    pub async fn finish_second_step(
        &self,
        user_key: &str,
        reply: BrowserReply<'_>,
    ) -> Result<Verified, PasskeyError> {
        let mut seen = Seen {
            user_key: Some(user_key.to_owned()),
            passkey_id: None,
        };
        let result = self
            .finish_second_step_inner(user_key, reply, &mut seen)
            .await;
        self.report(result.as_ref(), &seen, "second_step");
        result
    }

    async fn finish_second_step_inner(
        &self,
        user_key: &str,
        reply: BrowserReply<'_>,
        seen: &mut Seen,
    ) -> Result<Verified, PasskeyError> {
        let (record, state) = self.redeem(SECOND_STEP, reply.token).await?;
        if record.subject != user_key {
            return Err(PasskeyError::CeremonyMismatch);
        }
        let CeremonyState::Assert(state) = state else {
            return Err(PasskeyError::CeremonyExpired);
        };
        let response = verify::parse_assertion(reply.credential)?;
        seen.passkey_id = Some(encode_id(response.get_credential_id()));
        self.verify_for(user_key, state, &response, UserHandle::IfPresent)
            .await
    }

    fn start_assertion(
        &self,
    ) -> Result<
        (
            webauthn_rs::prelude::RequestChallengeResponse,
            DiscoverableAuthentication,
        ),
        PasskeyError,
    > {
        self.inner
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| PasskeyError::Config {
                reason: format!("webauthn-rs refused to start an authentication: {e}"),
            })
    }

    /// Check `response` against `state` and `user_key`'s stored passkey of that credential id, then
    /// store the credential's new state and the time of use.
    async fn verify_for(
        &self,
        user_key: &str,
        state: DiscoverableAuthentication,
        response: &PublicKeyCredential,
        handle: UserHandle,
    ) -> Result<Verified, PasskeyError> {
        let factors = &self.inner.factors;
        let id = response.get_credential_id();
        let record = factors
            .passkeys(user_key)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(PasskeyError::UnknownCredential)?;
        let mut stored = StoredPasskey::of(&record).ok_or(PasskeyError::CorruptRecord)?;
        let result =
            verify::finish_assertion(&self.inner.webauthn, state, response, &stored, handle)?;
        stored.passkey.update_credential(&result);
        let data = stored.encode().map_err(|_| PasskeyError::CorruptRecord)?;
        // Written after every use: the new counter and backup state, and the time (the list shows it).
        // The store offers no compare-and-set: of two concurrent uses of one credential the later write
        // wins, so the stored counter may lag the highest one seen (never passes it).
        if !factors
            .update_passkey(user_key, id, data, self.inner.clock.now())
            .await?
        {
            return Err(PasskeyError::UnknownCredential); // removed meanwhile
        }
        Ok(Verified {
            user_key: user_key.to_owned(),
            passkey_id: encode_id(id),
            user_verified: result.user_verified(),
            backup_eligible: result.backup_eligible(),
            backed_up: result.backup_state(),
            counter: result.counter(),
        })
    }

    fn report(&self, result: Result<&Verified, &PasskeyError>, seen: &Seen, flow: &'static str) {
        let events = &self.inner.events;
        match result {
            Ok(v) => events.verified(&v.user_key, &v.passkey_id, flow),
            Err(e) => events.refused(
                seen.user_key.as_deref(),
                seen.passkey_id.as_deref(),
                flow,
                e,
            ),
        }
    }
}

/// What a finish learnt before it failed, for its log line.
#[derive(Default)]
struct Seen {
    user_key: Option<String>,
    passkey_id: Option<String>,
}
