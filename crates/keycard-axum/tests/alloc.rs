//! "Requests without the cookie cost nothing extra": counted with a global allocator.

// A counting global allocator is an `unsafe impl GlobalAlloc`; the workspace denies unsafe code
// everywhere else (and the library crates forbid it).
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::Request;
use keycard::{CredentialsCache, MemoryStore, SessionMetadata};
use keycard_axum::{CookieConfig, MaybeUser, SessionLayer};
use tower::{Service, ServiceExt};

use common::*;

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.with(|c| c.get())
}

/// Allocations made by one request through `app` (warmed up first), on this thread.
async fn allocations_per_request(app: Router, extensions: bool) -> usize {
    allocations_with_cookie(app, extensions, None).await
}

/// [`allocations_per_request`] for a request carrying `cookie` (a whole `Cookie` header value).
async fn allocations_with_cookie(app: Router, extensions: bool, cookie: Option<&str>) -> usize {
    // (`extensions`: start with a non-empty extensions map, as `axum::serve` does.)
    let mut svc = app.into_service::<Body>();
    let make = || {
        let mut req = Request::get("/x").header("user-agent", "test");
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        let mut req = req.body(Body::empty()).unwrap();
        if extensions {
            // Like axum::serve does, so the extensions map exists before the layer runs.
            req.extensions_mut().insert(());
        }
        req
    };
    for _ in 0..3 {
        let req = make();
        let _ = svc.ready().await.unwrap().call(req).await.unwrap();
    }
    let req = make();
    let before = allocs();
    let res = svc.ready().await.unwrap().call(req).await.unwrap();
    let after = allocs();
    drop(res);
    after - before
}

#[tokio::test(flavor = "current_thread")]
async fn a_request_without_the_cookie_allocates_only_the_handle() {
    let h = harness();
    let bare = Router::new().route("/x", get(|| async { "x" }));
    let layered = bare.clone().layer(SessionLayer::new(h.cache.clone()));
    let reading = Router::new()
        .route(
            "/x",
            get(|MaybeUser(u): MaybeUser<User>| async move {
                if u.is_some() {
                    "user"
                } else {
                    "x"
                }
            }),
        )
        .layer(SessionLayer::new(h.cache.clone()));

    // The budget: a layer that holds some state (axum clones a stateful layer per request) and puts one
    // `Arc` into the request's extensions (the `Arc`, the map's box for it, possibly growing the map).
    let state = std::sync::Arc::new(0u64);
    let handle_only = bare.clone().layer(tower::util::MapRequestLayer::new(
        move |mut r: Request<Body>| {
            let _ = &state;
            r.extensions_mut()
                .insert(std::sync::Arc::new(std::sync::Mutex::new([0u64; 8])));
            r
        },
    ));
    let bare_count = allocations_per_request(bare.clone(), true).await;
    let budget = allocations_per_request(handle_only, true).await;
    let with_layer = allocations_per_request(layered, true).await;
    let with_extractor = allocations_per_request(reading, true).await;
    eprintln!("bare router {bare_count}, layer inserting an Arc {budget}, SessionLayer {with_layer}, SessionLayer + MaybeUser {with_extractor}");
    assert!(
        with_layer <= budget,
        "SessionLayer without a cookie: {with_layer} allocations; a layer that only inserts a handle: {budget}"
    );
    assert!(
        with_extractor <= budget,
        "SessionLayer + MaybeUser without a cookie: {with_extractor} allocations; budget {budget}"
    );
    assert_eq!(h.store_calls(), 0);
}

/// A signed-in request on the memory store (no spy: it records what it sees) allocates no more than an
/// anonymous one: the store answers at once ([`keycard::Store::fetch_ready`]), so the layer neither copies
/// the cookie value nor boxes a future, and the session and user come back as the stored `Arc`s.
#[tokio::test(flavor = "current_thread")]
async fn a_signed_in_request_on_the_memory_store_allocates_only_the_handle() {
    let cache = CredentialsCache::builder(MemoryStore::<User>::new())
        .secret(SECRET)
        .build()
        .unwrap();
    let signed = cache
        .create(user(1, "pro"), SessionMetadata::default())
        .await
        .unwrap();
    let config = CookieConfig::insecure_for_localhost();
    let cookie = format!("{}={}", config.cookie_name(), signed.cookie.as_str());
    let reading = Router::new()
        .route(
            "/x",
            get(|MaybeUser(u): MaybeUser<User>| async move {
                if u.is_some() {
                    "user"
                } else {
                    "x"
                }
            }),
        )
        .layer(SessionLayer::new(cache.clone()).with_config(config));

    let res = reading
        .clone()
        .oneshot(
            Request::get("/x")
                .header("cookie", &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let body = axum::body::to_bytes(res.into_body(), 64).await.unwrap();
    assert_eq!(&body[..], b"user", "the cookie signs the request in");

    let anonymous = allocations_with_cookie(reading.clone(), true, None).await;
    let signed_in = allocations_with_cookie(reading, true, Some(&cookie)).await;
    eprintln!("SessionLayer + MaybeUser: anonymous {anonymous}, signed in {signed_in}");
    assert!(
        signed_in <= anonymous,
        "a signed-in request on the memory store: {signed_in} allocations; anonymous: {anonymous}"
    );
}
