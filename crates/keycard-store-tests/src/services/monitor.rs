//! [`Monitor`]: a Redis `MONITOR` feed on a raw connection (no extra client library needed to read the
//! stream), to show which commands a given client sent: how the Redis store's tests show one round
//! trip per request, and a warm near cache sending nothing at all.

use std::time::Duration;

use redis::aio::ConnectionLike;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A `MONITOR` feed: every command the server executes, in execution order, one line each.
#[derive(Debug)]
pub struct Monitor {
    url: String,
    lines: tokio::io::Lines<BufReader<tokio::net::TcpStream>>,
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n{a}\r\n", a.len()).into_bytes());
    }
    out
}

/// A plain connection to `url`, apart from the feed (for the marker).
async fn admin(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("a Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("admin connection")
}

impl Monitor {
    /// Connect to the Redis at `url` (authenticating as its URL says) and start `MONITOR`.
    ///
    /// # Panics
    /// When `url` is not a TCP Redis URL, Redis cannot be reached, or it refuses `MONITOR`.
    pub async fn start(url: &str) -> Monitor {
        let info = redis::Client::open(url)
            .expect("a Redis URL")
            .get_connection_info()
            .clone();
        let redis::ConnectionAddr::Tcp(host, port) = &info.addr else {
            panic!("MONITOR needs a TCP Redis URL");
        };
        let mut stream = tokio::net::TcpStream::connect((host.as_str(), *port))
            .await
            .expect("connect for MONITOR");
        let mut hello = Vec::new();
        if let Some(password) = &info.redis.password {
            let user = info
                .redis
                .username
                .clone()
                .unwrap_or_else(|| "default".into());
            hello.extend(resp(&["AUTH", &user, password]));
        }
        hello.extend(resp(&["MONITOR"]));
        stream.write_all(&hello).await.expect("send MONITOR");
        let mut lines = BufReader::new(stream).lines();
        loop {
            let l = lines
                .next_line()
                .await
                .expect("read MONITOR's reply")
                .expect("MONITOR reply");
            assert!(l.starts_with('+'), "MONITOR refused: {l}");
            if l == "+OK" {
                break;
            }
        }
        Monitor {
            url: url.to_owned(),
            lines,
        }
    }

    /// Everything the server executed until now: sends a marker from another connection and returns the
    /// lines before it (`MONITOR` reports commands in execution order).
    ///
    /// # Panics
    /// When the feed goes quiet for 30 s before the marker, or closes.
    pub async fn drain(&mut self) -> Vec<String> {
        let marker = format!("keycard-marker-{}", keycard::SessionId::generate().to_hex());
        let _: String = redis::cmd("ECHO")
            .arg(&marker)
            .query_async(&mut admin(&self.url).await)
            .await
            .expect("ECHO the marker");
        let mut out = Vec::new();
        loop {
            let l = tokio::time::timeout(Duration::from_secs(30), self.lines.next_line())
                .await
                .expect("MONITOR went quiet before the marker")
                .expect("read the MONITOR feed")
                .expect("MONITOR connection closed");
            if l.contains(&marker) {
                return out;
            }
            out.push(l);
        }
    }
}

/// The lines of a [`Monitor::drain`] sent by the client at `addr` (not the commands its scripts ran:
/// those show as `lua]`).
pub fn sent_by(lines: &[String], addr: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.contains(&format!(" {addr}] ")))
        .cloned()
        .collect()
}

/// The address Redis lists for the client of `connection` (`CLIENT INFO`'s `addr=`): what
/// [`sent_by`] filters on.
///
/// # Panics
/// When `CLIENT INFO` fails or has no `addr=`.
pub async fn client_addr(connection: &mut impl ConnectionLike) -> String {
    let info: String = redis::cmd("CLIENT")
        .arg("INFO")
        .query_async(connection)
        .await
        .expect("CLIENT INFO");
    info.split_whitespace()
        .find_map(|f| f.strip_prefix("addr="))
        .expect("CLIENT INFO has addr=")
        .to_owned()
}
