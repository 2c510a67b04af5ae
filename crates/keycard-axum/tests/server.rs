//! A real server on 127.0.0.1:0 and a real HTTP client with a cookie jar: what a browser would see.

mod common;

use std::net::SocketAddr;

use http::StatusCode;

use common::*;

#[tokio::test]
async fn browser_flow_over_real_http() {
    let h = harness();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = h.app.clone();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .user_agent("keycard-test/1.0")
        .build()
        .unwrap();
    let url = |p: &str| format!("http://{addr}{p}");

    let res = client.get(url("/me")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let res = client.post(url("/login/5")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");

    // The client's jar accepted the cookie and sends it back.
    let res = client.get(url("/me")).send().await.unwrap();
    assert_eq!(res.headers()["vary"], "Cookie");
    assert_eq!(res.text().await.unwrap(), "5:free");
    let meta = client
        .get(url("/meta"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(meta, "127.0.0.1|keycard-test/1.0");

    // Sync, then sign out: the jar follows each Set-Cookie.
    let res = client.post(url("/sync/pro")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client.get(url("/me")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "5:pro");
    let res = client.post(url("/logout")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client.get(url("/me")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    server.abort();
}
