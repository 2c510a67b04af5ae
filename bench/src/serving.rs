//! What every server under test shares, whichever kind it is (`server.rs`'s bare and axum-login servers,
//! `keycard_srv.rs`'s keycard servers, `layer_cost.rs`'s in-process routers): the sign-in form and how a
//! password is checked, the sign-in lookup, the `/me` answer, and a server's settings. A leaf of the
//! servers: it uses none of them.

use std::path::PathBuf;
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sqlx::SqlitePool;

use crate::common::{Me, UserRow, PASSWORD, SELECT_BY_EMAIL};

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    pub email: String,
    pub password: String,
}

/// The server's password hasher, with the library's defaults (its bounded hashing queue included).
static HASHER: std::sync::LazyLock<keycard::password::PasswordHasher> =
    std::sync::LazyLock::new(keycard::password::PasswordHasher::new);

/// How a server checks a password at sign-in.
#[derive(Debug, Clone)]
pub enum PasswordCheck {
    /// Compare with the fixed bench password: sign-in is not what the `/me` benches measure.
    Cheap,
    /// `keycard::password::PasswordHasher::verify` against the stored argon2id hash (spawn_blocking inside):
    /// keycard's own path (its library-wide limit on concurrent hashes applies).
    Argon2,
    /// A stricter variant, built here with the public blocking function: at most
    /// `permits` verifications at once (the others wait, off the workers, in a queue), each on a blocking
    /// thread lowered to nice `nice` while it hashes, so request work always runs first.
    Argon2Bounded {
        permits: Arc<tokio::sync::Semaphore>,
        nice: i32,
    },
}

impl PasswordCheck {
    pub async fn check(&self, row: &UserRow, password: &str) -> bool {
        use keycard::password::Verified;
        match self {
            PasswordCheck::Cheap => password == PASSWORD,
            PasswordCheck::Argon2 => matches!(
                HASHER.verify(password, Some(&row.password_hash)).await,
                Ok(Verified::Valid { .. })
            ),
            PasswordCheck::Argon2Bounded { permits, nice } => {
                let Ok(_permit) = permits.acquire().await else {
                    return false;
                };
                let (pw, hash, nice) = (password.to_owned(), row.password_hash.clone(), *nice);
                let verified = tokio::task::spawn_blocking(move || {
                    let _lowered = Niceness::lower(nice);
                    HASHER.verify_blocking(&pw, Some(&hash))
                })
                .await;
                matches!(verified, Ok(Ok(Verified::Valid { .. })))
            }
        }
    }
}

/// This thread at another nice value until dropped (Linux: nice is per thread).
struct Niceness(Option<i32>);

impl Niceness {
    fn lower(to: i32) -> Niceness {
        if to == 0 {
            return Niceness(None);
        }
        // SAFETY: plain syscalls on the calling thread.
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            let before = libc::getpriority(libc::PRIO_PROCESS, tid);
            if libc::setpriority(libc::PRIO_PROCESS, tid, to) == 0 {
                return Niceness(Some(before));
            }
        }
        Niceness(None)
    }
}

impl Drop for Niceness {
    fn drop(&mut self) {
        if let Some(before) = self.0 {
            // Raising priority back needs CAP_SYS_NICE; as root (this machine) it works. If it fails, the
            // thread stays lowered, which only ever hurts later blocking work of the bench server.
            // SAFETY: as above.
            unsafe {
                let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                libc::setpriority(libc::PRIO_PROCESS, tid, before);
            }
        }
    }
}

/// The sign-in lookup every server runs.
pub async fn find_by_email(pool: &SqlitePool, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as::<_, UserRow>(SELECT_BY_EMAIL)
        .bind(email)
        .fetch_optional(pool)
        .await
}

pub fn me_response(email: &str, plan: &str) -> Response {
    Json(Me { email, plan }).into_response()
}

pub struct ServerConfig {
    pub kind: String,
    pub port: u16,
    pub db: PathBuf,
    pub redis_url: String,
    pub redis_prefix: String,
    pub postgres_url: String,
    pub check: PasswordCheck,
}
