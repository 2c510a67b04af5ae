//! `keycard-bench layer-cost --db PATH`: what the session layer costs per request in-process, with no
//! sockets and no load generator: the `bare` and `keycard-memory` routers called directly (`oneshot`)
//! with the same signed-in `GET /me`, body collected. The difference is keycard's own per-request work
//! (cookie lookup and signature check, token hash, store read, auth handle, response headers).

use std::path::PathBuf;
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use serde_json::json;
use tower::ServiceExt;

use crate::common;
use crate::serving::{PasswordCheck, ServerConfig};

async fn call(
    app: &Router,
    req: Request<Body>,
) -> Result<(u16, Vec<String>, axum::body::Bytes), String> {
    let res = app.clone().oneshot(req).await.map_err(|e| format!("{e}"))?;
    let status = res.status().as_u16();
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::to_owned)
        .collect();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .map_err(|e| format!("{e}"))?;
    Ok((status, cookies, body))
}

fn me(cookie: &str) -> Request<Body> {
    Request::get("/me")
        .header(header::HOST, "127.0.0.1")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap_or_default()
}

/// The flags of `keycard-bench layer-cost`.
#[derive(Debug, Clone, clap::Args)]
pub struct LayerCostArgs {
    /// The users table (made by `init-db`).
    #[arg(long)]
    pub db: PathBuf,
    /// Signed-in `GET /me` calls per router.
    #[arg(long, default_value_t = 200_000)]
    pub calls: u32,
    /// Which routers to run, comma-separated (`bare`, `bare-layered`, `keycard-memory`); one alone lets a profiler
    /// (callgrind) count each router's instructions separately.
    #[arg(long, value_delimiter = ',', default_value = "bare,keycard-memory")]
    pub kinds: Vec<String>,
}

pub fn main(args: &LayerCostArgs) -> Result<(), String> {
    let db = args.db.clone();
    let n = args.calls;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    rt.block_on(async move {
        let pool = common::open_db(&db, false)
            .await
            .map_err(|e| format!("open db: {e}"))?;
        let cfg = ServerConfig {
            kind: "keycard-memory".into(),
            port: 0,
            db: db.clone(),
            redis_url: String::new(),
            redis_prefix: String::new(),
            postgres_url: String::new(),
            check: PasswordCheck::Cheap,
        };
        let mut out = serde_json::Map::new();
        for kind in &args.kinds {
            let kind = kind.as_str();
            let app = match kind {
                "bare" => crate::server::bare(),
                // The floor of any layer: `bare` under a no-op tower layer (axum boxes the future of every
                // layered route), to tell the session layer's own work from what any middleware costs.
                "bare-layered" => crate::server::bare()
                    .layer(tower::util::MapRequestLayer::new(|r: Request<Body>| r)),
                "keycard-memory" => crate::keycard_srv::router(kind, pool.clone(), &cfg).await?,
                other => {
                    return Err(format!(
                        "layer-cost runs bare and keycard-memory, not {other}"
                    ))
                }
            };
            let login = Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "email={}&password={}",
                    common::email_of(1).replace('@', "%40"),
                    common::PASSWORD
                )))
                .map_err(|e| format!("{e}"))?;
            let (status, cookies, _) = call(&app, login).await?;
            if status != 200 || cookies.is_empty() {
                return Err(format!("{kind}: sign-in answered {status}"));
            }
            let cookie = cookies.join("; ");
            let (status, _, body) = call(&app, me(&cookie)).await?;
            if status != 200 {
                return Err(format!("{kind}: GET /me answered {status}"));
            }
            for _ in 0..n / 10 {
                call(&app, me(&cookie)).await?;
            }
            let t = Instant::now();
            for _ in 0..n {
                call(&app, me(&cookie)).await?;
            }
            let ns = t.elapsed().as_nanos() as f64 / f64::from(n);
            out.insert(
                kind.to_owned(),
                json!({"ns_per_request": ns, "body": String::from_utf8_lossy(&body)}),
            );
        }
        println!("BENCHJSON {}", serde_json::Value::Object(out));
        Ok(())
    })
}
