//! Discovery against a provider that fails: a fake provider on loopback (a TCP listener that counts the
//! connections it accepts, and closes them, holds them unanswered, or answers a discovery document and
//! an empty JWKS), so each test can say how many times the provider was asked.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keycard::identity::MemoryIdentities;
use keycard::onetime::MemoryOneTime;
use keycard_oidc::{Intent, Oidc, OidcError, ProviderConfig, HTTP_TIMEOUT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the fake provider treats a connection.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Mode {
    /// Accept and close at once (a provider that is down behind a load balancer).
    Close = 0,
    /// Accept and never answer (a provider that hangs).
    Silent = 1,
    /// Answer the discovery document and an empty JWKS.
    Serve = 2,
}

struct FakeProvider {
    issuer: String,
    mode: Arc<AtomicU8>,
    accepted: Arc<AtomicUsize>,
}

impl FakeProvider {
    async fn start(mode: Mode) -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("addr"));
        let shared_mode = Arc::new(AtomicU8::new(mode as u8));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (m, a, i) = (shared_mode.clone(), accepted.clone(), issuer.clone());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                match m.load(Ordering::SeqCst) {
                    0 => drop(stream),
                    1 => held.push(stream),
                    _ => {
                        tokio::spawn(serve(stream, i.clone()));
                    }
                }
            }
        });
        FakeProvider {
            issuer,
            mode: shared_mode,
            accepted,
        }
    }

    fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn oidc(&self) -> Oidc {
        Oidc::new(
            vec![ProviderConfig::new(
                "Fake",
                &self.issuer,
                "client",
                "https://app.example/auth/oidc/fake/callback",
            )],
            Arc::new(MemoryOneTime::new()),
            Arc::new(MemoryIdentities::new()),
            &[7u8; 64],
        )
        .expect("configured")
    }
}

/// One HTTP/1.1 request, one answer, then close: the discovery document or the JWKS.
async fn serve(mut stream: TcpStream, issuer: String) {
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && len < buf.len() {
        match stream.read(&mut buf[len..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => len += n,
        }
    }
    let request = String::from_utf8_lossy(&buf[..len]);
    let body = if request.starts_with("GET /.well-known/openid-configuration ") {
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })
    } else {
        serde_json::json!({ "keys": [] })
    }
    .to_string();
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
}

async fn start(oidc: &Oidc) -> Result<(), OidcError> {
    oidc.start("fake", Intent::SignIn).await.map(|_| ())
}

fn assert_unavailable(result: Result<(), OidcError>) {
    match result {
        Err(OidcError::ProviderUnavailable { .. }) => {}
        other => panic!("expected ProviderUnavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn sign_ins_behind_a_failed_discovery_fail_at_once_without_asking_the_provider_again() {
    let provider = FakeProvider::start(Mode::Close).await;
    let oidc = provider.oidc();

    assert_unavailable(start(&oidc).await);
    let asked = provider.accepted();
    assert!(asked >= 1, "the provider was asked");

    // Concurrent sign-ins, then more one after another: the failure is remembered, nobody waits on the
    // provider again (without it, each would have connected and waited for its own answer in turn).
    let (a, b, c, d) = tokio::join!(start(&oidc), start(&oidc), start(&oidc), start(&oidc));
    for r in [a, b, c, d] {
        assert_unavailable(r);
    }
    assert_unavailable(start(&oidc).await);
    assert_eq!(
        provider.accepted(),
        asked,
        "no sign-in asked the provider again"
    );

    // The provider is back: once the failure is older than its retry delay, discovery is tried again.
    provider.set(Mode::Serve);
    tokio::time::sleep(Duration::from_millis(5_200)).await;
    start(&oidc).await.expect("the provider answers again");
    assert!(provider.accepted() > asked, "asked again after the delay");
}

#[tokio::test]
async fn a_provider_that_never_answers_fails_the_sign_in_within_the_http_timeout() {
    let provider = FakeProvider::start(Mode::Silent).await;
    let oidc = provider
        .oidc()
        .with_http_timeout(Duration::from_millis(300))
        .expect("client");
    let began = Instant::now();
    assert_unavailable(start(&oidc).await);
    // A bound far from the 300 ms set, to hold on a loaded machine; below the default it replaced.
    assert!(
        began.elapsed() < HTTP_TIMEOUT,
        "failed after {:?}: the timeout set was not used",
        began.elapsed()
    );
}

#[tokio::test]
async fn a_kept_document_serves_past_its_time_while_the_provider_is_down() {
    let provider = FakeProvider::start(Mode::Serve).await;
    // Every document is past its time at once: each sign-in tries a fresh one.
    let oidc = provider.oidc().with_discovery_ttl(Duration::ZERO);
    start(&oidc).await.expect("discovered");
    let asked = provider.accepted();

    provider.set(Mode::Close);
    start(&oidc)
        .await
        .expect("the kept document serves while the provider is down");
    let retried = provider.accepted();
    assert!(retried > asked, "a fresh document was tried first");
    start(&oidc)
        .await
        .expect("still served, the failure remembered");
    assert_eq!(
        provider.accepted(),
        retried,
        "not asked again within the retry delay"
    );
}
