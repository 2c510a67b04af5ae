//! The shared stores of one configuration, all the run's own (a scratch database on the shared
//! PostgreSQL, a `redis-server` on a port of its own, a Redis Cluster on ports of its own), the fault
//! proxy in front of one link, and the settings every node and the CLI get.

mod cluster;
mod postgres;
mod redis;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use cluster::OwnCluster;
pub use postgres::ScratchDb;
pub use redis::{command as redis_command, OwnRedis};

use crate::proxy::FaultProxy;

/// The shared configurations the soak runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Setup {
    /// Users and sessions in PostgreSQL, each node with its near cache (LISTEN/NOTIFY); the proxy sits
    /// on the PostgreSQL link.
    PostgresNear,
    /// Users in PostgreSQL, sessions in a Redis of the run's own, each node with its near cache
    /// (PUBLISH); the proxy sits on the Redis link.
    RedisNear,
    /// Users in PostgreSQL, sessions on a Redis Cluster of the run's own, each node with its near
    /// cache (SSUBSCRIBE per master); the proxy sits on the PostgreSQL link.
    RedisCluster,
}

impl Setup {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Setup::PostgresNear => "postgres-near",
            Setup::RedisNear => "redis-near",
            Setup::RedisCluster => "redis-cluster",
        }
    }
}

/// Where the services are and go.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// The shared PostgreSQL's administrative URL (a scratch database is made beside `test`).
    pub postgres_url: String,
    /// The run's own `redis-server` port (redis-near).
    pub redis_port: u16,
    /// The run's own cluster's first port (redis-cluster).
    pub cluster_base: u16,
    /// scripts/redis-cluster.sh.
    pub cluster_script: PathBuf,
    /// The run's directory.
    pub dir: PathBuf,
    /// Unique to the run: in the database name and the key prefix.
    pub tag: String,
}

/// A configuration's running services.
#[derive(Debug)]
pub struct Services {
    /// Which configuration.
    pub setup: Setup,
    /// The scratch database.
    pub db: ScratchDb,
    /// The run's own Redis (redis-near).
    pub redis: Option<OwnRedis>,
    /// The run's own cluster (redis-cluster).
    pub cluster: Option<OwnCluster>,
    /// The fault proxy.
    pub proxy: FaultProxy,
    /// Which link the proxy is on (`postgres`, `redis`).
    pub proxied: &'static str,
    /// `DATABASE_URL`, `CACHE_URL`, `CACHE_KEY_PREFIX`.
    pub env: Vec<(String, String)>,
}

fn postgres_addr(url: &str) -> Result<SocketAddr, String> {
    let host_port = url
        .split_once('@')
        .map_or(url, |(_, rest)| rest)
        .trim_start_matches("postgres://")
        .split('/')
        .next()
        .unwrap_or_default();
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    let host_port = host_port.replace("localhost", "127.0.0.1");
    host_port
        .parse()
        .map_err(|_| format!("the PostgreSQL URL must name a loopback IP:PORT, not {host_port:?}"))
}

impl Services {
    /// Start everything `setup` needs.
    pub async fn start(setup: Setup, opts: &ServiceOptions) -> Result<Services, String> {
        let pg = postgres_addr(&opts.postgres_url)?;
        if !pg.ip().is_loopback() {
            return Err(format!("only loopback targets: {pg}"));
        }
        let name = format!("keycard_soak_{}", opts.tag.replace('-', "_"));
        let db = ScratchDb::create(&opts.postgres_url, &name)
            .await
            .map_err(|e| format!("scratch database {name}: {e}"))?;
        let links = match Links::start(setup, opts, &db, pg).await {
            Ok(links) => links,
            Err(e) => {
                // Nothing is left behind by a run that could not start.
                if let Err(drop) = db.drop_db().await {
                    tracing::warn!(database = %db.name, error = %drop, "scratch database not dropped");
                }
                return Err(e);
            }
        };
        let Links {
            redis,
            cluster,
            proxy,
            proxied,
            database_url,
            cache_url,
        } = links;
        let prefix = format!("soak-{}:", opts.tag);
        let env = vec![
            ("DATABASE_URL".to_owned(), database_url),
            ("CACHE_URL".to_owned(), cache_url),
            ("CACHE_KEY_PREFIX".to_owned(), prefix),
            ("CACHE_NEAR".to_owned(), "on".to_owned()),
        ];
        Ok(Services {
            setup,
            db,
            redis,
            cluster,
            proxy,
            proxied,
            env,
        })
    }

    /// Stop everything this run started (the scratch database dropped, the cluster's data removed).
    pub async fn stop(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        self.proxy.stop();
        if let Some(r) = self.redis.as_mut() {
            r.stop().await;
        }
        if let Some(c) = self.cluster.as_ref() {
            if let Err(e) = c.stop().await {
                problems.push(e);
            }
        }
        if let Err(e) = self.db.drop_db().await {
            problems.push(format!("drop database {}: {e}", self.db.name));
        }
        problems
    }
}

/// The links of a configuration: its own Redis or cluster, the proxy, the URLs the nodes get.
struct Links {
    redis: Option<OwnRedis>,
    cluster: Option<OwnCluster>,
    proxy: FaultProxy,
    proxied: &'static str,
    database_url: String,
    cache_url: String,
}

impl Links {
    async fn start(
        setup: Setup,
        opts: &ServiceOptions,
        db: &ScratchDb,
        pg: SocketAddr,
    ) -> Result<Links, String> {
        let direct = db.url_at(&pg.to_string());
        let mut redis = None;
        let mut cluster = None;
        let (proxy, proxied, database_url, cache_url) = match setup {
            Setup::PostgresNear => {
                let proxy = FaultProxy::start(pg).await.map_err(|e| e.to_string())?;
                let url = db.url_at(&proxy.listen.to_string());
                (proxy, "postgres", url, "database".to_owned())
            }
            Setup::RedisNear => {
                let own = OwnRedis::start(opts.redis_port, &opts.dir).await?;
                let upstream = SocketAddr::from(([127, 0, 0, 1], own.port));
                let proxy = FaultProxy::start(upstream)
                    .await
                    .map_err(|e| e.to_string())?;
                redis = Some(own);
                let cache = format!("redis://{}", proxy.listen);
                (proxy, "redis", direct.clone(), cache)
            }
            Setup::RedisCluster => {
                let own = OwnCluster::start(
                    &opts.cluster_script,
                    opts.cluster_base,
                    &opts.dir.join("cluster"),
                )
                .await?;
                let proxy = FaultProxy::start(pg).await.map_err(|e| e.to_string())?;
                let url = db.url_at(&proxy.listen.to_string());
                let cache = own.url();
                cluster = Some(own);
                (proxy, "postgres", url, cache)
            }
        };
        Ok(Links {
            redis,
            cluster,
            proxy,
            proxied,
            database_url,
            cache_url,
        })
    }
}
