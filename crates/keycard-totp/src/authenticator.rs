//! [`Totp`]: enrol an authenticator app, check its codes, turn it off.

use std::sync::Arc;
use std::time::Duration;

use keycard::factor::{FactorStore, TotpRecord};
use keycard::onetime::{IssueRequest, OneTimeStore, OneTimeTokens, Purpose};
use keycard::{Clock, SystemClock, Timestamp};
use totp_rs::{Algorithm, Builder, Secret};

use crate::config::TotpConfig;
use crate::error::TotpError;
use crate::seal::Sealer;

/// How long an enrolment (the QR code shown, the first code not typed yet) waits: 10 minutes.
pub const ENROLMENT_TTL: Duration = Duration::from_secs(10 * 60);
const ENROLMENT: Purpose = Purpose::new("totp_enrolment");
/// Bytes of a new secret: 160 bits, RFC 4226's recommendation.
const SECRET_LEN: usize = 20;

/// An enrolment begun: show `qr_svg` and `secret` (for typing in by hand) and ask for the first code;
/// keep `ticket` in the form. The secret is shown on this page only.
#[non_exhaustive]
pub struct Enrolment {
    /// Names this enrolment for [`Totp::confirm_enrolment`] (a hidden form field): signed, single use,
    /// [`ENROLMENT_TTL`]. The secret itself waits in the session store, sealed.
    pub ticket: String,
    /// The secret in base32, as authenticator apps take it when typed.
    pub secret: String,
    /// The `otpauth://totp/…` URI the QR code holds.
    pub uri: String,
    /// The QR code of `uri`: an SVG document (no script).
    pub qr_svg: String,
    /// When the ticket stops working.
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Authenticator-app codes as a second factor (see the [crate docs](crate)).
#[derive(Clone)]
pub struct Totp {
    config: TotpConfig,
    sealer: Sealer,
    factors: Arc<dyn FactorStore>,
    tickets: OneTimeTokens,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Totp")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn normal(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

impl Totp {
    /// Codes made as `config` says; records in `factors` (the app's users database); enrolments waiting
    /// in `one_time` (the session store); secrets sealed under a key derived from `secret` (the app
    /// secret).
    ///
    /// Errors: [`TotpError::Secret`] (shorter than 64 bytes), [`TotpError::Config`].
    pub fn new(
        config: TotpConfig,
        factors: Arc<dyn FactorStore>,
        one_time: Arc<dyn OneTimeStore>,
        secret: &[u8],
    ) -> Result<Totp, TotpError> {
        let totp = Totp {
            tickets: OneTimeTokens::new(one_time, secret)?,
            sealer: Sealer::new(secret),
            config,
            factors,
            clock: Arc::new(SystemClock),
        };
        totp.generator(&[0u8; SECRET_LEN], "check")?;
        Ok(totp)
    }

    /// Also open secrets sealed under `secret`, an app secret being rotated out (the cookie signer's
    /// fallbacks). New records are sealed under the current secret; a record sealed under an older one
    /// keeps working while that secret is listed here, and is sealed anew when the user sets the app up
    /// again. Remove it only when no such record is left, or those users need a recovery code.
    ///
    /// Errors: [`TotpError::Secret`] for a secret shorter than 64 bytes.
    pub fn with_previous_secret(mut self, secret: &[u8]) -> Result<Totp, TotpError> {
        if secret.len() < keycard::token::MIN_SECRET_LEN {
            return Err(TotpError::Secret(keycard::token::SecretError::TooShort {
                len: secret.len(),
                min: keycard::token::MIN_SECRET_LEN,
            }));
        }
        self.sealer = self.sealer.with_previous(secret);
        Ok(self)
    }

    /// Another clock (tests; the app's).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Totp {
        self.tickets = self.tickets.with_clock(clock.clone());
        self.clock = clock;
        self
    }

    fn generator(&self, secret: &[u8], account_name: &str) -> Result<totp_rs::Totp, TotpError> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(self.config.digits)
            .with_skew(u16::from(self.config.skew))
            .with_step_duration(self.config.step.as_secs())
            .with_secret(Secret::from(secret.to_vec()))
            .with_issuer(Some(self.config.issuer.as_str()))
            .with_account_name(account_name)
            .build()
            .map_err(|e| TotpError::Config(format!("{e:?}")))
    }

    /// The code an authenticator holding `secret` shows at `at` (tests, and apps that check their own
    /// setup).
    ///
    /// Errors: [`TotpError::Config`] for a secret shorter than 128 bits.
    pub fn code_at(&self, secret: &[u8], at: Timestamp) -> Result<String, TotpError> {
        Ok(self
            .generator(secret, "code")?
            .generate(at.as_unix_secs())
            .to_string())
    }

