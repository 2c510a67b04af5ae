//! A fault-injecting TCP proxy on loopback: added latency on every chunk (both ways), or a dropped link
//! (every connection closed, new ones refused for a while).
//!
//! Written here rather than taken from a registry: Toxiproxy, the usual tool, is a Go server that none of
//! the registries this project reaches ships (PyPI and npm hold only its clients), and `tc netem` needs
//! a network namespace and root; the two faults the soak needs take a hundred lines of tokio.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug)]
struct State {
    latency_ms: AtomicU64,
    refusing: AtomicBool,
    cut: watch::Sender<u64>,
}

/// A running proxy: `listen` forwards to the upstream.
#[derive(Debug)]
pub struct FaultProxy {
    /// Where clients connect.
    pub listen: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy on a loopback port the OS picks, to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let listen = listener.local_addr()?;
        let (cut, _) = watch::channel(0u64);
        let state = Arc::new(State {
            latency_ms: AtomicU64::new(0),
            refusing: AtomicBool::new(false),
            cut,
        });
        let accepting = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                if accepting.refusing.load(SeqCst) {
                    drop(inbound);
                    continue;
                }
                let state = accepting.clone();
                tokio::spawn(async move {
                    if let Ok(outbound) = TcpStream::connect(upstream).await {
                        connect(inbound, outbound, state).await;
                    }
                });
            }
        });
        Ok(FaultProxy {
            listen,
            state,
            task,
        })
    }

    /// Add this much latency to every chunk, each way (zero: none).
    pub fn set_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.state.latency_ms.store(ms, SeqCst);
    }

    /// Drop the link: close every connection; while `refuse`, close new ones at once.
    pub fn cut(&self, refuse: bool) {
        self.state.refusing.store(refuse, SeqCst);
        if refuse {
            self.state.cut.send_modify(|g| *g += 1);
        }
    }

    /// Stop accepting (open connections die with their tasks' halves).
    pub fn stop(&self) {
        self.task.abort();
        self.state.cut.send_modify(|g| *g += 1);
    }
}

async fn connect(inbound: TcpStream, outbound: TcpStream, state: Arc<State>) {
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let up = pump(in_read, out_write, state.clone());
    let down = pump(out_read, in_write, state);
    tokio::join!(up, down);
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    state: Arc<State>,
) {
    let mut cut = state.cut.subscribe();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            _ = cut.changed() => break,
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
        };
        let latency = state.latency_ms.load(SeqCst);
        if latency > 0 {
            tokio::select! {
                _ = cut.changed() => break,
                _ = tokio::time::sleep(Duration::from_millis(latency)) => {}
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
