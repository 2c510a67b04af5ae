//! The ID token: verified by openidconnect (signature through the provider's JWKS, `iss`, `aud`, `exp`,
//! `nonce`, the algorithm the provider announced), with one JWKS refetch on an unknown key; its claims
//! read into a [`Verified`].

use openidconnect::core::{CoreIdToken, CoreIdTokenClaims, CoreProviderMetadata};
use openidconnect::reqwest;
use openidconnect::{ClaimsVerificationError, Nonce, SignatureVerificationError};

use crate::error::OidcError;
use crate::provider::Provider;
use crate::types::{Intent, Verified};

/// What a verified token says, owned.
pub(crate) struct Claims {
    subject: String,
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
}

impl Claims {
    fn of(c: &CoreIdTokenClaims) -> Claims {
        Claims {
            subject: c.subject().as_str().to_owned(),
            email: c
                .email()
                .map(|e| e.as_str().trim().to_lowercase())
                .filter(|e| !e.is_empty()),
            email_verified: c.email_verified() == Some(true),
            name: c
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().trim().to_owned())
                .filter(|n| !n.is_empty()),
        }
    }

    pub(crate) fn into_verified(self, provider: &Provider, intent: Intent) -> Verified {
        Verified {
            provider: provider.key.clone(),
            subject: self.subject,
            email: self.email,
            email_verified: self.email_verified,
            provider_trusted_for_email: provider.config.trust_email,
            name: self.name,
            intent,
        }
    }
}

fn check(
    provider: &Provider,
    metadata: CoreProviderMetadata,
    token: &CoreIdToken,
    nonce: &Nonce,
) -> Result<Claims, ClaimsVerificationError> {
    let client = provider.client(metadata);
    let verifier = client.id_token_verifier();
    let claims = token.claims(&verifier, nonce).map(Claims::of);
    claims
}

/// Verify `token` for `provider`; on a key the kept JWKS lacks, fetch the JWKS once more and try again
/// (the provider rotated its keys).
pub(crate) async fn verify(
    provider: &Provider,
    http: &reqwest::Client,
    metadata: CoreProviderMetadata,
    token: &CoreIdToken,
    nonce: &Nonce,
) -> Result<Claims, OidcError> {
    match check(provider, metadata.clone(), token, nonce) {
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => {
            let fresh = provider.refresh_jwks(http, metadata).await?;
            check(provider, fresh, token, nonce).map_err(refused)
        }
        other => other.map_err(refused),
    }
}

/// The error for a failed check. Fixed reasons: an openidconnect message may quote claims.
fn refused(e: ClaimsVerificationError) -> OidcError {
    use ClaimsVerificationError as E;
    use SignatureVerificationError as S;
    match e {
        E::Expired(_) => OidcError::Expired,
        E::InvalidAudience(_) => OidcError::WrongAudience,
        E::InvalidIssuer(_) => OidcError::IssuerMismatch,
        E::InvalidNonce(_) => OidcError::NonceMismatch,
        E::SignatureVerification(S::NoMatchingKey) => OidcError::UnknownKey,
        E::SignatureVerification(s) => OidcError::InvalidIdToken {
            reason: match s {
                S::CryptoError(_) => "bad signature",
                S::DisallowedAlg(_) | S::UnsupportedAlg(_) => "signature algorithm not allowed",
                S::NoSignature => "not signed",
                S::AmbiguousKeyId(_) => "ambiguous key id",
                S::InvalidKey(_) => "unusable key",
                _ => "signature not verified",
            }
            .to_owned(),
        },
        E::InvalidSubject(_) => OidcError::InvalidIdToken {
            reason: "subject".to_owned(),
        },
        E::InvalidAuthTime(_) | E::InvalidAuthContext(_) => OidcError::InvalidIdToken {
            reason: "authentication time or context".to_owned(),
        },
        _ => OidcError::InvalidIdToken {
            reason: "malformed or unsupported".to_owned(),
        },
    }
}
