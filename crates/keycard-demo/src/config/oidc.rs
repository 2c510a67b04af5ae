//! Identity providers (OpenID Connect), from the environment only (a provider is several values that
//! belong together, and there may be several):
//!
//! | env | meaning |
//! |---|---|
//! | `OIDC_ISSUER` | the provider's issuer URL (discovery: `{issuer}/.well-known/openid-configuration`) |
//! | `OIDC_CLIENT_ID` | the client id the provider gave the demo |
//! | `OIDC_CLIENT_SECRET` | its secret (none: a public client, PKCE alone) |
//! | `OIDC_NAME` | the name on the button ("Sign in with {name}"); lowercased, the provider's key in `/auth/oidc/{key}` (default `SSO`) |
//! | `OIDC_TRUST_EMAIL` | `on`: a verified email from this provider may create an account or link to the account that has it (see keycard-oidc's linking policy); default `off` |
//!
//! More providers: the same names with a number, `OIDC_2_ISSUER`, `OIDC_2_CLIENT_ID`… (1 to 9). The
//! redirect URI to register at each provider is `{PUBLIC_ORIGIN}/auth/oidc/{key}/callback`
//! ([`crate::config::Config::link_origin`]).

use super::error::ConfigError;
use super::values::on_off;

/// One provider, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct OidcProvider {
    /// The button's name.
    pub name: String,
    /// The issuer URL.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Option<String>,
    /// Whether a verified email from it is trusted.
    pub trust_email: bool,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("trust_email", &self.trust_email)
            .finish()
    }
}

/// A variable's name as a `&'static str` for [`ConfigError`] (only made on an error, once, at start-up).
fn setting(prefix: &str, field: &str) -> &'static str {
    Box::leak(format!("{prefix}{field}").into_boxed_str())
}

/// The providers the `OIDC_*` variables in `vars` describe, in order (`OIDC_`, then `OIDC_1_`…`OIDC_9_`).
pub fn providers(vars: &[(String, String)]) -> Result<Vec<OidcProvider>, ConfigError> {
    let get = |name: String| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut out: Vec<OidcProvider> = Vec::new();
    let prefixes = std::iter::once("OIDC_".to_owned()).chain((1..=9).map(|n| format!("OIDC_{n}_")));
    for prefix in prefixes {
        let issuer = get(format!("{prefix}ISSUER"));
        let client_id = get(format!("{prefix}CLIENT_ID"));
        let (issuer, client_id) = match (issuer, client_id) {
            (None, None) => {
                if get(format!("{prefix}CLIENT_SECRET")).is_some()
                    || get(format!("{prefix}NAME")).is_some()
                {
                    return Err(ConfigError::new(
                        setting(&prefix, "ISSUER"),
                        "is required when the other settings of this provider are given",
                    ));
                }
                continue;
            }
            (Some(_), None) => {
                return Err(ConfigError::new(
                    setting(&prefix, "CLIENT_ID"),
                    "is required with an issuer",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    setting(&prefix, "ISSUER"),
                    "is required with a client id",
                ))
            }
            (Some(i), Some(c)) => (i, c),
        };
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
            return Err(ConfigError::new(
                setting(&prefix, "ISSUER"),
                format!("{issuer:?} is not an http(s) URL"),
            ));
        }
        let name = get(format!("{prefix}NAME")).unwrap_or_else(|| "SSO".to_owned());
        let key = name.to_lowercase();
        let key_ok = (1..=32).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !key_ok {
            return Err(ConfigError::new(
                setting(&prefix, "NAME"),
                format!(
                    "{name:?}: 1 to 32 letters, digits, _ or - (it is part of the redirect URI)"
                ),
            ));
        }
        if out.iter().any(|p| p.name.to_lowercase() == key) {
            return Err(ConfigError::new(
                setting(&prefix, "NAME"),
                format!("{name:?} names two providers"),
            ));
        }
        let trust_email = match get(format!("{prefix}TRUST_EMAIL")) {
            Some(v) => on_off(setting(&prefix, "TRUST_EMAIL"), &v)?,
            None => false,
        };
        out.push(OidcProvider {
            name,
            issuer,
            client_id,
            client_secret: get(format!("{prefix}CLIENT_SECRET")),
            trust_email,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn none_is_fine_and_several_are_read_in_order() {
        assert!(providers(&[]).expect("none").is_empty());
        let p = providers(&vars(&[
            ("OIDC_2_ISSUER", "https://b.example"),
            ("OIDC_2_CLIENT_ID", "b"),
            ("OIDC_2_NAME", "Corp"),
            ("OIDC_ISSUER", "https://a.example"),
            ("OIDC_CLIENT_ID", "a"),
            ("OIDC_CLIENT_SECRET", "s"),
            ("OIDC_NAME", "Google"),
            ("OIDC_TRUST_EMAIL", "on"),
        ]))
        .expect("two");
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].name.as_str(), p[0].trust_email), ("Google", true));
        assert_eq!(p[0].client_secret.as_deref(), Some("s"));
        assert_eq!((p[1].name.as_str(), p[1].trust_email), ("Corp", false));
        assert!(
            !format!("{:?}", p[0]).contains("\"s\""),
            "the secret is redacted"
        );
    }

    #[test]
    fn half_a_provider_or_a_bad_name_is_refused() {
        let e = providers(&vars(&[("OIDC_ISSUER", "https://a.example")])).unwrap_err();
        assert_eq!(e.setting, "OIDC_CLIENT_ID");
        let e = providers(&vars(&[("OIDC_3_CLIENT_ID", "x")])).unwrap_err();
        assert_eq!(e.setting, "OIDC_3_ISSUER");
        let e = providers(&vars(&[
            ("OIDC_ISSUER", "https://a.example"),
            ("OIDC_CLIENT_ID", "a"),
            ("OIDC_NAME", "a b"),
        ]))
        .unwrap_err();
        assert_eq!(e.setting, "OIDC_NAME");
    }
}
