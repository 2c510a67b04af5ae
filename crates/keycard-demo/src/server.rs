//! The HTTP server loop: hyper's HTTP/1 connections over the router, with the limits `axum::serve` does
//! not set (issue 18, W14: a client trickling its headers one byte a second held its connection for
//! minutes, and 100 such clients were all held).
//!
//! - **Header-read timeout** ([`ServerLimits::header_read_timeout`], `HEADER_READ_TIMEOUT_SECS`,
//!   default 10 s): a request's headers must arrive whole within it, counted from the first read of
//!   the request (for a kept-alive connection: from the end of the previous response), or the
//!   connection is closed. So an idle or trickling connection lasts seconds, not minutes.
//! - **Connection limit** ([`ServerLimits::max_connections`], `MAX_CONNECTIONS`, default 1024): at most
//!   this many connections are served at once; the next ones are not accepted until one closes (they
//!   wait in the kernel's listen backlog, which the kernel bounds and then refuses).
//! - **Graceful shutdown**: on the shutdown signal the listener closes, every connection finishes the
//!   request it is serving and closes, and [`serve`] returns once they all have.
//! - **Client addresses**: each connection's peer address reaches the handlers as
//!   `ConnectInfo<SocketAddr>`, as with `into_make_service_with_connect_info`.
//!
//! HTTP/1.1 only (keep-alive, no upgrades): HTTP/2 is the TLS proxy's to speak with browsers. What is
//! not here: a body-read timeout (the CSRF layer reads at most 64 KiB of a form and axum's default body
//! limit is 2 MiB, but a body may still trickle) and TLS; a reverse proxy in front provides both.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{Service, ServiceExt};

/// How long a client may take to send a request's headers by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How many connections are served at once by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// The server's limits (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// A request's headers must arrive within this, or the connection is closed.
    pub header_read_timeout: Duration,
    /// Connections served at once (at least 1).
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serve `router` on `listener` within `limits` until `shutdown` completes, then let every connection
/// finish its request and return.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max_connections = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // A permit first: past the limit, nothing is accepted (the kernel keeps the backlog).
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => break, // never closed; stop serving if it were
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // `ConnectInfo<SocketAddr>` for this connection's requests; never fails.
        let service = match ServiceExt::<SocketAddr>::ready(&mut make_service).await {
            Ok(make) => match make.call(peer).await {
                Ok(service) => service,
                Err(never) => match never {},
            },
            Err(never) => match never {},
        };
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // A header-read timeout, a client gone mid-request: nothing to act on.
                tracing::debug!(error = %e, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::debug!("not accepting connections; waiting for the open ones to finish");
    graceful.shutdown().await;
    Ok(())
}

/// An `accept` failed. A connection's own failure is that connection's; anything else (out of file
/// descriptors) is logged and retried after a pause, as hyper and axum do.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
