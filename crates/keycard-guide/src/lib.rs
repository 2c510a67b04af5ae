//! The code of keycard's guide (`docs/guide/`, an mdBook) and of the READMEs, compiled and run by
//! `cargo test` as doc tests, so that the docs cannot drift from the code. Not published; no API.
//!
//! Each chapter of the guide is the doc comment of one module below (`#[doc = include_str!(…)]`), only
//! when rustdoc collects doc tests (`cfg(doctest)`). So every ```` ```rust ```` block of a chapter is a doc
//! test: run, or compiled only when marked `no_run` (it needs a server), or skipped when marked `ignore`
//! (each such block says why in a comment next to it). `tests/guide.rs` checks that every chapter of
//! `SUMMARY.md` is included here, that every code block names its language, and that the copies of the
//! examples the guide shows match the example files.
//!
//! Run them: `cargo test -p keycard-guide` (or `--doc`). Build the book: `scripts/book.sh`.

/// Declares one module per document, whose doc comment is that document.
macro_rules! docs {
    ($($module:ident => $path:literal,)*) => {
        $(
            #[cfg(doctest)]
            #[doc = include_str!($path)]
            pub mod $module {}
        )*
    };
}

docs! {
    readme => "../../../README.md",
    readme_keycard => "../../keycard/README.md",
    readme_keycard_axum => "../../keycard-axum/README.md",
    readme_keycard_sqlx => "../../keycard-sqlx/README.md",
    readme_keycard_redis => "../../keycard-redis/README.md",
    readme_keycard_mail => "../../keycard-mail/README.md",
    readme_keycard_passkey => "../../keycard-passkey/README.md",
    readme_keycard_oidc => "../../keycard-oidc/README.md",
    readme_keycard_totp => "../../keycard-totp/README.md",
    readme_keycard_store_tests => "../../keycard-store-tests/README.md",
    readme_keycard_soak => "../../keycard-soak/README.md",
    readme_keycard_demo => "../../keycard-demo/README.md",
    introduction => "../../../docs/guide/src/introduction.md",
    getting_started => "../../../docs/guide/src/getting-started.md",
    flows => "../../../docs/guide/src/flows.md",
    sessions => "../../../docs/guide/src/sessions.md",
    remember_me => "../../../docs/guide/src/remember-me.md",
    sudo => "../../../docs/guide/src/sudo.md",
    events => "../../../docs/guide/src/events.md",
    accounts_by_email => "../../../docs/guide/src/accounts-by-email.md",
    second_factors => "../../../docs/guide/src/second-factors.md",
    api_clients => "../../../docs/guide/src/api-clients.md",
    identity_providers => "../../../docs/guide/src/identity-providers.md",
    mail => "../../../docs/guide/src/mail.md",
    security => "../../../docs/guide/src/security/index.md",
    security_layers => "../../../docs/guide/src/security/layers.md",
    security_sessions_and_cookies => "../../../docs/guide/src/security/sessions-and-cookies.md",
    security_csrf => "../../../docs/guide/src/security/csrf.md",
    security_headers => "../../../docs/guide/src/security/headers.md",
    security_credential_bound_sessions => "../../../docs/guide/src/security/credential-bound-sessions.md",
    security_grace_and_caps => "../../../docs/guide/src/security/grace-and-caps.md",
    security_web_limits => "../../../docs/guide/src/security/web-limits.md",
    security_throttle => "../../../docs/guide/src/security/throttle.md",
    security_passwords => "../../../docs/guide/src/security/passwords.md",
    security_audit => "../../../docs/guide/src/security/audit.md",
    security_fuzzing => "../../../docs/guide/src/security/fuzzing.md",
    security_app_job => "../../../docs/guide/src/security/app-job.md",
    security_defaults => "../../../docs/guide/src/security/defaults.md",
    security_attacks => "../../../docs/guide/src/security/attacks.md",
    stores => "../../../docs/guide/src/stores/index.md",
    stores_sql => "../../../docs/guide/src/stores/sql.md",
    stores_redis => "../../../docs/guide/src/stores/redis.md",
    stores_cluster => "../../../docs/guide/src/stores/cluster.md",
    stores_near_cache => "../../../docs/guide/src/stores/near-cache.md",
    stores_sizing => "../../../docs/guide/src/stores/sizing.md",
    stores_your_own => "../../../docs/guide/src/stores/your-own.md",
    demo => "../../../docs/guide/src/demo.md",
    operating => "../../../docs/guide/src/operating/index.md",
    operating_secrets => "../../../docs/guide/src/operating/secrets.md",
    operating_migrations => "../../../docs/guide/src/operating/migrations.md",
    operating_observability => "../../../docs/guide/src/operating/observability.md",
    operating_outages => "../../../docs/guide/src/operating/outages.md",
    operating_soak => "../../../docs/guide/src/operating/soak.md",
    migrating_pow => "../../../docs/guide/src/migrating/pow.md",
    migrating_axum_login => "../../../docs/guide/src/migrating/axum-login.md",
    benchmarks => "../../../docs/guide/src/benchmarks.md",
    development => "../../../docs/guide/src/development.md",
}
