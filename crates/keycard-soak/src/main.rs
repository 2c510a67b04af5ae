//! `keycard-soak run …` (a soak on one configuration, its history checked) and `keycard-soak check
//! HISTORY` (check a history file again). Exit status: 0 when the run's verdict is the expected one
//! (no violation; or, with `--expect-violations`, at least one), 1 when not, 2 when the run could not
//! be set up.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use keycard_soak::checker::{self, CheckConfig, Rule};
use keycard_soak::history::History;
use keycard_soak::report;
use keycard_soak::run::{self, RunOptions};
use keycard_soak::services::{ServiceOptions, Setup};

/// A fault-injection soak of keycard-demo nodes on a shared configuration, with a history checker.
#[derive(Debug, Parser)]
#[command(name = "keycard-soak", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a soak and check its history.
    Run(Box<RunArgs>),
    /// Check a history file (history.jsonl of an earlier run).
    Check {
        /// The history file.
        history: PathBuf,
        /// The propagation bound, in ms (one near-cache lease).
        #[arg(long, default_value_t = 2000)]
        bound_ms: u64,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The configuration.
    #[arg(long, value_enum)]
    setup: Setup,
    /// How long the clients run, in seconds.
    #[arg(long, default_value_t = 120)]
    secs: u64,
    /// App nodes.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Concurrent clients (each its own user and loopback address).
    #[arg(long, default_value_t = 6)]
    clients: u32,
    /// Mean seconds between faults (0: no faults).
    #[arg(long, default_value_t = 6)]
    fault_every: u64,
    /// The keycard-demo binary.
    #[arg(long)]
    demo_bin: PathBuf,
    /// A deliberately broken near cache on the nodes (`KEYCARD_SOAK_FAULT`; needs a demo built with
    /// `--features soak-faults`).
    #[arg(long)]
    soak_fault: Option<String>,
    /// The run is of a broken build: succeed only when the checker finds violations.
    #[arg(long)]
    expect_violations: bool,
    /// The run is of a broken build: succeed only when the checker finds violations of this rule
    /// (implies --expect-violations).
    #[arg(long, value_enum)]
    expect_rule: Option<Rule>,
    /// Where the history, the report and the logs go.
    #[arg(long)]
    out: PathBuf,
    /// The client timeout, in seconds: an answer later than this is a hang.
    #[arg(long, default_value_t = 10)]
    timeout_secs: u64,
    /// The generators' seed (default: random).
    #[arg(long)]
    seed: Option<u64>,
    /// The shared PostgreSQL (a scratch database is created beside it).
    #[arg(
        long,
        env = "KEYCARD_TEST_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres_url: String,
    /// The port of the run's own redis-server (redis-near).
    #[arg(long, default_value_t = 6390)]
    redis_port: u16,
    /// The first of the six ports of the run's own Redis Cluster (redis-cluster).
    #[arg(long, default_value_t = 7100)]
    cluster_base: u16,
    /// scripts/redis-cluster.sh.
    #[arg(long, default_value = "scripts/redis-cluster.sh")]
    cluster_script: PathBuf,
    /// The nodes' renewal interval, in seconds (at least 6: the grace window is 5 s). A due renewal
    /// always asks the store, so the broken-build runs use a long one: their revoked sessions stay
    /// in the near caches.
    #[arg(long, default_value_t = 15)]
    renewal_secs: u64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match Cli::parse().command {
        Command::Check { history, bound_ms } => check(&history, bound_ms),
        Command::Run(args) => run_soak(*args),
    }
}

fn check(path: &std::path::Path, bound_ms: u64) -> ExitCode {
    let history = match History::read(path) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("keycard-soak: {e}");
            return ExitCode::from(2);
        }
    };
    let config = CheckConfig {
        bound_us: bound_ms * 1000,
        ..CheckConfig::default()
    };
    let report = checker::check(&history, &config);
    print!("{}", report::text(&report, None));
    if report.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn run_soak(mut args: RunArgs) -> ExitCode {
    // The nodes and the Redis servers run in the run's directory: every path they get is absolute.
    for path in [&mut args.out, &mut args.demo_bin, &mut args.cluster_script] {
        match std::path::absolute(&*path) {
            Ok(p) => *path = p,
            Err(e) => {
                eprintln!("keycard-soak: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let seed = args.seed.unwrap_or_else(random_seed);
    let tag = format!("{}-{:x}", args.setup.name(), seed & 0xff_ffff);
    let opts = RunOptions {
        setup: args.setup,
        duration: Duration::from_secs(args.secs),
        nodes: args.nodes.max(1),
        clients: args.clients.clamp(1, 200),
        fault_every: Duration::from_secs(args.fault_every),
        demo_bin: args.demo_bin,
        soak_fault: args.soak_fault,
        timeout: Duration::from_secs(args.timeout_secs),
        seed,
        services: ServiceOptions {
            postgres_url: args.postgres_url,
            redis_port: args.redis_port,
            cluster_base: args.cluster_base,
            cluster_script: args.cluster_script,
            dir: args.out.clone(),
            tag,
        },
        renewal_secs: args.renewal_secs,
        check: CheckConfig {
            // The first quarter of a run (at least 30 s) is warm-up: caches, pools and the hashing
            // lanes reach their working size; from then on growth past 128 MiB is a violation.
            warmup_us: (args.secs * 1_000_000 / 4).max(30_000_000),
            ..CheckConfig::default()
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("keycard-soak: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let setup = opts.setup.name();
    let outcome = match runtime.block_on(run::run(opts)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("keycard-soak: {setup}: {e}");
            return ExitCode::from(2);
        }
    };
    let text = report::text(&outcome.report, Some((setup, seed, outcome.wall)));
    print!("{text}");
    for problem in &outcome.cleanup {
        eprintln!("keycard-soak: clean-up: {problem}");
    }
    if let Err(e) = report::write(&args.out, &outcome.report, &text) {
        eprintln!("keycard-soak: {e}");
    }
    let found = match args.expect_rule {
        Some(rule) => outcome.report.by_rule().get(&rule).copied().unwrap_or(0),
        None => outcome.report.violations.len(),
    };
    match (args.expect_violations || args.expect_rule.is_some(), found) {
        (false, 0) => ExitCode::SUCCESS,
        (true, n) if n > 0 => {
            println!("expected violations from the broken build: {n} found (caught)");
            ExitCode::SUCCESS
        }
        (true, _) => {
            println!("expected violations from the broken build: none found (NOT caught)");
            ExitCode::from(1)
        }
        (false, _) => ExitCode::from(1),
    }
}

fn random_seed() -> u64 {
    let mut b = [0u8; 8];
    if getrandom::getrandom(&mut b).is_err() {
        return u64::from(std::process::id());
    }
    u64::from_le_bytes(b)
}
