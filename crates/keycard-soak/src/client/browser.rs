//! One browser: a reqwest client bound to its own loopback address, with its cookies kept by hand so
//! every request's cookies are known (a rotated token is taken from `Set-Cookie` at once, a cleared
//! one dropped), and no redirect followed.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};

/// The session cookie (plain HTTP on loopback: no `__Host-` prefix).
pub const SESSION: &str = "keycard_session";
/// The anonymous CSRF cookie.
pub const CSRF: &str = "keycard_csrf";
/// The remember-me cookie.
pub const REMEMBER: &str = "keycard_remember";

/// Which cookies a request sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Send {
    /// The session cookie and the CSRF cookie (an open browser).
    Session,
    /// Only the remember-me cookie (a browser reopened: its session cookie is gone).
    Remember,
    /// Only the CSRF cookie (signed out).
    Anonymous,
}

/// An answer read to the end.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// `Location`, for a redirect.
    pub location: Option<String>,
    /// The body.
    pub body: String,
    /// Whether it set a new session cookie.
    pub new_session: bool,
}

/// No (complete) answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Nothing was sent: the connection was refused (a node down).
    Refused(String),
    /// The client's timeout ran out.
    Timeout,
    /// Sent, but the answer was lost (a reset, a closed connection).
    Lost(String),
}

/// A browser's state.
#[derive(Debug, Clone)]
pub struct Browser {
    client: reqwest::Client,
    /// The logical session of its session cookie (one per sign-in).
    pub label: Option<String>,
    /// The session cookie's value.
    pub session: Option<String>,
    /// The anonymous CSRF cookie's value.
    pub csrf_cookie: Option<String>,
    /// The remember-me cookie's value.
    pub remember: Option<String>,
    /// A CSRF token for its forms (bound to the session; fetched again after a refusal).
    pub csrf_token: Option<String>,
    /// Its user agent (how the sessions page names it).
    pub user_agent: String,
    /// Signed in with the password (so within sudo mode), not by a remember-me cookie.
    pub by_password: bool,
    /// The node it last read `/me` on (where its session is warm in the near cache).
    pub warm_on: usize,
    /// The user it is signed in as (an email).
    pub owner: Option<String>,
}

impl Browser {
    /// A new browser at `ip` with this user agent and client timeout.
    pub fn new(ip: IpAddr, user_agent: &str, timeout: Duration) -> Result<Browser, reqwest::Error> {
        let client = reqwest::Client::builder()
            .local_address(ip)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .pool_max_idle_per_host(2)
            .user_agent(user_agent)
            .build()?;
        Ok(Browser {
            client,
            label: None,
            session: None,
            csrf_cookie: None,
            remember: None,
            csrf_token: None,
            user_agent: user_agent.to_owned(),
            by_password: false,
            warm_on: 0,
            owner: None,
        })
    }

    fn cookie_header(&self, send: Send) -> String {
        let pairs: Vec<(&str, &Option<String>)> = match send {
            Send::Session => vec![(SESSION, &self.session), (CSRF, &self.csrf_cookie)],
            Send::Remember => vec![(REMEMBER, &self.remember)],
            Send::Anonymous => vec![(CSRF, &self.csrf_cookie)],
        };
        pairs
            .into_iter()
            .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={v}")))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// `GET base + path`.
    pub async fn get(&mut self, base: &str, path: &str, send: Send) -> Result<Answer, Failure> {
        let req = self.client.get(format!("{base}{path}"));
        self.send(req, send).await
    }

    /// `POST base + path` with this form (and the CSRF token when the browser has one).
    pub async fn post(
        &mut self,
        base: &str,
        path: &str,
        form: &[(&str, &str)],
        send: Send,
    ) -> Result<Answer, Failure> {
        let token = self.csrf_token.clone().unwrap_or_default();
        let mut fields: Vec<(&str, &str)> = vec![("_csrf_token", token.as_str())];
        fields.extend_from_slice(form);
        let req = self
            .client
            .post(format!("{base}{path}"))
            .header(ORIGIN, base)
            .form(&fields);
        self.send(req, send).await
    }

    async fn send(&mut self, req: reqwest::RequestBuilder, send: Send) -> Result<Answer, Failure> {
        let cookies = self.cookie_header(send);
        let req = if cookies.is_empty() {
            req
        } else {
            req.header(COOKIE, cookies)
        };
        let res = req.send().await.map_err(classify)?;
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let set: Vec<String> = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let mut new_session = false;
        for line in &set {
            new_session |= self.take_cookie(line);
        }
        let body = res.text().await.map_err(classify)?;
        Ok(Answer {
            status,
            location,
            body,
            new_session,
        })
    }

    /// Apply one `Set-Cookie`; whether it set a (non-empty) session cookie.
    fn take_cookie(&mut self, line: &str) -> bool {
        let first = line.split(';').next().unwrap_or_default().trim();
        let Some((name, value)) = first.split_once('=') else {
            return false;
        };
        let cleared = value.is_empty()
            || line
                .split(';')
                .any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
        let slot = match name {
            SESSION => &mut self.session,
            CSRF => &mut self.csrf_cookie,
            REMEMBER => &mut self.remember,
            _ => return false,
        };
        *slot = (!cleared).then(|| value.to_owned());
        name == SESSION && !cleared
    }
}

fn classify(e: reqwest::Error) -> Failure {
    if e.is_timeout() {
        Failure::Timeout
    } else if e.is_connect() {
        Failure::Refused(e.to_string())
    } else {
        Failure::Lost(e.to_string())
    }
}

/// The `_csrf_token` of the first form of a page.
pub fn csrf_token(html: &str) -> Option<String> {
    let marker = r#"name="_csrf_token" value=""#;
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// The id of the session row whose device carries exactly `user_agent` on a `/sessions` page.
pub fn session_id_of(html: &str, user_agent: &str) -> Option<String> {
    let title = format!(r#"title="{user_agent}""#);
    html.split(r#"<tr id="session-"#).skip(1).find_map(|row| {
        let end = row.find("</tr>")?;
        (row[..end].contains(&title) && row.len() >= 32).then(|| row[..32].to_owned())
    })
}
