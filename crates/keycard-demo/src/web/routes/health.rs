//! `GET /healthz`.

/// The process is up.
pub async fn show() -> &'static str {
    "ok"
}
