//! What every part of the harness shares: the user type, the users table, the SQLite settings, small
//! numeric helpers.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

/// The password every bench user has. `/me` benches sign in with a cheap comparison against it; the
/// sign-in-under-load measurement verifies it against the stored argon2id hash instead.
pub const PASSWORD: &str = "bench-password";

/// Every server opens the users table with this many pooled connections.
pub const POOL_SIZE: u32 = 8;

/// The email of bench user `i` (1-based).
pub fn email_of(i: u64) -> String {
    format!("user{i}@bench.invalid")
}

/// The plan of bench user `i`.
pub fn plan_of(i: u64) -> &'static str {
    ["free", "pro", "pro-trial"][(i % 3) as usize]
}

/// The user as every server knows it (what keycard caches, what axum-login loads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchUser {
    pub id: i64,
    pub email: String,
    pub plan: String,
}

impl keycard::CachedUser for BenchUser {
    fn user_key(&self) -> String {
        self.id.to_string()
    }

    /// As an app with credential-bound sessions has it (a credentials version): every `GET /me` then pays
    /// the fingerprint comparison, which is what issue 9's before/after figure measures.
    fn auth_fingerprint(&self) -> Option<Vec<u8>> {
        Some(1u64.to_be_bytes().to_vec())
    }
}

/// The body of `GET /me`, identical on every server.
#[derive(Debug, Serialize)]
pub struct Me<'a> {
    pub email: &'a str,
    pub plan: &'a str,
}

/// One row of the users table.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub plan: String,
    pub password_hash: String,
}

impl sqlx::FromRow<'_, sqlx::sqlite::SqliteRow> for UserRow {
    fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(UserRow {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            plan: row.try_get("plan")?,
            password_hash: row.try_get("password_hash")?,
        })
    }
}

impl UserRow {
    pub fn to_user(&self) -> BenchUser {
        BenchUser {
            id: self.id,
            email: self.email.clone(),
            plan: self.plan.clone(),
        }
    }
}

/// The one query every server that reads a user per request runs (axum-login's `get_user`, keycard's
/// `ReloadUser` loader).
pub const SELECT_BY_ID: &str = "SELECT id, email, plan, password_hash FROM users WHERE id = ?1";
/// The sign-in lookup.
pub const SELECT_BY_EMAIL: &str =
    "SELECT id, email, plan, password_hash FROM users WHERE email = ?1";

/// Open the users database with the settings every server uses: WAL, synchronous=NORMAL, a fixed pool.
pub async fn open_db(path: &Path, create: bool) -> Result<SqlitePool, sqlx::Error> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5));
    SqlitePoolOptions::new()
        .max_connections(POOL_SIZE)
        .min_connections(POOL_SIZE)
        .connect_with(opts)
        .await
}

/// Resident memory of this process in KiB (VmRSS from /proc/self/status).
pub fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A small deterministic PRNG (xorshift64*), so the harness needs no rand crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The value at quantile `q` (0..=1) of sorted `v` (nearest rank).
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Median of unsorted `v` (mean of the two middle values for an even count).
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Live sessions per bench user, in `store-scale` and the sizing runs.
pub const SESSIONS_PER_USER: u64 = 10;

/// Bench user `id` on `plan`.
pub fn bench_user(id: u64, plan: &str) -> BenchUser {
    BenchUser {
        id: id as i64,
        email: email_of(id),
        plan: plan.to_owned(),
    }
}

/// A latency summary in nanoseconds: count, p50, p99, max.
pub fn latency_summary(mut ns: Vec<u64>) -> serde_json::Value {
    ns.sort_unstable();
    serde_json::json!({
        "n": ns.len(),
        "p50_ns": quantile(&ns, 0.50),
        "p99_ns": quantile(&ns, 0.99),
        "max_ns": ns.last(),
    })
}
