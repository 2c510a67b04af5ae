//! [`SmtpUrl`]: `smtp://`, `smtp+starttls://` and `smtps://` URLs, checked once.

use std::fmt;

use percent_encoding::percent_decode_str;

use crate::error::{MailError, MailErrorKind};

/// How the connection to the server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Security {
    /// `smtp://` (default port 25): plain text, no TLS. For a relay on the same machine or a test server.
    Plain,
    /// `smtp+starttls://` (default port 587): plain, then `STARTTLS` **required** (a server that does not
    /// offer it is an error, never a fallback to plain text).
    StartTls,
    /// `smtps://` (default port 465): TLS from the first byte (implicit TLS).
    Tls,
}

impl Security {
    /// The port used when the URL names none: 25, 587 or 465.
    pub fn default_port(self) -> u16 {
        match self {
            Security::Plain => 25,
            Security::StartTls => 587,
            Security::Tls => 465,
        }
    }

    fn scheme(self) -> &'static str {
        match self {
            Security::Plain => "smtp",
            Security::StartTls => "smtp+starttls",
            Security::Tls => "smtps",
        }
    }
}

/// The schemes accepted, for error messages.
const ACCEPTED: &str = "smtp://host:port (plain), smtp+starttls://host:port (STARTTLS required) or smtps://host:port (TLS)";

/// A parsed SMTP URL: `scheme://[user[:password]@]host[:port]`, user and password percent-decoded.
///
/// Its `Debug` and `Display` leave the password out.
///
/// ```
/// use keycard_mail::{Security, SmtpUrl};
///
/// let url: SmtpUrl = "smtp+starttls://mailer%40example.com:p%40ss@smtp.example.com".parse()?;
/// assert_eq!(url.security(), Security::StartTls);
/// assert_eq!((url.host(), url.port()), ("smtp.example.com", 587));
/// assert_eq!(url.user(), Some("mailer@example.com"));
/// assert_eq!(url.to_string(), "smtp+starttls://mailer%40example.com:…@smtp.example.com:587");
/// assert!("https://smtp.example.com".parse::<SmtpUrl>().is_err());
/// # Ok::<(), keycard_mail::MailError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    security: Security,
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<String>,
    raw_user: String,
}

fn bad(detail: impl Into<String>) -> MailError {
    MailError::permanent(MailErrorKind::Config, detail)
}

fn decode(part: &str, what: &str) -> Result<String, MailError> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            bad(format!(
                "SMTP URL: the {what} is not UTF-8 once percent-decoded"
            ))
        })
}

impl std::str::FromStr for SmtpUrl {
    type Err = MailError;

    fn from_str(input: &str) -> Result<SmtpUrl, MailError> {
        let input = input.trim();
        let Some((scheme, _)) = input.split_once("://") else {
            return Err(bad(format!("SMTP URL: no scheme; use {ACCEPTED}")));
        };
        let security = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => Security::Plain,
            "smtp+starttls" => Security::StartTls,
            "smtps" => Security::Tls,
            other => {
                // Named only when it looks like a scheme (never a `user:password@…` typed before `://`).
                let shown = other.len() <= 20
                    && other
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
                let named = if shown {
                    format!(" `{other}`")
                } else {
                    String::new()
                };
                return Err(bad(format!(
                    "SMTP URL: unknown scheme{named}; use {ACCEPTED}"
                )));
            }
        };
        // Parse errors from `url` never echo the input, so the password stays out of them.
        let url =
            url::Url::parse(input).map_err(|e| bad(format!("SMTP URL: {e}; use {ACCEPTED}")))?;
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => decode(d, "host")?,
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(bad(format!("SMTP URL: no host; use {ACCEPTED}"))),
        };
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(bad(format!(
                "SMTP URL: a path, `?query` or `#fragment` is not understood; use {ACCEPTED}"
            )));
        }
        let raw_user = url.username().to_owned();
        let user = (!raw_user.is_empty())
            .then(|| decode(&raw_user, "user"))
            .transpose()?;
        let password = url.password().map(|p| decode(p, "password")).transpose()?;
        if password.is_some() && user.is_none() {
            return Err(bad("SMTP URL: a password without a user"));
        }
        Ok(SmtpUrl {
            security,
            port: url.port().unwrap_or(security.default_port()),
            host,
            user,
            password,
            raw_user,
        })
    }
}

impl SmtpUrl {
    /// Plain, STARTTLS or TLS.
    pub fn security(&self) -> Security {
        self.security
    }

    /// The host (a name, or an IP address without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, the scheme's default when the URL names none.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name, percent-decoded.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Whether the URL carries a password (which this type never prints).
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The user and password to log in with, when the URL names a user (an empty password if it has none).
    pub(crate) fn credentials(&self) -> Option<(String, String)> {
        let user = self.user.clone()?;
        Some((user, self.password.clone().unwrap_or_default()))
    }
}

impl fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.security.scheme())?;
        if self.user.is_some() {
            f.write_str(&self.raw_user)?;
            if self.password.is_some() {
                f.write_str(":…")?;
            }
            f.write_str("@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<SmtpUrl, MailError> {
        s.parse()
    }

    #[test]
    fn schemes_and_default_ports() {
        let u = parse("smtp://127.0.0.1").unwrap();
        assert_eq!((u.security(), u.port()), (Security::Plain, 25));
        let u = parse("SMTP+STARTTLS://mail.example.com").unwrap();
        assert_eq!((u.security(), u.port()), (Security::StartTls, 587));
        let u = parse("smtps://mail.example.com/").unwrap();
        assert_eq!((u.security(), u.port()), (Security::Tls, 465));
        let u = parse("smtps://mail.example.com:2465").unwrap();
        assert_eq!(u.port(), 2465);
        let u = parse("smtp://[::1]:2525").unwrap();
        assert_eq!((u.host(), u.port()), ("::1", 2525));
        assert_eq!(u.to_string(), "smtp://[::1]:2525");
    }

    #[test]
    fn user_and_password_are_percent_decoded_and_never_printed() {
        let u = parse("smtps://me%40example.com:p%3Ass%2Fw%40rd%25@mail.example.com").unwrap();
        assert_eq!(u.user(), Some("me@example.com"));
        assert_eq!(
            u.credentials(),
            Some(("me@example.com".into(), "p:ss/w@rd%".into()))
        );
        for shown in [u.to_string(), format!("{u:?}")] {
            assert!(
                !shown.contains("p%3Ass") && !shown.contains("rd%"),
                "{shown}"
            );
            assert!(
                shown.contains("me%40example.com:…@mail.example.com:465"),
                "{shown}"
            );
        }
        let u = parse("smtp://apikey@127.0.0.1:2525").unwrap();
        assert_eq!(u.credentials(), Some(("apikey".into(), String::new())));
        assert!(!u.has_password());
    }

    #[test]
    fn bad_urls_name_the_accepted_schemes_and_never_the_password() {
        for bad in [
            "mail.example.com:25",
            "http://mail.example.com",
            "smtp+tls://mail.example.com",
            "smtp://",
            "smtp://mail.example.com:99999",
            "smtp://mail.example.com/ehlo",
            "smtp://mail.example.com?tls=required",
            "smtp://:secret@mail.example.com",
            "me:secret@mail.example.com://",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.kind(), MailErrorKind::Config, "{bad}");
            assert!(e.is_permanent());
            assert!(!e.to_string().contains("secret"), "{e}");
            if !bad.contains(":secret@") {
                assert!(e.to_string().contains("smtp+starttls://"), "{bad}: {e}");
            }
        }
        let e = parse("smtp://user:hunter2@mail.example.com:notaport").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
