//! What every client shares (a leaf: the clients import it).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::history::Recorder;

/// What every client shares.
#[derive(Debug)]
pub struct Ctx {
    /// The history.
    pub rec: Recorder,
    /// Every node's `http://127.0.0.1:PORT`.
    pub nodes: Vec<String>,
    /// The demo's CLI, for `users set-plan` (its `put_user`).
    pub cli: CliCommand,
    /// How long a client waits for an answer: past it, a hang.
    pub timeout: Duration,
    /// The documented propagation bound (one near-cache lease).
    pub bound: Duration,
    /// When the clients stop starting operations.
    pub deadline: Instant,
    /// A tag unique to the run, in every email.
    pub run_tag: String,
    /// The seed the clients' generators start from.
    pub seed: u64,
}

/// The demo binary and the environment its CLI runs with.
#[derive(Debug, Clone)]
pub struct CliCommand {
    /// `keycard-demo`.
    pub binary: PathBuf,
    /// `DATABASE_URL`, `CACHE_URL`, `SECRET_KEY`, ….
    pub env: Vec<(String, String)>,
    /// Its working directory.
    pub dir: PathBuf,
}
