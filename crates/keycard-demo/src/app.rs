//! Putting the app together: secret, database, credentials cache, router, background tasks; and serving it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use keycard::factor::{PendingLogins, RecoveryCodes};
use keycard::inbox::InboxFlows;
use keycard::password::PasswordHasher;
use keycard::SweeperHandle;
use keycard_axum::{CookieConfig, PendingLoginCookie, SecurityHeaders};
use keycard_totp::{Totp, TotpConfig};
use tokio::net::TcpListener;

use crate::clock::AppClock;
use crate::config::secret::{self, SecretFileError};
use crate::config::{redact_url, Config};
use crate::domain::cache::{build_stores, CacheInitError};
use crate::domain::db::{self, DbInitError};
use crate::domain::mail::{self, MailSetupError};
use crate::domain::passkeys;
use crate::domain::plan_job::{JobHandle, PlanJob};
use crate::domain::throttle;
use crate::server::{self, ServerLimits};
use crate::web::flash::Flash;
use crate::web::state::{AppState, SecondFactors};
use crate::web::{auth, csrf, router};

/// The app could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The development secret could not be read or written.
    #[error(transparent)]
    Secret(#[from] SecretFileError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Db(#[from] DbInitError),
    /// The credentials cache could not be set up or reached.
    #[error(transparent)]
    Cache(#[from] CacheInitError),
    /// The session cookie settings are invalid.
    #[error(transparent)]
    Cookie(#[from] keycard_axum::CookieConfigError),
    /// The CSRF settings (the allowed origins) are invalid.
    #[error(transparent)]
    Csrf(#[from] keycard_axum::CsrfConfigError),
    /// The login throttle refused the secret (too short for its key).
    #[error("cannot set up the login throttle: {0}")]
    Throttle(#[from] keycard::SecretError),
    /// The TOTP settings are invalid.
    #[error("cannot set up authenticator-app codes: {0}")]
    Totp(#[from] keycard_totp::TotpError),
    /// The passkey settings (the relying party, from `PUBLIC_ORIGIN` or the loopback address).
    #[error("cannot set up passkeys: {0}")]
    Passkey(#[from] keycard_passkey::PasskeyError),
    /// The identity provider settings (`OIDC_*`).
    #[error("cannot set up identity providers: {0}")]
    Oidc(#[from] keycard_oidc::OidcError),
    /// The mail settings (`SMTP_URL`, `MAIL_FROM`) are invalid.
    #[error(transparent)]
    Mail(#[from] MailSetupError),
    /// The address could not be bound.
    #[error("cannot listen on {addr} (--addr): {source}; stop whatever uses that port, or choose another address with --addr (or KEYCARD_ADDR), e.g. --addr 127.0.0.1:4001")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
}

/// The service name authenticator apps list the account under.
pub const TOTP_ISSUER: &str = "keycard demo";

/// The running app: its router, its state, and its background tasks (stopped when this is dropped).
pub struct App {
    /// The router, state applied. Serve it with connect info (see [`serve`]).
    pub router: Router,
    /// What the handlers share (database, cache, clock, …), for tests and admin code.
    pub state: AppState,
    /// The plan job; tests call [`PlanJob::run_once`] instead of waiting for a tick.
    pub plan_job: Arc<PlanJob>,
    /// The server's header-read timeout and connection limit ([`serve`]).
    pub server: ServerLimits,
    _plan_task: JobHandle,
    _sweeper: SweeperHandle,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

/// Build the app from `config`, reading time from `clock` (tests pass a [`keycard::ManualClock`]), and
/// start its background tasks (the plan job every `config.plan_job_interval`, the session sweeper) on the
/// current runtime. `config.addr` is the address the app is reached at (the forms' `Origin` is checked
/// against it when no `PUBLIC_ORIGIN` is set): bind first, then build with the bound address.
pub async fn build_app(config: &Config, clock: AppClock) -> Result<App, StartError> {
    let secret = secret::resolve(&config.secret)?;
    let db = db::connect_and_migrate(&config.database_url).await?;
    let records = crate::domain::factors::open_records(&config.database_url).await?;
    let factors = records.factors.clone();
    let stores = build_stores(config, &secret, clock.clone()).await?;
    let cache = stores.cache;
    let near = stores.near;
    let counters = throttle::counters(stores.throttle);
    let throttle = throttle::login_throttle(
        counters.clone(),
        secret.as_bytes(),
        clock.clone(),
        cache.audit().clone(),
    )?;
    let registration_limit =
        throttle::registration_limit(counters.clone(), secret.as_bytes(), clock.clone())?;
    let passkey_starts =
        throttle::passkey_start_limit(counters.clone(), secret.as_bytes(), clock.clone())?;
    let oidc_starts =
        throttle::oidc_start_limit(counters.clone(), secret.as_bytes(), clock.clone())?;
    let (mail_per_client, mail_per_address) =
        throttle::mail_limits(counters, secret.as_bytes(), clock.clone())?;
    let inbox = InboxFlows::new(stores.one_time.clone(), secret.as_bytes())?
        .with_clock(Arc::new(clock.clone()));
    let mail = mail::build(
        config.smtp_url.as_deref(),
        &config.mail_from,
        config.link_origin(),
    )?;
    // The development mailbox is shown only on a loopback address: its page holds live links.
    let dev_mailbox = mail.dev.clone().filter(|_| config.addr.ip().is_loopback());
    if !config.cookie_secure {
        tracing::warn!(
            addr = %config.addr,
            "cookies are not Secure and have no __Host- prefix, and no HSTS is sent: plain http, \
             because the demo is bound to a loopback address without TLS. Never expose it like this; \
             behind an HTTPS proxy bind another address (cookies are then Secure) and set PUBLIC_ORIGIN"
        );
    }
    let cookie = if config.cookie_secure {
        CookieConfig::default()
    } else {
        CookieConfig::insecure_for_localhost()
    };
    let second = SecondFactors {
        pending: PendingLogins::new(stores.one_time.clone(), secret.as_bytes())?
            .with_clock(Arc::new(clock.clone())),
        cookie: PendingLoginCookie::new(&cookie)?,
        totp: Totp::new(
            TotpConfig::new(TOTP_ISSUER),
            factors.clone(),
            stores.one_time.clone(),
            secret.as_bytes(),
        )?
        .with_clock(Arc::new(clock.clone())),
        recovery: RecoveryCodes::new(secret.as_bytes())?,
        passkeys: passkeys::build(
            &config.passkey_origin(),
            stores.one_time.clone(),
            factors.clone(),
            secret.as_bytes(),
            clock.clone(),
        )?,
        passkey_starts,
        factors,
    };
    let oidc = crate::domain::oidc::build(
        config,
        stores.one_time.clone(),
        records.identities.clone(),
        secret.as_bytes(),
        clock.clone(),
    )?;
    let state = AppState::new(crate::web::state::Services {
        oidc: crate::web::state::Providers {
            oidc,
            identities: records.identities,
            cookie_secure: config.cookie_secure,
            starts: oidc_starts,
        },
        db: db.clone(),
        cache: cache.clone(),
        hasher: PasswordHasher::new(),
        flash: Arc::new(Flash::new(&secret, config.cookie_secure)),
        throttle: throttle.clone(),
        registration_limit,
        mail_per_client,
        mail_per_address,
        inbox,
        mail,
        dev_mailbox,
        clock: clock.clone(),
        trial: config.trial,
        client_ip: config.client_ip,
        near,
        second,
    });
    let session_layer = auth::session_layer(
        cache.clone(),
        db.clone(),
        cookie,
        config.client_ip,
        config.sudo,
    )?;
    let csrf_layer = csrf::layer(&secret, &config.allowed_origins(), config.cookie_secure)?;
    let headers = if config.cookie_secure {
        SecurityHeaders::new()
    } else {
        SecurityHeaders::new().hsts(None)
    };
    let router = router::router(state.clone(), session_layer, csrf_layer, headers);
    let plan_job = Arc::new(PlanJob::new(db, cache.clone(), clock).with_throttle(throttle));
    let plan_task = plan_job.clone().spawn(config.plan_job_interval);
    let sweeper = cache.spawn_sweeper(config.sweep_interval);
    Ok(App {
        router,
        state,
        plan_job,
        server: ServerLimits {
            header_read_timeout: config.header_read_timeout,
            max_connections: config.max_connections,
        },
        _plan_task: plan_task,
        _sweeper: sweeper,
    })
}

/// Serve `app` on `listener` until `shutdown` completes, then finish in-flight requests: HTTP/1.1 with
/// `app.server`'s header-read timeout and connection limit, each request with its connection's
/// `ConnectInfo<SocketAddr>` ([`crate::server`]).
pub async fn serve(
    app: &App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve(app.router.clone(), listener, app.server, shutdown).await
}

/// `keycard-demo serve`: build, bind `config.addr`, serve until Ctrl-C (or SIGTERM).
pub async fn run(mut config: Config) -> Result<(), StartError> {
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(StartError::Serve)?;
    config.addr = addr; // the port the OS chose for `:0`, for the allowed origins
    let app = build_app(&config, AppClock::system()).await?;
    tracing::info!(
        database = %redact_url(&config.database_url),
        cache = %config.cache.display_url(),
        "keycard-demo listening on http://{addr}/"
    );
    serve(&app, listener, shutdown_signal())
        .await
        .map_err(StartError::Serve)?;
    tracing::info!("keycard-demo stopped");
    Ok(())
}

/// Completes on Ctrl-C, or SIGTERM on Unix.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
