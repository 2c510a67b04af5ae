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
//!
//! Start it with `bench/run.sh`.

mod common;
mod driver;
mod init_db;
mod keycard_srv;
mod layer_cost;
mod server;
mod store_bench;

use common::Args;

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match argv.split_first() {
        Some((c, rest)) if !c.starts_with("--") => (c.as_str(), rest),
        _ => ("run", argv.as_slice()),
    };
    let result = Args::parse(rest).and_then(|args| match cmd {
        "run" => driver::main(&args),
        "server" => server::main(&args),
        "init-db" => init_db::main(&args),
        "store-scale" => store_bench::scale(&args),
        "put-user" => store_bench::put_user(&args),
        "layer-cost" => layer_cost::main(&args),
        other => Err(format!(
            "unknown command {other:?}: run | server | init-db | store-scale | put-user | layer-cost"
        )),
    });
    if let Err(e) = result {
        eprintln!("keycard-bench {cmd}: {e}");
        std::process::exit(1);
    }
}
