//! The history: every operation a client ran (invocation and completion, on one monotonic clock), every
//! fault injected and every memory sample, one JSON object per line.
//!
//! Times are microseconds since the run began (`Instant`-based: the client's monotonic clock, which on
//! one machine is the nodes' too). An operation's outcome follows Jepsen's three kinds: `ok` (it took
//! effect, or a read answered), `fail` (it certainly did not take effect) and `info` (unknown: no
//! response, a timeout, or a write answered 5xx, which may have run in the store all the same).

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// What an operation did (the workload's vocabulary; the checker gives each its meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// `POST /registration`: a new user and its first session.
    SignUp,
    /// `POST /session` with the password (optionally "remember me").
    SignIn,
    /// `GET /me`: the cached user as the session sees it.
    Me,
    /// `GET /session/new` for a CSRF token: a read that may renew the session's token.
    Csrf,
    /// `POST /plan`: the database, then a sync (the session's token rotates): the user's version + 1.
    Plan,
    /// The CLI `users set-plan`: the database, then `put_user` from another process: version + 1.
    PutUser,
    /// `GET /sessions` then `POST /sessions/{id}/delete`: ends one other session.
    RevokeOne,
    /// `POST /sessions/delete-others`: ends every other session of the user.
    RevokeAll,
    /// `POST /account/password`: version + 1, ends every other session of the user.
    Password,
    /// A reopened browser: `GET /me` with only the remember-me cookie; a new session of the series,
    /// which ends the series' older session.
    Reopen,
    /// `POST /session/delete`: ends this session.
    SignOut,
}

impl OpKind {
    /// Whether the operation bumps the user's version by exactly one when it takes effect.
    pub fn writes_user(self) -> bool {
        matches!(self, OpKind::Plan | OpKind::PutUser | OpKind::Password)
    }
}

/// Jepsen's outcome kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpResult {
    /// It took effect (a write) or answered (a read).
    Ok,
    /// It certainly did not take effect.
    Fail,
    /// Unknown: it may have taken effect, at any time after its invocation.
    Info,
}

/// One operation, invoked at `start_us` and completed (or given up) at `end_us`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// Unique in the run.
    pub id: u64,
    /// The client (one task) that ran it.
    pub client: u32,
    /// What it did.
    pub kind: OpKind,
    /// The user it acted as or on (an email).
    pub user: String,
    /// The logical session whose cookie it sent (one per sign-in; a token rotation keeps it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The app node it went to (`None`: the CLI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<u32>,
    /// Invocation, µs since the run began.
    pub start_us: u64,
    /// Completion (or the client giving up), µs since the run began.
    pub end_us: u64,
    /// The HTTP status (`None`: no response).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The outcome.
    pub result: OpResult,
    /// The client timed out waiting for the answer (a hang).
    #[serde(default, skip_serializing_if = "is_false")]
    pub timed_out: bool,
    /// Why there was no (usable) answer, when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The server answered as this user (the `/me` email, or a form that only a signed-in user passes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_user: Option<String>,
    /// The server treated the session as signed out (`/me` 401, a page's redirect to sign-in).
    #[serde(default, skip_serializing_if = "is_false")]
    pub anonymous: bool,
    /// The user's version the answer showed (`/me`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The logical session the operation created (sign-up, sign-in, reopen), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creates: Option<String>,
    /// The sessions the operation ends if it takes effect (its specification, fixed at invocation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ends: Vec<String>,
    /// A sign-in whose client is sure of the account and its password (no sign-up or password change of
    /// theirs with a lost answer): it may be throttled or fail closed, never refused as wrong.
    #[serde(default, skip_serializing_if = "is_false")]
    pub sure_of_password: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A fault, from its injection to its healing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultEvent {
    /// What kind (`node-kill`, `redis-pause`, `pubsub-kill`, `master-kill`, `pg-terminate`,
    /// `proxy-latency`, `proxy-reset`).
    pub kind: String,
    /// What it hit (`node 1`, `127.0.0.1:7101`, …).
    pub target: String,
    /// Injected, µs since the run began.
    pub start_us: u64,
    /// Healed (the node listening again, the failover done, the pause over), µs since the run began.
    pub end_us: u64,
    /// Anything worth reading later (how many connections were killed, …).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl FaultEvent {
    /// A failover of a Redis Cluster master: writes it acknowledged shortly before may be lost
    /// (asynchronous replication; docs/DESIGN.md, "Redis Cluster").
    pub fn is_failover(&self) -> bool {
        self.kind == "master-kill"
    }
}

