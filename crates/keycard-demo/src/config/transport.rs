//! Whether the demo's cookies are `Secure`, and the origin browsers reach it at: `COOKIE_SECURE`,
//! `PUBLIC_ORIGIN` and `KEYCARD_ADDR` decided together.
//!
//! The demo speaks plain http (it has no TLS). Its cookies (session, CSRF, flash) are `Secure` with the
//! `__Host-` prefix unless it is bound to a loopback address, where browsers talk to it over plain http
//! on the same machine; then it uses keycard's named opt-out and says so in a warning at start-up. On any
//! other address it must sit behind an HTTPS proxy: cookies are `Secure`, and `PUBLIC_ORIGIN` names the
//! `https://` origin the proxy serves. `COOKIE_SECURE=false` on a non-loopback address is refused.

use std::net::SocketAddr;

use keycard_axum::CsrfConfig;

use super::error::ConfigError;

/// How `COOKIE_SECURE` was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    Auto,
    Secure,
    Insecure,
}

fn wanted(value: &str) -> Result<Wanted, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "auto" => Ok(Wanted::Auto),
        "1" | "true" | "yes" | "on" => Ok(Wanted::Secure),
        "0" | "false" | "no" | "off" => Ok(Wanted::Insecure),
        _ => Err(ConfigError::new(
            "COOKIE_SECURE",
            format!("{value:?} is not auto, true or false"),
        )),
    }
}

/// `Secure` cookies or not, and the `PUBLIC_ORIGIN` (checked), for a server bound to `addr`. `name` names
/// another setting in a message the way the user gave it (see [`super::origin::Origins::name`]).
pub(super) fn resolve(
    addr: SocketAddr,
    cookie_secure: &str,
    public_origin: Option<&str>,
    name: impl Fn(&'static str) -> &'static str,
) -> Result<(bool, Option<String>), ConfigError> {
    let loopback = addr.ip().is_loopback();
    let secure = match (wanted(cookie_secure)?, loopback) {
        (Wanted::Secure, _) | (Wanted::Auto, false) => true,
        (Wanted::Auto, true) => false,
        (Wanted::Insecure, true) => false,
        (Wanted::Insecure, false) => {
            return Err(ConfigError::new(
                "COOKIE_SECURE",
                format!(
                    "is false, but {} {addr} is not a loopback address: cookies without Secure would \
                     cross the network in clear text. Bind 127.0.0.1, or serve the demo behind an HTTPS \
                     proxy with {} auto (or true) and {} https://…",
                    name("KEYCARD_ADDR"),
                    name("COOKIE_SECURE"),
                    name("PUBLIC_ORIGIN")
                ),
            ))
        }
    };
    let origin = public_origin.map(str::trim).filter(|o| !o.is_empty());
    let Some(origin) = origin else {
        if secure {
            let why = if loopback {
                format!("{} is true", name("COOKIE_SECURE"))
            } else {
                format!(
                    "{} {addr} is not a loopback address, so cookies are Secure",
                    name("KEYCARD_ADDR")
                )
            };
            return Err(ConfigError::new(
                "PUBLIC_ORIGIN",
                format!(
                    "is required: {why} and the demo (plain http itself) must be reached through an \
                     HTTPS proxy; set {} to the https://HOST[:PORT] browsers use (CSRF checks compare \
                     each form's Origin with it)",
                    name("PUBLIC_ORIGIN")
                ),
            ));
        }
        return Ok((false, None));
    };
    let csrf = CsrfConfig::new(origin);
    let checked = if secure {
        csrf.validate()
    } else {
        csrf.insecure_for_localhost().validate()
    };
    checked.map_err(|e| ConfigError::new("PUBLIC_ORIGIN", e.0))?;
    Ok((secure, Some(origin.to_owned())))
}

/// The origins the app accepts forms from: `PUBLIC_ORIGIN`, or, on a loopback address without it,
/// `http://ADDR` and `http://localhost:PORT`.
pub(super) fn allowed_origins(addr: SocketAddr, public_origin: Option<&str>) -> Vec<String> {
    match public_origin {
        Some(o) => vec![o.to_owned()],
        None => vec![
            format!("http://{addr}"),
            format!("http://localhost:{}", addr.port()),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// Every setting named by its environment variable.
    fn resolve_env(
        addr: SocketAddr,
        cookie_secure: &str,
        public_origin: Option<&str>,
    ) -> Result<(bool, Option<String>), ConfigError> {
        resolve(addr, cookie_secure, public_origin, |n| n)
    }

    #[test]
    fn loopback_without_tls_is_the_only_place_for_insecure_cookies() {
        // Loopback: plain http unless told otherwise.
        assert_eq!(
            resolve_env(at("127.0.0.1:4000"), "auto", None),
            Ok((false, None))
        );
        assert_eq!(resolve_env(at("[::1]:4000"), "", None), Ok((false, None)));
        assert_eq!(
            resolve_env(at("127.0.0.1:4000"), "false", None),
            Ok((false, None))
        );
        // W5: a non-loopback address never gets insecure cookies.
        let e = resolve_env(at("0.0.0.0:4000"), "false", None).unwrap_err();
        assert_eq!(e.setting, "COOKIE_SECURE");
        assert!(e.message.contains("not a loopback address"), "{e}");
        let e = resolve_env(at("192.0.2.10:4000"), "auto", None).unwrap_err();
        assert_eq!(e.setting, "PUBLIC_ORIGIN");
        assert!(e.message.contains("HTTPS proxy"), "{e}");
        assert_eq!(
            resolve_env(at("0.0.0.0:4000"), "auto", Some("https://demo.example")),
            Ok((true, Some("https://demo.example".into())))
        );
        // Forced Secure on loopback (a local TLS proxy) wants the https origin too.
        assert_eq!(
            resolve_env(at("127.0.0.1:4000"), "true", None)
                .unwrap_err()
                .setting,
            "PUBLIC_ORIGIN"
        );
        // An http origin cannot carry Secure cookies; a malformed one is refused.
        for bad in [
            "http://demo.example",
            "demo.example",
            "https://demo.example/app",
        ] {
            let e = resolve_env(at("0.0.0.0:4000"), "auto", Some(bad)).unwrap_err();
            assert_eq!(e.setting, "PUBLIC_ORIGIN", "{bad}");
        }
        assert_eq!(
            resolve_env(at("127.0.0.1:4000"), "maybe", None)
                .unwrap_err()
                .setting,
            "COOKIE_SECURE"
        );
    }

    #[test]
    fn loopback_origins_are_the_address_and_localhost() {
        assert_eq!(
            allowed_origins(at("127.0.0.1:4000"), None),
            ["http://127.0.0.1:4000", "http://localhost:4000"]
        );
        assert_eq!(
            allowed_origins(at("0.0.0.0:4000"), Some("https://demo.example")),
            ["https://demo.example"]
        );
    }
}