    /// Step 1 of turning TOTP on (the app checks sudo mode first): a new secret, its URI and QR code
    /// for `account_name` (what the app lists: the email, say; no `:`), and a ticket for the form.
    /// Nothing changes for the user until [`confirm_enrolment`](Self::confirm_enrolment).
    ///
    /// Errors: [`TotpError::Config`] for an `account_name` with a `:`; the store's.
    pub async fn begin_enrolment(
        &self,
        user_key: &str,
        account_name: &str,
    ) -> Result<Enrolment, TotpError> {
        let mut secret = [0u8; SECRET_LEN];
        getrandom::getrandom(&mut secret).expect("the OS random number generator failed");
        let generator = self.generator(&secret, account_name)?;
        let uri = generator
            .to_url()
            .map_err(|e| TotpError::Config(format!("{e:?}")))?;
        let qr_svg = crate::qr::svg(&uri)
            .ok_or_else(|| TotpError::Config("the URI is too long for a QR code".into()))?;
        let issued = self
            .tickets
            .issue(IssueRequest {
                purpose: ENROLMENT,
                subject: user_key,
                ttl: ENROLMENT_TTL,
                code_attempts: None,
                payload: self.sealer.seal(user_key, &secret),
                supersede: true,
            })
            .await?;
        Ok(Enrolment {
            ticket: issued.link.into_string(),
            secret: generator.secret().to_base32(),
            uri,
            qr_svg,
            expires_at: issued.expires_at,
        })
    }

    /// The enrolment `ticket` names, shown again (a wrong first code re-renders the page with the same
    /// QR code, so the app the user just set up stays right). Nothing is spent.
    ///
    /// Errors: [`TotpError::EnrolmentExpired`] (unknown, used, expired, another user's), the store's.
    pub async fn resume_enrolment(
        &self,
        user_key: &str,
        ticket: &str,
        account_name: &str,
    ) -> Result<Enrolment, TotpError> {
        let record = self
            .tickets
            .find(ENROLMENT, ticket)
            .await?
            .filter(|r| r.subject == user_key)
            .ok_or(TotpError::EnrolmentExpired)?;
        let secret = self
            .sealer
            .open(user_key, &record.payload)
            .ok_or(TotpError::EnrolmentExpired)?;
        let generator = self.generator(&secret, account_name)?;
        let uri = generator
            .to_url()
            .map_err(|e| TotpError::Config(format!("{e:?}")))?;
        let qr_svg = crate::qr::svg(&uri)
            .ok_or_else(|| TotpError::Config("the URI is too long for a QR code".into()))?;
        Ok(Enrolment {
            ticket: ticket.to_owned(),
            secret: generator.secret().to_base32(),
            uri,
            qr_svg,
            expires_at: record.expires_at,
        })
    }

    /// Step 2: the first code, from the app the user just set up. Right: TOTP is on (replacing any
    /// earlier authenticator), the code's step counts as used, the ticket is spent. Wrong: the ticket
    /// stays (the user may try again until it expires). The app then shows new recovery codes, writes an
    /// audit event and ends the user's other sessions.
    ///
    /// Errors: [`TotpError::EnrolmentExpired`], [`TotpError::WrongCode`], the store's.
    pub async fn confirm_enrolment(
        &self,
        user_key: &str,
        ticket: &str,
        code: &str,
    ) -> Result<(), TotpError> {
        let record = self
            .tickets
            .find(ENROLMENT, ticket)
            .await?
            .filter(|r| r.subject == user_key)
            .ok_or(TotpError::EnrolmentExpired)?;
        let secret = self
            .sealer
            .open(user_key, &record.payload)
            .ok_or(TotpError::EnrolmentExpired)?;
        let now = self.clock.now();
        let step = self
            .generator(&secret, "code")?
            .check(&normal(code), now.as_unix_secs())
            .ok_or(TotpError::WrongCode)?;
        // One winner: two tabs confirming at once turn it on once.
        if self.tickets.redeem(ENROLMENT, ticket).await?.is_none() {
            return Err(TotpError::EnrolmentExpired);
        }
        self.factors
            .set_totp(
                user_key,
                Some(TotpRecord {
                    sealed_secret: self.sealer.seal(user_key, &secret),
                    enabled_at: now,
                    last_step: Some(step),
                }),
            )
            .await?;
        tracing::info!(target: "keycard::totp", "an authenticator app was turned on");
        Ok(())
    }

    /// The second step of a sign-in (or a sudo check): `code` is the authenticator's code for now,
    /// give or take [`TotpConfig::skew`] steps, and its step was not accepted before (of concurrent
    /// tries with one code, exactly one passes). Spaces and dashes in `code` do not count.
    ///
    /// Errors: [`TotpError::WrongCode`], [`TotpError::Replayed`], [`TotpError::NotEnabled`],
    /// [`TotpError::Unsealable`], the store's.
    pub async fn verify(&self, user_key: &str, code: &str) -> Result<(), TotpError> {
        let record = self
            .factors
            .totp(user_key)
            .await?
            .ok_or(TotpError::NotEnabled)?;
        let secret = self
            .sealer
            .open(user_key, &record.sealed_secret)
            .ok_or(TotpError::Unsealable)?;
        let step = self
            .generator(&secret, "code")?
            .check(&normal(code), self.clock.now().as_unix_secs())
            .ok_or(TotpError::WrongCode)?;
        if self.factors.claim_totp_step(user_key, step).await? {
            Ok(())
        } else {
            Err(TotpError::Replayed)
        }
    }

    /// Turn TOTP off (the app checks sudo mode, writes an audit event and ends the user's other
    /// sessions). Recovery codes are the app's to keep or drop.
    ///
    /// Errors: the store's.
    pub async fn turn_off(&self, user_key: &str) -> Result<(), TotpError> {
        self.factors.set_totp(user_key, None).await?;
        tracing::info!(target: "keycard::totp", "an authenticator app was turned off");
        Ok(())
    }
}
