//! Test helpers shared by the demo's integration tests.
//!
//! [`TestApp`] runs on a temp SQLite file and the memory store by default. Two environment variables run the
//! same suites on the services instead (see [`services`] for their URLs):
//! `KEYCARD_TEST_DATABASE=postgres` (a scratch PostgreSQL database per test, dropped afterwards) and
//! `KEYCARD_TEST_CACHE=redis` (the Redis store, a unique key prefix per test, deleted afterwards), e.g.
//! `KEYCARD_TEST_DATABASE=postgres KEYCARD_TEST_CACHE=redis cargo test -p keycard-demo --test http`;
//! `KEYCARD_TEST_CACHE=redis-cluster` puts the sessions on the Redis Cluster of
//! `scripts/redis-cluster.sh` (`KEYCARD_TEST_REDIS_CLUSTER_URL`).
//! A service asked for this way must be reachable: the test fails otherwise.
#![allow(dead_code)]

pub mod log;
pub mod procs;
pub mod remembered;
pub mod services;

use std::path::{Path, PathBuf};

/// `n` random bytes as hex.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b).expect("random bytes");
    hex::encode(b)
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("keycard-demo-{tag}-{}", random_hex(8)));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use keycard::{ManualClock, Timestamp};
use keycard_demo::app::{self, App};
use keycard_demo::clock::AppClock;
use keycard_demo::config::{CacheBackend, Config};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use reqwest::{redirect, StatusCode, Url};

/// The session cookie's name (plain HTTP, so no `__Host-` prefix).
pub const SESSION_COOKIE: &str = "keycard_session";
/// A password that passes the rules.
pub const PASSWORD: &str = "correct horse battery staple";

/// The real demo router on 127.0.0.1:<ephemeral>, a temp SQLite file, the memory store and a manual clock.
pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub clock: ManualClock,
    pub app: Arc<App>,
    pub config: Config,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _redis_keys: Option<services::RedisKeys>,
    _scratch_db: Option<services::ScratchDb>,
    _dir: TempDir,
}

/// Which database and cache [`TestApp`] uses (`KEYCARD_TEST_DATABASE`: `sqlite` or `postgres`;
/// `KEYCARD_TEST_CACHE`: `memory`, `sqlite` (the users' SQLite file), `postgres` (a PostgreSQL database)
/// or `redis`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backends {
    pub postgres: bool,
    pub redis: bool,
    /// `KEYCARD_TEST_CACHE=redis-cluster`: the Redis store on the shared Redis Cluster.
    pub redis_cluster: bool,
    pub sql_cache: Option<SqlCache>,
}

/// A SQL credentials store for the HTTP suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlCache {
    Sqlite,
    Postgres,
}

