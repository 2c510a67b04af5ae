//! `CredentialsCache::fetch` on the SQL stores: latency percentiles and throughput, with the memory store
//! for reference (the harness: `keycard_store_tests::latency`).
//!
//! ```text
//! cargo bench -p keycard-sqlx --bench fetch
//! ```
//!
//! Rows: SQLite (a fresh file in the system's temporary directory, WAL) with each `SqliteReads` mode,
//! PostgreSQL (`KEYCARD_BENCH_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`, tables
//! under a fresh prefix, dropped at the end; skipped with a line when it does not answer) and memory.
//! `KEYCARD_BENCH_SECS` sets the measured seconds per row (default 10). Arguments cargo passes are
//! ignored.

use std::sync::Arc;

use keycard::MemoryStore;
use keycard_sqlx::{PostgresStore, SqlConfig, SqliteReads, SqliteStore};
use keycard_store_tests::latency::FetchBench;
use keycard_store_tests::services::random_hex;

async fn sqlite(reads: SqliteReads) -> SqliteStore {
    let path = std::env::temp_dir().join(format!("keycard-bench-fetch-{}.db", random_hex(6)));
    SqliteStore::connect_and_migrate(
        &format!("sqlite://{}", path.display()),
        SqlConfig::default().with_sqlite_reads(reads),
    )
    .await
    .expect("a SQLite file in the temporary directory")
}

async fn drop_tables(store: &PostgresStore) {
    let prefix = store.config().table_prefix().to_owned();
    for table in ["sessions", "users", "schema_migrations"] {
        let _ = sqlx::query(&format!("DROP TABLE IF EXISTS {prefix}{table}"))
            .execute(store.pool())
            .await;
    }
}

fn main() {
    let pg_url = std::env::var("KEYCARD_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let bench = FetchBench::from_env();
        bench.header("tokio multi-thread runtime with 2 workers; SQLite file in the temp dir, WAL");
        for (name, reads) in [
            ("sqlite (reads in place)", SqliteReads::InPlace),
            ("sqlite (block_in_place)", SqliteReads::BlockInPlace),
            ("sqlite (through the sqlx pool)", SqliteReads::Pool),
        ] {
            bench.run(name, Arc::new(sqlite(reads).await)).await;
        }
        let config = SqlConfig::default().with_table_prefix(format!("kcb{}_", random_hex(4)));
        match PostgresStore::connect_and_migrate(&pg_url, config).await {
            Ok(pg) => {
                bench.run("postgres", Arc::new(pg.clone())).await;
                drop_tables(&pg).await;
            }
            Err(e) => println!("| postgres | skipped: {e} | | | | | | | |"),
        }
        bench.run("memory", Arc::new(MemoryStore::new())).await;
        bench.footer();
    });
}
