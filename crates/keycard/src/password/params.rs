//! The argon2id parameters of new hashes, and the error for a hasher that cannot work.

use argon2::{Algorithm, Argon2, Params, Version};

use super::{
    ARGON2_MAX_M_COST_KIB, ARGON2_MAX_P_COST, ARGON2_MAX_T_COST, ARGON2_M_COST_KIB,
    ARGON2_OUTPUT_LEN, ARGON2_P_COST, ARGON2_T_COST,
};

/// A [`PasswordHasher`](super::PasswordHasher) configuration that cannot work (a zero limit, argon2
/// parameters out of range).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid password hasher configuration: {0}")]
#[non_exhaustive]
pub struct HasherConfigError(pub String);

/// The argon2id cost of **new** hashes: memory (KiB), iterations and lanes.
///
/// The default is OWASP's floor for argon2id, m = 19 MiB, t = 2, p = 1 ([`ARGON2_M_COST_KIB`],
/// [`ARGON2_T_COST`], [`ARGON2_P_COST`]). OWASP lists equivalent trade-offs (m = 46 MiB, t = 1; m = 12 MiB,
/// t = 3; …); anything at or above one of them is fine. Stored hashes are verified with the parameters they
/// carry, whatever these are; a stored hash weaker than these (in memory, iterations or lanes) is rehashed at
/// the next sign-in.
///
/// ```
/// use keycard::password::Argon2Params;
/// let stronger = Argon2Params::new(47_104, 1, 1)?; // OWASP's m = 46 MiB, t = 1
/// assert_eq!(stronger.m_cost_kib(), 47_104);
/// assert_eq!(Argon2Params::default(), Argon2Params::new(19_456, 2, 1)?);
/// # Ok::<(), keycard::password::HasherConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Argon2Params {
            m_cost_kib: ARGON2_M_COST_KIB,
            t_cost: ARGON2_T_COST,
            p_cost: ARGON2_P_COST,
        }
    }
}

impl Argon2Params {
    /// Parameters for new hashes. Refused: values argon2 itself refuses (`t_cost` 0, `p_cost` 0, memory
    /// below 8 KiB per lane) and values above the bounds this module accepts in a stored hash
    /// ([`ARGON2_MAX_M_COST_KIB`], [`ARGON2_MAX_T_COST`], [`ARGON2_MAX_P_COST`]), so every hash it writes
    /// is one it will verify.
    pub fn new(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, HasherConfigError> {
        if m_cost_kib > ARGON2_MAX_M_COST_KIB
            || t_cost > ARGON2_MAX_T_COST
            || p_cost > ARGON2_MAX_P_COST
        {
            return Err(HasherConfigError(format!(
                "argon2 m={m_cost_kib} t={t_cost} p={p_cost} exceeds m<={ARGON2_MAX_M_COST_KIB} \
                 t<={ARGON2_MAX_T_COST} p<={ARGON2_MAX_P_COST}"
            )));
        }
        let params = Argon2Params {
            m_cost_kib,
            t_cost,
            p_cost,
        };
        params.argon2()?;
        Ok(params)
    }

    /// Memory cost in KiB.
    pub fn m_cost_kib(&self) -> u32 {
        self.m_cost_kib
    }

    /// Iterations.
    pub fn t_cost(&self) -> u32 {
        self.t_cost
    }

    /// Lanes.
    pub fn p_cost(&self) -> u32 {
        self.p_cost
    }

    /// The argon2id hasher for these parameters (v0x13, [`ARGON2_OUTPUT_LEN`]-byte output).
    pub(super) fn argon2(&self) -> Result<Argon2<'static>, HasherConfigError> {
        let params = Params::new(
            self.m_cost_kib,
            self.t_cost,
            self.p_cost,
            Some(ARGON2_OUTPUT_LEN),
        )
        .map_err(|e| HasherConfigError(format!("argon2 refuses these parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Whether a stored argon2 hash with `params` is at least as strong as these.
    pub(super) fn covered_by(&self, params: &Params) -> bool {
        params.m_cost() >= self.m_cost_kib
            && params.t_cost() >= self.t_cost
            && params.p_cost() >= self.p_cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_parameters_are_refused() {
        for (m, t, p) in [
            (ARGON2_MAX_M_COST_KIB + 1, 2, 1),
            (19_456, ARGON2_MAX_T_COST + 1, 1),
            (19_456, 2, ARGON2_MAX_P_COST + 1),
            (19_456, 0, 1),
            (19_456, 2, 0),
            (7, 1, 1),
        ] {
            assert!(Argon2Params::new(m, t, p).is_err(), "m={m} t={t} p={p}");
        }
        let max = Argon2Params::new(ARGON2_MAX_M_COST_KIB, ARGON2_MAX_T_COST, ARGON2_MAX_P_COST);
        assert!(max.is_ok(), "the bounds themselves are accepted");
    }
}
