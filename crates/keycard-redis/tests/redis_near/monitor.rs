//! A `MONITOR` feed on a raw connection (as in `tests/redis/round_trip.rs`), to show which commands a
//! given client sent.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::common::admin;

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

impl Monitor {
    pub async fn start(url: &str) -> Monitor {
        let info = redis::Client::open(url)
            .unwrap()
            .get_connection_info()
            .clone();
        let redis::ConnectionAddr::Tcp(host, port) = &info.addr else {
            panic!("MONITOR needs a TCP Redis URL");
        };
        let mut stream = tokio::net::TcpStream::connect((host.as_str(), *port))
            .await
            .unwrap();
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
        stream.write_all(&hello).await.unwrap();
        let mut lines = BufReader::new(stream).lines();
        loop {
            let l = lines.next_line().await.unwrap().expect("MONITOR reply");
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
    pub async fn drain(&mut self) -> Vec<String> {
        let marker = format!("keycard-marker-{}", keycard::SessionId::generate().to_hex());
        let _: String = redis::cmd("ECHO")
            .arg(&marker)
            .query_async(&mut admin(&self.url).await)
            .await
            .unwrap();
        let mut out = Vec::new();
        loop {
            let l = tokio::time::timeout(Duration::from_secs(30), self.lines.next_line())
                .await
                .expect("MONITOR went quiet before the marker")
                .unwrap()
                .expect("MONITOR connection closed");
            if l.contains(&marker) {
                return out;
            }
            out.push(l);
        }
    }
}

/// The lines sent by the client at `addr` (not the commands its scripts ran: those show as `lua]`).
pub fn from(lines: &[String], addr: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.contains(&format!(" {addr}] ")))
        .cloned()
        .collect()
}