impl Backends {
    pub fn from_env() -> Backends {
        let var = |name: &str| {
            std::env::var(name)
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        };
        let db = var("KEYCARD_TEST_DATABASE");
        let cache = var("KEYCARD_TEST_CACHE");
        assert!(
            matches!(db.as_str(), "" | "sqlite" | "postgres"),
            "KEYCARD_TEST_DATABASE must be sqlite or postgres, not {db:?}"
        );
        assert!(
            matches!(
                cache.as_str(),
                "" | "memory" | "redis" | "redis-cluster" | "sqlite" | "postgres"
            ),
            "KEYCARD_TEST_CACHE must be memory, sqlite, postgres, redis or redis-cluster, not {cache:?}"
        );
        Backends {
            postgres: db == "postgres",
            redis: cache == "redis",
            redis_cluster: cache == "redis-cluster",
            sql_cache: match cache.as_str() {
                "sqlite" => Some(SqlCache::Sqlite),
                "postgres" => Some(SqlCache::Postgres),
                _ => None,
            },
        }
    }
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Start with `tweak` applied to the test configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let backends = Backends::from_env();
        let dir = TempDir::new("http");
        let scratch_db = if backends.postgres || backends.sql_cache == Some(SqlCache::Postgres) {
            Some(services::ScratchDb::create(&services::postgres_url(), "http").await)
        } else {
            None
        };
        let sqlite_url = format!("sqlite://{}?mode=rwc", dir.path().join("demo.db").display());
        let url = match &scratch_db {
            Some(db) if backends.postgres => db.url.clone(),
            _ => sqlite_url.clone(),
        };
        let mut config = Config::for_tests(url);
        match (backends.sql_cache, &scratch_db) {
            (Some(SqlCache::Sqlite), _) => config.cache = CacheBackend::Sqlite { url: sqlite_url },
            (Some(SqlCache::Postgres), Some(db)) => {
                config.cache = CacheBackend::Postgres {
                    url: db.url.clone(),
                }
            }
            _ => {}
        }
        let mut redis_keys = None;
        if backends.redis {
            let url = services::redis_url();
            let key_prefix = services::unique_prefix("http");
            redis_keys = Some(services::RedisKeys {
                url: url.clone(),
                prefix: key_prefix.clone(),
            });
            config.cache = CacheBackend::Redis { url, key_prefix };
        }
        if backends.redis_cluster {
            // The keys spread over the cluster's nodes; they expire by themselves.
            config.cache = CacheBackend::Redis {
                url: services::redis_cluster_url(),
                key_prefix: services::unique_prefix("http"),
            };
        }
        tweak(&mut config);
        // Bound first, as `app::run` does, so the app knows its own origin (`http://127.0.0.1:PORT`).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral port");
        let addr = listener.local_addr().expect("local addr");
        config.addr = addr;
        let kept = config.clone();
        // Whole seconds, so database timestamps and cache deadlines line up exactly.
        let now = keycard::Clock::now(&keycard::SystemClock).as_unix_secs();
        let clock = ManualClock::new(Timestamp(now * 1000));
        let app = Arc::new(
            app::build_app(&config, AppClock::new(clock.clone()))
                .await
                .expect("the demo app builds"),
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = app.clone();
        let server = tokio::spawn(async move {
            app::serve(&served, listener, async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestApp {
            base: format!("http://{addr}"),
            addr,
            clock,
            app,
            config: kept,
            shutdown: Some(tx),
            server: Some(server),
            _redis_keys: redis_keys,
            _scratch_db: scratch_db,
            _dir: dir,
        }
    }

    /// A new browser: its own cookie jar, no redirects followed.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.base, None, "keycard-test-browser/1.0")
    }

    /// A browser with its own user agent.
    pub fn browser_as(&self, user_agent: &str) -> Browser {
        Browser::new(&self.base, None, user_agent)
    }

    /// A browser connecting from another loopback address (127.0.0.2, …).
    pub fn browser_from(&self, ip: IpAddr) -> Browser {
        Browser::new(&self.base, Some(ip), "keycard-test-browser/1.0")
    }

    /// A browser at `client` behind a reverse proxy on this machine: every request comes from the proxy's
    /// address (127.0.0.1) with `X-Forwarded-For: client`, as a proxy that appends the client's address
    /// sends it.
    pub fn browser_behind_proxy(&self, client: &str) -> Browser {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_str(client).expect("an address"),
        );
        Browser::build(&self.base, None, "keycard-test-browser/1.0", headers)
    }

    /// A client with no cookie jar: send cookies by hand.
    pub fn raw(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .build()
            .expect("client")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn db(&self) -> &keycard_demo::domain::db::Db {
        &self.app.state.db
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Stop the server and wait for it (graceful shutdown).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(10), server)
                .await
                .expect("graceful shutdown finishes")
                .expect("server task");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A browser: a reqwest client with a cookie jar that does not follow redirects.
pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    base: String,
}

/// A response read to the end.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    /// The `Set-Cookie` headers.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The value a `Set-Cookie` header gives cookie `name`, if any.
    pub fn set_cookie_value(&self, name: &str) -> Option<String> {
        self.set_cookies().into_iter().find_map(|c| {
            let first = c.split(';').next()?.trim().to_owned();
            let (n, v) = first.split_once('=')?;
            (n == name).then(|| v.to_owned())
        })
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// The `_csrf_token` of the first form on the page.
    pub fn csrf_token(&self) -> String {
        csrf_from(&self.body).expect("the page has a form with a CSRF token")
    }
}

/// The `_csrf_token` value in `html`.
pub fn csrf_from(html: &str) -> Option<String> {
    let marker = r#"name="_csrf_token" value=""#;
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// A response read whole: its status, headers and body.
pub async fn read(res: reqwest::Response) -> Page {
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.text().await.expect("response body");
    Page {
        status,
        headers,
        body,
    }
}

impl Browser {
    /// A new browser for the server at `base` (`http://HOST:PORT`).
    pub fn at(base: &str, user_agent: &str) -> Self {
        Browser::new(base, None, user_agent)
    }

    /// The same browser (same client, same cookie jar) talking to the server at `base`: what a browser
    /// behind a load balancer does when its requests land on another node. Cookies are not port-specific,
    /// so another port on the same host sees the same cookies.
    pub fn on(&self, base: &str) -> Browser {
        Browser {
            client: self.client.clone(),
            jar: self.jar.clone(),
            base: base.to_owned(),
        }
    }

    fn new(base: &str, local: Option<IpAddr>, user_agent: &str) -> Self {
        Browser::build(base, local, user_agent, HeaderMap::new())
    }

    fn build(base: &str, local: Option<IpAddr>, user_agent: &str, headers: HeaderMap) -> Self {
        let jar = Arc::new(Jar::default());
        let mut b = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(redirect::Policy::none())
            .user_agent(user_agent.to_owned())
            .default_headers(headers);
        if let Some(ip) = local {
            b = b.local_address(ip);
        }
        Browser {
            client: b.build().expect("client"),
            jar,
            base: base.to_owned(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Page {
        read(self.client.get(self.url(path)).send().await.expect("GET")).await
    }

    /// POST a form exactly as given (no token added).
    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Page {
        read(
            self.client
                .post(self.url(path))
                .form(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// POST a form exactly as given, with extra request headers (`Origin`, `Sec-Fetch-Site`, …), as a
    /// page on another site, or the browser, would send them.
    pub async fn post_with_headers(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut req = self.client.post(self.url(path)).form(form);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send().await.expect("POST")).await
    }

    /// A CSRF token for this browser (from the sign-in page, which sets the CSRF cookie if missing).
    pub async fn csrf(&self) -> String {
        self.get("/session/new").await.csrf_token()
    }

    /// POST a form with this browser's CSRF token, as a page's form would.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        let mut fields: Vec<(&str, &str)> = vec![("_csrf_token", token.as_str())];
        fields.extend_from_slice(form);
        self.post_raw(path, &fields).await
    }

    pub async fn register(&self, email: &str, password: &str) -> Page {
        self.post(
            "/registration",
            &[
                ("email", email),
                ("password", password),
                ("password_confirmation", password),
            ],
        )
        .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.post("/session", &[("email", email), ("password", password)])
            .await
    }

    pub async fn sign_out(&self) -> Page {
        self.post("/session/delete", &[]).await
    }

    /// Register and check it worked.
    pub async fn registered(&self, email: &str) {
        let p = self.register(email, PASSWORD).await;
        assert_eq!(
            p.status,
            StatusCode::SEE_OTHER,
            "registration of {email}: {}",
            p.body
        );
    }

    /// Sign in and check it worked.
    pub async fn signed_in(&self, email: &str) {
        let p = self.sign_in(email, PASSWORD).await;
        assert_eq!(
            p.status,
            StatusCode::SEE_OTHER,
            "sign-in of {email}: {}",
            p.body
        );
    }

    /// The value of cookie `name` in the jar.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url: Url = self.base.parse().expect("base url");
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split("; ").find_map(|kv| {
            let (n, v) = kv.split_once('=')?;
            (n == name).then(|| v.to_owned())
        })
    }

    /// The session cookie in the jar.
    pub fn session_cookie(&self) -> Option<String> {
        self.cookie(SESSION_COOKIE)
    }

    /// Put a cookie into the jar (an attacker planting one).
    pub fn plant(&self, name: &str, value: &str) {
        let url: Url = self.base.parse().expect("base url");
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    /// The `/me` JSON, or `None` when anonymous (401).
    pub async fn me(&self) -> Option<serde_json::Value> {
        let p = self.get("/me").await;
        match p.status {
            StatusCode::OK => Some(p.json()),
            StatusCode::UNAUTHORIZED => None,
            other => panic!("/me answered {other}: {}", p.body),
        }
    }

    /// The plan `/me` reports.
    pub async fn plan(&self) -> Option<String> {
        self.me()
            .await
            .map(|v| v["plan"].as_str().expect("plan is a string").to_owned())
    }
}

/// GET `path` with exactly this `Cookie` header.
pub async fn get_with_cookie(client: &reqwest::Client, url: &str, cookie: &str) -> Page {
    read(
        client
            .get(url)
            .header(
                COOKIE,
                HeaderValue::from_str(cookie).expect("cookie header"),
            )
            .send()
            .await
            .expect("GET"),
    )
    .await
}
