//! Just enough HTTP/1.1 on loopback to sign in to a server and check its `GET /me`.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use crate::common::PASSWORD;

pub struct Server {
    pub kind: String,
    pub port: u16,
    pub cookie: String,
    /// The cookies of the other sessions `GET /me` spreads over (`--sessions`), users 2..=N.
    pub more_cookies: Vec<String>,
    pub body: String,
    /// The server process, for its CPU time.
    pub pid: u32,
}

/// Status, lower-cased headers, body.
type HttpReply = (u16, Vec<(String, String)>, String);

/// A minimal HTTP/1.1 exchange on loopback (Connection: close).
fn http(port: u16, request: &str) -> Result<HttpReply, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    s.write_all(request.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP header end")?;
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or("bad status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, headers, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn login_body(user: u64) -> String {
    format!("email=user{user}%40bench.invalid&password={PASSWORD}")
}

/// Sign in as bench user `user`, keep every cookie set, and check `GET /me` with it (and without it).
pub fn sign_in(kind: &str, port: u16, user: u64) -> Result<Server, String> {
    let body = login_body(user);
    let req = format!(
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, headers, _) = http(port, &req).map_err(|e| format!("{kind}: POST /login: {e}"))?;
    if !(200..400).contains(&status) {
        return Err(format!("{kind}: POST /login answered {status}"));
    }
    let cookie = headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .filter_map(|(_, v)| v.split(';').next())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    if cookie.is_empty() {
        return Err(format!("{kind}: POST /login set no cookie"));
    }
    let me = |cookie: Option<&str>| {
        let c = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
        http(
            port,
            &format!("GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\n{c}Connection: close\r\n\r\n"),
        )
    };
    let (status, _, body) = me(Some(&cookie)).map_err(|e| format!("{kind}: GET /me: {e}"))?;
    if status != 200 {
        return Err(format!("{kind}: signed-in GET /me answered {status}"));
    }
    if kind != "bare" {
        let (status, _, _) = me(None).map_err(|e| format!("{kind}: GET /me: {e}"))?;
        if status != 401 {
            return Err(format!(
                "{kind}: GET /me without a cookie answered {status}, not 401"
            ));
        }
    }
    Ok(Server {
        kind: kind.to_owned(),
        port,
        cookie,
        more_cookies: Vec::new(),
        body,
        pid: 0,
    })
}
