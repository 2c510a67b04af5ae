//! What a stored hash is: Pow's PBKDF2 or a PHC argon2 string, checked against the bounds before any work.

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use super::params::Argon2Params;
use super::pow::{PowHash, POW_PREFIX};
use super::{
    PasswordError, ARGON2_MAX_M_COST_KIB, ARGON2_MAX_P_COST, ARGON2_MAX_T_COST, ARGON2_OUTPUT_LEN,
};

/// A parsed stored hash.
pub(super) enum Scheme<'a> {
    Pow(PowHash),
    Argon2 {
        hash: PasswordHash<'a>,
        current: bool,
    },
}

impl Scheme<'_> {
    /// Whether the hash is at the hasher's current parameters (no rehash needed).
    pub(super) fn is_current(&self) -> bool {
        match self {
            Scheme::Pow(_) => false,
            Scheme::Argon2 { current, .. } => *current,
        }
    }

    /// Whether `password` matches. Bounded work: [`classify`] refused anything absurd.
    pub(super) fn verify(&self, password: &str) -> Result<bool, PasswordError> {
        match self {
            Scheme::Pow(pow) => Ok(pow.verify(password.as_bytes())),
            Scheme::Argon2 { hash, .. } => verify_argon2(password, hash),
        }
    }
}

/// Parse `stored`; `current` is what new hashes use (to tell whether this one needs a rehash).
pub(super) fn classify<'a>(
    stored: &'a str,
    current: &Argon2Params,
) -> Result<Scheme<'a>, PasswordError> {
    if stored.starts_with(POW_PREFIX) {
        return PowHash::parse(stored).map(Scheme::Pow);
    }
    if !stored.starts_with("$argon2") {
        return Err(PasswordError::MalformedHash("unknown scheme"));
    }
    let hash =
        PasswordHash::new(stored).map_err(|_| PasswordError::MalformedHash("not a PHC string"))?;
    let algorithm = Algorithm::try_from(hash.algorithm)
        .map_err(|_| PasswordError::MalformedHash("unknown argon2 variant"))?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(PasswordError::MalformedHash(
            "argon2 hash without salt or output",
        ));
    }
    let params = Params::try_from(&hash)
        .map_err(|_| PasswordError::MalformedHash("bad argon2 parameters"))?;
    if params.m_cost() > ARGON2_MAX_M_COST_KIB
        || params.t_cost() > ARGON2_MAX_T_COST
        || params.p_cost() > ARGON2_MAX_P_COST
    {
        return Err(PasswordError::UnsupportedParams(format!(
            "argon2 m={} t={} p={} exceeds m<={ARGON2_MAX_M_COST_KIB} t<={ARGON2_MAX_T_COST} p<={ARGON2_MAX_P_COST}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        )));
    }
    let version_current = match hash.version {
        None => false,
        Some(v) => v == u32::from(Version::V0x13),
    };
    let current = algorithm == Algorithm::Argon2id
        && version_current
        && current.covered_by(&params)
        && hash.hash.map_or(0, |h| h.len()) >= ARGON2_OUTPUT_LEN;
    Ok(Scheme::Argon2 { hash, current })
}

/// Verify against a PHC argon2 hash with the parameters it carries.
pub(super) fn verify_argon2(
    password: &str,
    hash: &PasswordHash<'_>,
) -> Result<bool, PasswordError> {
    match Argon2::default().verify_password(password.as_bytes(), hash) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(PasswordError::Hashing(e.to_string())),
    }
}
