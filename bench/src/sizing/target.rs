//! The store under measurement: how to open it empty, and how many bytes it holds (its footprint), each
//! the way an operator would read it for that store:
//!
//! | store | footprint |
//! |---|---|
//! | memory | the process's VmRSS |
//! | SQLite | `page_count × page_size` after `PRAGMA wal_checkpoint(TRUNCATE)` (the WAL folded back in) |
//! | PostgreSQL | `pg_total_relation_size` (heap, indexes, TOAST) summed over keycard's tables |
//! | Redis | `INFO memory` `used_memory` |
//! | Redis Cluster | `used_memory` summed over the masters (the replicas' sum reported beside it) |

use std::path::PathBuf;
use std::sync::Arc;

use keycard::{MemoryStore, Store};
use serde_json::json;

use super::nodes::{self, Node};
use crate::common::{vm_rss_kib, BenchUser};

/// The table prefix of the PostgreSQL runs (its tables are emptied with `TRUNCATE` before each run).
pub const PG_PREFIX: &str = "kcsize_";

/// Which store (`--store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Memory,
    Sqlite,
    Postgres,
    Redis,
    Cluster,
}

impl Kind {
    pub fn parse(s: &str) -> Result<Kind, String> {
        Ok(match s {
            "memory" => Kind::Memory,
            "sqlite" => Kind::Sqlite,
            "postgres" => Kind::Postgres,
            "redis" => Kind::Redis,
            "cluster" => Kind::Cluster,
            other => return Err(format!("unknown store {other:?}")),
        })
    }
}

pub const KINDS: [&str; 5] = ["memory", "sqlite", "postgres", "redis", "cluster"];

/// Where each store lives (`store-size`'s flags).
#[derive(Debug, Clone)]
pub struct Places {
    pub sqlite_path: PathBuf,
    pub postgres_url: String,
    pub redis_url: String,
    pub cluster_url: String,
    /// `FLUSHALL` the Redis (every master of the cluster) before the run: only for a Redis of one's own.
    pub flush: bool,
    /// The SQL stores' operation timeout.
    pub sql_timeout: std::time::Duration,
}

enum Backend {
    Memory,
    Sqlite(Arc<keycard_sqlx::SqliteStore>, PathBuf),
    Postgres(Arc<keycard_sqlx::PostgresStore>),
    /// The nodes whose `INFO` is read: one Redis, or every node of the cluster.
    Redis(Vec<Node>),
}

/// The store, opened empty.
pub struct Target {
    pub kind: Kind,
    pub store: Arc<dyn Store<BenchUser>>,
    backend: Backend,
}

/// The bytes a store holds, and how they divide.
#[derive(Debug, Clone)]
pub struct Footprint {
    pub bytes: u64,
    pub detail: serde_json::Value,
}

