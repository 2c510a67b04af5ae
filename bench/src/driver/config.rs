//! The run's settings, from its command-line arguments.

use std::path::{Path, PathBuf};

use crate::common::Args;
use crate::server::KINDS;

pub struct Config {
    pub users: u64,
    pub duration_s: u64,
    pub connections: u32,
    pub threads: u32,
    pub rounds: usize,
    pub signin_clients: u32,
    pub store_sizes: Vec<u64>,
    pub kinds: Vec<String>,
    pub work: PathBuf,
    pub out: Option<PathBuf>,
}

impl Config {
    /// The settings of `keycard-bench run`; `exe` is this binary (the work dir defaults beside it).
    pub fn from_args(args: &Args, exe: &Path) -> Result<Config, String> {
        let quick = args.flag("quick");
        // target/release/keycard-bench -> target/bench-run
        let default_work = exe
            .parent()
            .and_then(Path::parent)
            .map(|t| t.join("bench-run"))
            .unwrap_or_else(|| PathBuf::from("bench-run"));
        let kinds: Vec<String> = match args.get("kinds") {
            Some(list) => list.split(',').map(str::to_owned).collect(),
            None => KINDS.iter().map(|s| s.to_string()).collect(),
        };
        for k in &kinds {
            if !KINDS.contains(&k.as_str()) {
                return Err(format!("unknown kind {k:?}; known: {KINDS:?}"));
            }
        }
        let cfg = Config {
            users: args.num_or("users", 10_000)?,
            duration_s: args.num_or("duration", if quick { 2 } else { 4 })?,
            connections: args.num_or("connections", 64)?,
            threads: args.num_or("threads", 2)?,
            rounds: args.num_or("rounds", if quick { 1 } else { 5 })?,
            signin_clients: args.num_or("signin-clients", 8)?,
            store_sizes: match args.get("store-sizes") {
                Some(s) => s
                    .split(',')
                    .map(|x| x.parse().map_err(|_| format!("--store-sizes: {x:?}")))
                    .collect::<Result<_, _>>()?,
                None if quick => vec![1_000, 100_000],
                None => vec![1_000, 100_000, 1_000_000],
            },
            kinds,
            work: args.get("work").map(PathBuf::from).unwrap_or(default_work),
            out: args.get("out").map(PathBuf::from),
        };
        if cfg.rounds == 0 || cfg.rounds > 20 || cfg.duration_s == 0 || cfg.duration_s > 60 {
            return Err("--rounds must be 1..=20 and --duration 1..=60 (seconds)".to_owned());
        }
        Ok(cfg)
    }
}
