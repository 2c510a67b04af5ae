//! `GET /events`: a server-sent-events stream for the signed-in session. It sends `open` at once, then
//! `ended` (data: why: `signed_out`, `revoked`, `credentials_changed`, `gone`) within about a second of
//! the session ending, on this node or any other ([`keycard_axum::SessionWatch`]), and closes. A comment
//! every 15 s keeps proxies from closing it. Anonymous: 401. A session holds at most a handful of open
//! streams on one node (`keycard_axum::DEFAULT_MAX_WATCHES_PER_SESSION`); one more: 429.

use std::convert::Infallible;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, StreamExt};

use crate::web::auth::AuthUser;

/// The stream.
pub async fn stream(auth: AuthUser) -> Response {
    let watch = match auth.watch() {
        Ok(watch) => watch,
        Err(refused) => return refused.into_response(),
    };
    let open =
        stream::once(async { Ok::<_, Infallible>(Event::default().event("open").data("ok")) });
    let ended = stream::once(async move {
        let reason = watch.ended().await;
        Ok::<_, Infallible>(Event::default().event("ended").data(reason.as_str()))
    });
    Sse::new(open.chain(ended))
        .keep_alive(KeepAlive::default())
        .into_response()
}
