//! The benchmark harness of issue 5. One binary, several commands:
//!
//! | command | what it does |
//! |---|---|
//! | `run` (default) | the whole benchmark: builds the db, starts the servers, drives wrk, prints the report |
//! | `server --kind K --port P --db PATH [--argon2]` | one server under test |
//! | `init-db --db PATH --users N` | the users table |
//! | `store-scale --sessions N` | memory store RSS, `fetch` latency and `sweep` with N sessions |
//! | `put-user --store memory\|redis` | `put_user` for a user with 1 vs 10,000 sessions |
//! | `layer-cost --db PATH` | in-process ns per `GET /me` through the `bare` and `keycard-memory` routers |
//! | `store-size --store S --sessions N` | one store (memory, sqlite, postgres, redis, cluster) with N sessions: bytes per session, latencies, load, sweep |
//! | `sizing` | issue 23's sizing runs: `store-size` per store and size, tables and SVG charts (`bench/sizing.sh`) |
//!
//! `keycard-bench --help` (and `keycard-bench COMMAND --help`) lists every flag. Start it with `bench/run.sh`.

mod axum_login_srv;
mod common;
mod driver;
mod init_db;
mod keycard_srv;
mod layer_cost;
mod resp;
mod server;
mod serving;
mod sizing;
mod store_bench;

use clap::{Parser, Subcommand};

/// keycard vs bare axum vs axum-login: signed-in GET /me throughput and latency, store scale.
#[derive(Debug, Parser)]
#[command(name = "keycard-bench", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no command: the flags of `run`.
    #[command(flatten)]
    run: driver::RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The whole benchmark (the default): users table, servers, wrk rounds, store measurements, report.
    Run(driver::RunArgs),
    /// One server under test.
    Server(server::ServerArgs),
    /// The users table every server reads.
    InitDb(init_db::InitDbArgs),
    /// Memory store RSS, `fetch` latency and `sweep` with N live sessions.
    StoreScale(store_bench::ScaleArgs),
    /// `put_user` for a user with 1 session vs one with 10,000.
    PutUser(store_bench::PutUserArgs),
    /// In-process ns per `GET /me` through the `bare` and `keycard-memory` routers.
    LayerCost(layer_cost::LayerCostArgs),
    /// One store with N live sessions: bytes per session, sign-in, `fetch`, `put_user`, load, sweep.
    StoreSize(sizing::SizeArgs),
    /// Issue 23's sizing runs: `store-size` per store and session count, tables, charts.
    Sizing(driver::sizing::SizingArgs),
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Run(_) => "run",
            Command::Server(_) => "server",
            Command::InitDb(_) => "init-db",
            Command::StoreScale(_) => "store-scale",
            Command::PutUser(_) => "put-user",
            Command::LayerCost(_) => "layer-cost",
            Command::StoreSize(_) => "store-size",
            Command::Sizing(_) => "sizing",
        }
    }
}

fn main() {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run(cli.run));
    let name = command.name();
    let result = match command {
        Command::Run(args) => driver::main(args),
        Command::Server(args) => server::main(&args),
        Command::InitDb(args) => init_db::main(&args),
        Command::StoreScale(args) => store_bench::scale(&args),
        Command::PutUser(args) => store_bench::put_user(&args),
        Command::LayerCost(args) => layer_cost::main(&args),
        Command::StoreSize(args) => sizing::main(&args),
        Command::Sizing(args) => driver::sizing::main(args),
    };
    if let Err(e) = result {
        eprintln!("keycard-bench {name}: {e}");
        std::process::exit(1);
    }
}
