//! The run's settings: its command-line flags (`bench/run.sh` passes its own through), and what they
//! default to.

use std::path::{Path, PathBuf};

use clap::builder::PossibleValuesParser;

use crate::server::KINDS;

/// The flags of `keycard-bench run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// A smoke run: 1 round of 2 s, store sizes up to 10^5 (unless given).
    #[arg(long)]
    pub quick: bool,
    /// Users in the users table.
    #[arg(long, default_value_t = 10_000)]
    pub users: u64,
    /// Seconds per wrk run, 1..=60 [default: 4, 2 with --quick].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub duration: Option<u64>,
    /// wrk connections.
    #[arg(long, default_value_t = 64)]
    pub connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    pub threads: u32,
    /// Rounds per server, 1..=20 [default: 5, 1 with --quick].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=20))]
    pub rounds: Option<u64>,
    /// Signed-in sessions the `GET /me` runs spread over, 1..=1000: users 1..=N sign in once each and wrk
    /// sends each request with the next cookie (a Lua `request` function). 1: one cookie on every
    /// connection (a header, no Lua per request).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub sessions: u64,
    /// Clients signing in during the sign-in-under-load measurement.
    #[arg(long, default_value_t = 8)]
    pub signin_clients: u32,
    /// Live-session counts of the memory store scale runs, comma-separated [default: 1000,100000,1000000;
    /// 1000,100000 with --quick].
    #[arg(long, value_delimiter = ',')]
    pub store_sizes: Vec<u64>,
    /// Server kinds to run, comma-separated [default: all].
    #[arg(long, value_delimiter = ',', value_parser = PossibleValuesParser::new(KINDS.iter().copied()))]
    pub kinds: Vec<String>,
    /// Work directory (users table, logs, Lua scripts) [default: target/bench-run beside the binary].
    #[arg(long)]
    pub work: Option<PathBuf>,
    /// Also write the report to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the SVG charts go [default: beside `--out`, else the work directory].
    #[arg(long)]
    pub charts: Option<PathBuf>,
}

pub struct Config {
    pub users: u64,
    pub duration_s: u64,
    pub connections: u32,
    pub threads: u32,
    pub sessions: u64,
    pub rounds: usize,
    pub signin_clients: u32,
    pub store_sizes: Vec<u64>,
    pub kinds: Vec<String>,
    pub work: PathBuf,
    pub out: Option<PathBuf>,
    /// The directory of the SVG charts.
    pub charts: PathBuf,
}

impl Config {
    /// The settings of `keycard-bench run`; `exe` is this binary (the work dir defaults beside it).
    pub fn from_args(args: RunArgs, exe: &Path) -> Config {
        let quick = args.quick;
        // target/release/keycard-bench -> target/bench-run
        let default_work = exe
            .parent()
            .and_then(Path::parent)
            .map(|t| t.join("bench-run"))
            .unwrap_or_else(|| PathBuf::from("bench-run"));
        let rounds = args.rounds.unwrap_or(if quick { 1 } else { 5 });
        Config {
            users: args.users,
            duration_s: args.duration.unwrap_or(if quick { 2 } else { 4 }),
            connections: args.connections,
            sessions: args.sessions,
            threads: args.threads,
            // 1..=20 (checked by the parser).
            rounds: usize::try_from(rounds).unwrap_or(1),
            signin_clients: args.signin_clients,
            store_sizes: match args.store_sizes {
                s if !s.is_empty() => s,
                _ if quick => vec![1_000, 100_000],
                _ => vec![1_000, 100_000, 1_000_000],
            },
            kinds: if args.kinds.is_empty() {
                KINDS.iter().map(|s| s.to_string()).collect()
            } else {
                args.kinds
            },
            charts: args.charts.unwrap_or_else(|| {
                match args.out.as_deref().and_then(Path::parent) {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => args.work.clone().unwrap_or_else(|| default_work.clone()),
                }
            }),
            work: args.work.unwrap_or(default_work),
            out: args.out,
        }
    }
}
