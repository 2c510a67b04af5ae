//! `GET /healthz`, and `GET /healthz/near`: the near cache's state and counters.

use axum::extract::State;
use axum::Json;

use crate::web::state::AppState;

/// The process is up.
pub async fn show() -> &'static str {
    "ok"
}

/// The near cache in front of the credentials cache: `{"near": false}` without one; with one, whether
/// its invalidation channel is confirmed (it answers from memory only then) and its counters since
/// start-up (no session, user or token in it).
pub async fn near(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(match &state.near {
        None => serde_json::json!({ "near": false }),
        Some(view) => {
            let s = view.stats();
            serde_json::json!({
                "near": true,
                "confirmed": view.confirmed(),
                "hits": s.hits,
                "misses": s.misses,
                "bypassed": s.bypassed,
                "fills": s.fills,
                "fills_refused": s.fills_refused,
                "received": s.received,
                "local_evictions": s.local_evictions,
                "downs": s.downs,
                "entries": s.entries,
            })
        }
    })
}