/// One reading of a node's resident memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RssSample {
    /// The node.
    pub node: u32,
    /// Its process (a restarted node is a new series).
    pub pid: u32,
    /// When, µs since the run began.
    pub at_us: u64,
    /// `VmRSS`, KiB.
    pub rss_kib: u64,
}

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// An operation.
    Op(Op),
    /// A fault.
    Fault(FaultEvent),
    /// A memory sample.
    Rss(RssSample),
}

/// A whole history, split by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Every operation, in the order they completed.
    pub ops: Vec<Op>,
    /// Every fault.
    pub faults: Vec<FaultEvent>,
    /// Every memory sample.
    pub rss: Vec<RssSample>,
}

impl History {
    /// Add one event.
    pub fn push(&mut self, event: Event) {
        match event {
            Event::Op(op) => self.ops.push(op),
            Event::Fault(f) => self.faults.push(f),
            Event::Rss(r) => self.rss.push(r),
        }
    }

    /// Read a JSON-lines history file.
    pub fn read(path: &Path) -> Result<History, HistoryError> {
        let file = std::fs::File::open(path)?;
        let mut history = History::default();
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let event = serde_json::from_str(&line).map_err(|e| HistoryError::Parse {
                line: n + 1,
                message: e.to_string(),
            })?;
            history.push(event);
        }
        Ok(history)
    }
}

/// A history file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// I/O.
    #[error("history file: {0}")]
    Io(#[from] std::io::Error),
    /// A line that is not an event.
    #[error("history line {line}: {message}")]
    Parse {
        /// 1-based.
        line: usize,
        /// serde's message.
        message: String,
    },
}

/// The run's clock and its history, shared by every client and the fault injector: each event is kept
/// in memory (for the checker) and written as one line (for a later `keycard-soak check`).
#[derive(Clone)]
pub struct Recorder {
    began: Instant,
    inner: Arc<Mutex<RecorderInner>>,
}

struct RecorderInner {
    history: History,
    file: std::io::BufWriter<std::fs::File>,
    next_id: u64,
    write_error: Option<String>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder writing to `path` (created or truncated); the run's clock starts now.
    pub fn create(path: &Path) -> Result<Recorder, HistoryError> {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        Ok(Recorder {
            began: Instant::now(),
            inner: Arc::new(Mutex::new(RecorderInner {
                history: History::default(),
                file,
                next_id: 1,
                write_error: None,
            })),
        })
    }

    /// µs since the run began.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.began.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// A fresh operation id.
    pub fn next_id(&self) -> u64 {
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        id
    }

    /// Record one event.
    pub fn record(&self, event: Event) {
        let mut inner = self.lock();
        match serde_json::to_string(&event) {
            Ok(line) => {
                if let Err(e) = writeln!(inner.file, "{line}") {
                    inner.write_error.get_or_insert(e.to_string());
                }
            }
            Err(e) => {
                inner.write_error.get_or_insert(e.to_string());
            }
        }
        inner.history.push(event);
    }

    /// Flush the file and hand back the history so far (with the first write error, if any).
    pub fn finish(&self) -> (History, Option<String>) {
        let mut inner = self.lock();
        if let Err(e) = inner.file.flush() {
            inner.write_error.get_or_insert(e.to_string());
        }
        (inner.history.clone(), inner.write_error.clone())
    }

    /// A snapshot of the history so far.
    pub fn snapshot(&self) -> History {
        self.lock().history.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RecorderInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