fn remove_sqlite(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

impl Target {
    pub async fn open(kind: Kind, places: &Places) -> Result<Target, String> {
        let (store, backend): (Arc<dyn Store<BenchUser>>, Backend) = match kind {
            Kind::Memory => (Arc::new(MemoryStore::<BenchUser>::new()), Backend::Memory),
            Kind::Sqlite => {
                remove_sqlite(&places.sqlite_path);
                let url = format!("sqlite://{}", places.sqlite_path.display());
                let s = keycard_sqlx::SqliteStore::connect_and_migrate(
                    &url,
                    keycard_sqlx::SqlConfig::default().with_operation_timeout(places.sql_timeout),
                )
                .await
                .map_err(|e| format!("sqlite store at {url}: {e}"))?;
                let s = Arc::new(s);
                (s.clone(), Backend::Sqlite(s, places.sqlite_path.clone()))
            }
            Kind::Postgres => {
                let config = keycard_sqlx::SqlConfig::default()
                    .with_table_prefix(PG_PREFIX)
                    .with_max_connections(16)
                    .with_operation_timeout(places.sql_timeout);
                let s =
                    keycard_sqlx::PostgresStore::connect_and_migrate(&places.postgres_url, config)
                        .await
                        .map_err(|e| format!("postgres store: {e}"))?;
                sqlx::query(&format!("TRUNCATE {PG_PREFIX}sessions, {PG_PREFIX}users"))
                    .execute(s.pool())
                    .await
                    .map_err(|e| format!("empty the sizing tables: {e}"))?;
                let s = Arc::new(s);
                (s.clone(), Backend::Postgres(s))
            }
            Kind::Redis | Kind::Cluster => {
                let url = if kind == Kind::Redis {
                    &places.redis_url
                } else {
                    &places.cluster_url
                };
                let nodes = nodes::discover(url)?;
                if places.flush {
                    nodes::flush_masters(&nodes)?;
                }
                (redis_store(url).await?, Backend::Redis(nodes))
            }
        };
        Ok(Target {
            kind,
            store,
            backend,
        })
    }

    /// The nodes of a Redis or a cluster (none for the other stores).
    pub fn nodes(&self) -> &[Node] {
        match &self.backend {
            Backend::Redis(n) => n,
            _ => &[],
        }
    }

    pub async fn footprint(&self) -> Result<Footprint, String> {
        match &self.backend {
            Backend::Memory => {
                let kib = vm_rss_kib().ok_or("VmRSS unreadable")?;
                Ok(Footprint {
                    bytes: kib * 1024,
                    detail: json!({"vm_rss_kib": kib}),
                })
            }
            Backend::Sqlite(s, _) => sqlite_footprint(s.pool()).await,
            Backend::Postgres(s) => postgres_footprint(s.pool()).await,
            Backend::Redis(n) => {
                let stats = nodes::snapshot(n)?;
                let sum = |master: bool| -> u64 {
                    stats
                        .iter()
                        .filter(|s| s.master == master)
                        .map(|s| s.used_memory)
                        .sum()
                };
                Ok(Footprint {
                    bytes: sum(true),
                    detail: json!({
                        "replicas_used_memory": sum(false),
                        "nodes": stats.iter().map(|s| json!({
                            "addr": s.addr, "master": s.master,
                            "used_memory": s.used_memory, "keys": s.keys,
                        })).collect::<Vec<_>>(),
                    }),
                })
            }
        }
    }

    /// CPU used so far by the PostgreSQL backends serving this database (this run's own database: its
    /// pool's connections), from `/proc/PID/stat`; `None` for the other stores (the Redis nodes' CPU is
    /// read from `INFO`, the memory and SQLite stores run in this process).
    pub async fn server_cpu_us(&self) -> Option<f64> {
        let Backend::Postgres(s) = &self.backend else {
            return None;
        };
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'",
        )
        .fetch_all(s.pool())
        .await
        .ok()?;
        Some(
            pids.iter()
                .filter_map(|&p| crate::driver::procs::proc_cpu_us(p as u32))
                .sum(),
        )
    }

    /// Leave nothing large behind: the SQLite file is removed, the PostgreSQL tables emptied (the Redis is
    /// the caller's own, flushed by the next run or stopped).
    pub async fn cleanup(self) {
        match self.backend {
            Backend::Sqlite(s, path) => {
                s.pool().close().await;
                remove_sqlite(&path);
            }
            Backend::Postgres(s) => {
                let _ = sqlx::query(&format!("TRUNCATE {PG_PREFIX}sessions, {PG_PREFIX}users"))
                    .execute(s.pool())
                    .await;
            }
            Backend::Memory | Backend::Redis(_) => {}
        }
    }
}

async fn sqlite_footprint(pool: &sqlx::SqlitePool) -> Result<Footprint, String> {
    let e = |what: &str, err: sqlx::Error| format!("sqlite {what}: {err}");
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(pool)
        .await
        .map_err(|err| e("checkpoint", err))?;
    let pragma = |name: &'static str| async move {
        sqlx::query_scalar::<_, i64>(&format!("PRAGMA {name}"))
            .fetch_one(pool)
            .await
            .map_err(|err| e(name, err))
    };
    let (pages, size, free) = (
        pragma("page_count").await?,
        pragma("page_size").await?,
        pragma("freelist_count").await?,
    );
    // Per table and index, when this SQLite has the `dbstat` table (the bundled one does).
    let by_name: Vec<(String, i64)> = sqlx::query_as(
        "SELECT name, CAST(SUM(pgsize) AS INTEGER) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 8",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_default();
    Ok(Footprint {
        bytes: (pages * size) as u64,
        detail: json!({"page_count": pages, "page_size": size, "freelist_count": free,
            "dbstat": by_name.into_iter().map(|(n, b)| json!({"name": n, "bytes": b})).collect::<Vec<_>>()}),
    })
}

async fn postgres_footprint(pool: &sqlx::PgPool) -> Result<Footprint, String> {
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT c.relname::text, pg_total_relation_size(c.oid), pg_relation_size(c.oid), \
         pg_indexes_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname LIKE $1 ORDER BY 2 DESC",
    )
    .bind(format!("{}%", PG_PREFIX.replace('_', "\\_")))
    .fetch_all(pool)
    .await
    .map_err(|e| format!("postgres relation sizes: {e}"))?;
    let total: i64 = rows.iter().map(|r| r.1).sum();
    Ok(Footprint {
        bytes: total as u64,
        detail: json!(rows
            .iter()
            .filter(|r| r.1 > 0)
            .map(|(name, total, heap, idx)| json!({"table": name, "total": total, "heap": heap, "indexes": idx}))
            .collect::<Vec<_>>()),
    })
}

#[cfg(feature = "redis")]
async fn redis_store(url: &str) -> Result<Arc<dyn Store<BenchUser>>, String> {
    crate::keycard_srv::redis_store(url, "kcsize:", false).await
}

#[cfg(not(feature = "redis"))]
async fn redis_store(_url: &str) -> Result<Arc<dyn Store<BenchUser>>, String> {
    Err("built without the `redis` feature".to_owned())
}
