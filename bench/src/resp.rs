//! Just enough RESP (the Redis protocol) over a plain blocking socket for the harness's own look at a
//! Redis: `PING`, `SELECT`, `SCAN`, `DEL`, `INFO`, `CLUSTER NODES`, `CLUSTER KEYSLOT`, `DBSIZE`,
//! `FLUSHALL`. keycard's own traffic always goes through its store; this is the operator's side.

use std::fmt::Write as _;
use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

#[derive(Debug)]
pub enum RespReply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<String>),
    Array(Vec<RespReply>),
}

/// One connection to one Redis node.
pub struct Resp {
    r: std::io::BufReader<TcpStream>,
    w: TcpStream,
}

impl Resp {
    /// Connect to `addr` (`host:port`), with a 500 ms connect and a 10 s read timeout.
    pub fn connect(addr: &str) -> std::io::Result<Resp> {
        let sock: SocketAddr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address"))?;
        let s = TcpStream::connect_timeout(&sock, Duration::from_millis(500))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Resp {
            r: std::io::BufReader::new(s.try_clone()?),
            w: s,
        })
    }

    pub fn cmd(&mut self, args: &[&str]) -> Result<RespReply, String> {
        let mut m = format!("*{}\r\n", args.len());
        for a in args {
            let _ = write!(m, "${}\r\n{a}\r\n", a.len());
        }
        self.w.write_all(m.as_bytes()).map_err(|e| e.to_string())?;
        match self.read()? {
            RespReply::Error(e) => Err(e),
            ok => Ok(ok),
        }
    }

    /// A command whose reply is a bulk string (`INFO`, `CLUSTER NODES`).
    pub fn text(&mut self, args: &[&str]) -> Result<String, String> {
        match self.cmd(args)? {
            RespReply::Bulk(Some(s)) | RespReply::Simple(s) => Ok(s),
            other => Err(format!("{args:?}: unexpected reply {other:?}")),
        }
    }

    /// A command whose reply is an integer (`DBSIZE`, `CLUSTER KEYSLOT`).
    pub fn int(&mut self, args: &[&str]) -> Result<i64, String> {
        match self.cmd(args)? {
            RespReply::Int(n) => Ok(n),
            other => Err(format!("{args:?}: unexpected reply {other:?}")),
        }
    }

    fn read(&mut self) -> Result<RespReply, String> {
        let mut line = String::new();
        self.r.read_line(&mut line).map_err(|e| e.to_string())?;
        let line = line.trim_end_matches("\r\n");
        let (t, rest) = line.split_at_checked(1).ok_or("empty RESP reply")?;
        let n = || rest.parse::<i64>().map_err(|e| e.to_string());
        Ok(match t {
            "+" => RespReply::Simple(rest.to_owned()),
            "-" => RespReply::Error(rest.to_owned()),
            ":" => RespReply::Int(n()?),
            "$" => {
                let len = n()?;
                if len < 0 {
                    RespReply::Bulk(None)
                } else {
                    let mut buf = vec![0u8; len as usize + 2];
                    self.r.read_exact(&mut buf).map_err(|e| e.to_string())?;
                    buf.truncate(len as usize);
                    RespReply::Bulk(Some(String::from_utf8_lossy(&buf).into_owned()))
                }
            }
            "*" => {
                let len = n()?;
                let mut v = Vec::new();
                for _ in 0..len.max(0) {
                    v.push(self.read()?);
                }
                RespReply::Array(v)
            }
            other => return Err(format!("unexpected RESP type {other:?}")),
        })
    }
}

/// The value of `field` (`used_memory`) in an `INFO` reply.
pub fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines().find_map(|l| {
        l.strip_prefix(field)
            .and_then(|v| v.strip_prefix(':'))
            .map(|v| v.trim().to_owned())
    })
}

/// `calls` of every command in an `INFO commandstats` reply: `(command, calls)`.
pub fn command_calls(info: &str) -> Vec<(String, u64)> {
    info.lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_fields_and_command_calls_parse() {
        let info = "# Memory\r\nused_memory:1234\r\nused_memory_human:1.2K\r\n";
        assert_eq!(info_field(info, "used_memory").as_deref(), Some("1234"));
        let stats = "# Commandstats\r\ncmdstat_evalsha:calls=42,usec=1,usec_per_call=0.1,rejected_calls=0,failed_calls=0\r\ncmdstat_ping:calls=3,usec=0\r\n";
        assert_eq!(
            command_calls(stats),
            vec![("evalsha".to_owned(), 42), ("ping".to_owned(), 3)]
        );
    }
}
