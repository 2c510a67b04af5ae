//! W14, slow clients: a connection trickling its headers one byte a second stayed open indefinitely
//! (75 s and more), and 100 of them were all held (`axum::serve` sets no header-read timeout and no
//! connection limit). The demo's server now closes a connection whose headers have not arrived within
//! `HEADER_READ_TIMEOUT_SECS` and serves at most `MAX_CONNECTIONS` connections at once.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::TestApp;

/// The timeout these tests configure: short, so they are quick; the assertions allow three times it.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// Read until the server closes the connection (EOF or an error); whatever it sends first (a `408`) is
/// fine. Stops by itself after 120 s.
async fn closed_by_server(mut read: tokio::net::tcp::OwnedReadHalf) -> Instant {
    let mut buf = [0u8; 1024];
    let give_up = Instant::now() + Duration::from_secs(120);
    while Instant::now() < give_up {
        match tokio::time::timeout(Duration::from_secs(1), read.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Instant::now(),
            Ok(Ok(_)) | Err(_) => continue,
        }
    }
    Instant::now()
}

async fn healthz(app: &TestApp) -> StatusCode {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    client
        .get(app.url("/healthz"))
        .send()
        .await
        .map(|r| r.status())
        .unwrap_or_else(|e| panic!("GET /healthz: {e}"))
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_closed_within_the_header_read_timeout() {
    let app = TestApp::start_with(|c| c.header_read_timeout = HEADER_READ_TIMEOUT).await;
    let stream = TcpStream::connect(app.addr).await.expect("connect");
    let (read, mut write) = stream.into_split();
    let started = Instant::now();
    write
        .write_all(b"GET / HTTP/1.1\r\n")
        .await
        .expect("request line");
    let closed = tokio::spawn(closed_by_server(read));
    // One header byte a second, for at most three times the timeout.
    let header = b"Host: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let mut sent = 0;
    for byte in header
        .iter()
        .take(3 * HEADER_READ_TIMEOUT.as_secs() as usize)
    {
        if closed.is_finished() {
            break;
        }
        if write.write_all(&[*byte]).await.is_err() {
            break; // reset by the server
        }
        sent += 1;
        if sent == 1 {
            // Meanwhile the server answers everybody else.
            assert_eq!(healthz(&app).await, StatusCode::OK);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let closed_at = tokio::time::timeout(3 * HEADER_READ_TIMEOUT, closed)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the trickling connection was still open after {:?} ({sent} header bytes sent)",
                started.elapsed()
            )
        })
        .expect("reader task");
    let held = closed_at - started;
    eprintln!("w14: a trickling connection was closed after {held:?} ({sent} header bytes sent)");
    assert!(
        held < 3 * HEADER_READ_TIMEOUT,
        "closed after {held:?}, more than three times the {HEADER_READ_TIMEOUT:?} timeout"
    );
    assert_eq!(healthz(&app).await, StatusCode::OK, "and still serving");
    drop(write);
    app.stop().await;
}

#[tokio::test]
async fn connections_past_the_limit_wait_until_one_closes() {
    // A long header timeout: here the limit alone decides.
    let app = TestApp::start_with(|c| {
        c.max_connections = 2;
        c.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(app.addr).await.expect("connect");
        s.write_all(b"GET / HTTP/1.1\r\n")
            .await
            .expect("request line");
        held.push(s);
    }
    // Both are being served (their headers awaited): a third connection is not accepted, so its request
    // is not answered, however long it waits here.
    let waiting = reqwest::Client::builder()
        .timeout(Duration::from_millis(1500))
        .build()
        .expect("client");
    let res = waiting.get(app.url("/healthz")).send().await;
    assert!(
        matches!(&res, Err(e) if e.is_timeout()),
        "a request past the connection limit was answered: {res:?}"
    );
    // One of them goes away: the next connection is served.
    drop(held.pop());
    assert_eq!(healthz(&app).await, StatusCode::OK);
    drop(held);
    app.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_waits_for_a_trickling_client_no_longer_than_the_timeout() {
    let app = TestApp::start_with(|c| c.header_read_timeout = HEADER_READ_TIMEOUT).await;
    let mut slow = TcpStream::connect(app.addr).await.expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .expect("half a request");
    // The server has the connection (it answers others meanwhile).
    assert_eq!(healthz(&app).await, StatusCode::OK);
    let started = Instant::now();
    app.stop().await; // fails if the server has not stopped within 10 s
    let took = started.elapsed();
    eprintln!("w14: graceful shutdown with a half-sent request open took {took:?}");
    assert!(
        took < 3 * HEADER_READ_TIMEOUT,
        "shutdown waited {took:?} for a client that never finished its headers"
    );
    drop(slow);
}
