//! `Config::from_settings`: defaults, and one error naming the setting for every bad value.

use super::*;

#[derive(clap::Parser)]
struct T {
    #[command(flatten)]
    s: Settings,
}

/// Settings from flags, with their origins (as `cli::parse` records them).
fn settings(args: &[&str]) -> Settings {
    let mut v = vec!["t"];
    v.extend_from_slice(args);
    let matches = <T as clap::CommandFactory>::command()
        .try_get_matches_from(v)
        .expect("flags parse");
    let s = <T as clap::FromArgMatches>::from_arg_matches(&matches)
        .expect("flags parse")
        .s;
    Settings {
        origins: Origins::from_matches(&matches),
        ..s
    }
}

#[test]
fn defaults_are_valid_and_generate_a_secret_beside_the_database() {
    let c = Config::from_settings(&settings(&[])).expect("defaults are valid");
    assert_eq!(c.addr.to_string(), "127.0.0.1:4000");
    // Sessions live in the users' SQLite file: a restart signs nobody out.
    assert_eq!(
        c.cache,
        CacheBackend::Sqlite {
            url: DEFAULT_DATABASE_URL.to_owned()
        }
    );
    assert_eq!(c.policy, Policy::default());
    assert!(
        !c.cookie_secure,
        "plain http only because the default address is loopback"
    );
    assert_eq!(c.public_origin, None);
    assert_eq!(
        c.allowed_origins(),
        ["http://127.0.0.1:4000", "http://localhost:4000"]
    );
    match c.secret {
        SecretSource::File(p) => assert_eq!(p, PathBuf::from("data/keycard-demo.secret_key")),
        other => panic!("expected a secret file, got {other:?}"),
    }
}

#[test]
fn short_secret_names_the_setting() {
    let e = Config::from_settings(&settings(&["--secret-key", "short"])).unwrap_err();
    assert_eq!(e.setting, "SECRET_KEY");
    // Typed as a flag, so named by the flag.
    assert!(
        e.to_string().starts_with("--secret-key: is 5 bytes long"),
        "{e}"
    );
}

#[test]
fn bad_numbers_and_policies_name_the_setting() {
    let e = Config::from_settings(&settings(&["--session-idle-secs", "abc"])).unwrap_err();
    assert_eq!(e.setting, "SESSION_IDLE_SECS");
    let e = Config::from_settings(&settings(&["--session-renewal-secs", "1800"])).unwrap_err();
    assert_eq!(e.setting, "SESSION_RENEWAL_SECS");
    let e = Config::from_settings(&settings(&["--session-grace-secs", "900"])).unwrap_err();
    assert_eq!(e.setting, "SESSION_GRACE_SECS");
    let e = Config::from_settings(&settings(&["--session-absolute-secs", "60"])).unwrap_err();
    assert_eq!(e.setting, "SESSION_IDLE_SECS");
    let e = Config::from_settings(&settings(&["--trial-secs", "0"])).unwrap_err();
    assert_eq!(e.setting, "TRIAL_SECS");
    let e = Config::from_settings(&settings(&["--cookie-secure", "maybe"])).unwrap_err();
    assert_eq!(e.setting, "COOKIE_SECURE");
    let e = Config::from_settings(&settings(&["--addr", "localhost"])).unwrap_err();
    assert_eq!(e.setting, "KEYCARD_ADDR");
}

#[test]
fn redis_needs_a_secret_key_and_never_echoes_the_url() {
    let e =
        Config::from_settings(&settings(&["--cache-url", "redis://:hunter2@h:6379"])).unwrap_err();
    assert!(!e.to_string().contains("hunter2"));
    if cfg!(feature = "redis") {
        // Every node must sign cookies with the same key: a per-machine development secret cannot work.
        assert_eq!(e.setting, "SECRET_KEY");
        assert!(e.to_string().contains("shared --cache-url"), "{e}");
    } else {
        assert_eq!(e.setting, "CACHE_URL");
    }
    for bad in [
        "rediss://:hunter2@h:6379",
        "memcached://:hunter2@h",
        "redis://:hunter2@",
    ] {
        let e = Config::from_settings(&settings(&["--cache-url", bad])).unwrap_err();
        assert_eq!(e.setting, "CACHE_URL", "{bad}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}

#[cfg(feature = "redis")]
#[test]
fn a_redis_cluster_url_lists_its_nodes_and_is_the_redis_store() {
    let key = "k".repeat(64);
    let url = "redis+cluster://:hunter2@127.0.0.1:7000,127.0.0.1:7001";
    let c = Config::from_settings(&settings(&["--cache-url", url, "--secret-key", &key]))
        .expect("valid");
    assert_eq!(
        c.cache,
        CacheBackend::Redis {
            url: url.into(),
            key_prefix: DEFAULT_CACHE_KEY_PREFIX.into(),
        }
    );
    assert!(!c.cache.display_url().contains("hunter2"));
    for bad in [
        "redis+cluster://",
        "redis+cluster://127.0.0.1:7000,",
        "redis+cluster://127.0.0.1:7000/2",
    ] {
        let e = Config::from_settings(&settings(&["--cache-url", bad, "--secret-key", &key]))
            .unwrap_err();
        assert!(
            e.to_string().contains("HOST:PORT[,HOST:PORT…]"),
            "{bad}: {e}"
        );
    }
    let e = Config::from_settings(&settings(&[
        "--cache-url",
        url,
        "--secret-key",
        &key,
        "--cache-key-prefix",
        "{app}:",
    ]))
    .unwrap_err();
    assert!(e.to_string().contains("must not hold `{` or `}`"), "{e}");
}

#[cfg(feature = "redis")]
#[test]
fn redis_with_a_secret_key_parses_with_the_default_or_given_prefix() {
    let key = "k".repeat(64);
    let c = Config::from_settings(&settings(&[
        "--cache-url",
        "redis://:hunter2@127.0.0.1:6379/2",
        "--secret-key",
        &key,
    ]))
    .expect("valid");
    assert_eq!(
        c.cache,
        CacheBackend::Redis {
            url: "redis://:hunter2@127.0.0.1:6379/2".into(),
            key_prefix: DEFAULT_CACHE_KEY_PREFIX.into(),
        }
    );
    assert!(c.cache.is_shared());
    assert_eq!(c.cache.name(), "redis");
    assert_eq!(c.cache.display_url(), "redis://…@127.0.0.1:6379/2");
    let debug = format!("{c:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(!debug.contains(&key), "{debug}");

    let c = Config::from_settings(&settings(&[
        "--cache-url",
        "redis://127.0.0.1",
        "--secret-key",
        &key,
        "--cache-key-prefix",
        "shop:sess:",
    ]))
    .expect("valid");
    assert!(
        matches!(c.cache, CacheBackend::Redis { ref key_prefix, .. } if key_prefix == "shop:sess:")
    );
    for bad in ["", "has space:", &"p".repeat(65)] {
        let e = Config::from_settings(&settings(&[
            "--cache-url",
            "redis://127.0.0.1",
            "--secret-key",
            &key,
            "--cache-key-prefix",
            bad,
        ]))
        .unwrap_err();
        assert_eq!(e.setting, "CACHE_KEY_PREFIX", "{bad:?}");
    }
    // The memory store ignores the prefix, whatever it is.
    let c = Config::from_settings(&settings(&[
        "--cache-url",
        "memory",
        "--cache-key-prefix",
        "",
    ]))
    .expect("valid");
    assert_eq!(c.cache, CacheBackend::Memory);
}

#[test]
fn sessions_follow_the_users_database_unless_told_otherwise() {
    let key = "k".repeat(64);
    let pg = "postgres://app:pw@db:5432/app";
    let c =
        Config::from_settings(&settings(&["--database-url", pg, "--secret-key", &key])).unwrap();
    assert_eq!(c.cache, CacheBackend::Postgres { url: pg.to_owned() });
    assert_eq!(c.cache.display_url(), "postgres://…@db:5432/app");
    assert!(c.cache.is_networked());

    let c = Config::from_settings(&settings(&["--database-url", "sqlite::memory:"])).unwrap();
    assert_eq!(
        c.cache,
        CacheBackend::Memory,
        "an in-memory users database keeps nothing either"
    );

    let c = Config::from_settings(&settings(&["--cache-url", "sqlite://elsewhere/s.db"])).unwrap();
    assert_eq!(
        c.cache,
        CacheBackend::Sqlite {
            url: "sqlite://elsewhere/s.db".to_owned()
        }
    );
    assert!(c.cache.is_shared() && !c.cache.is_networked());

    // A PostgreSQL cache is shared across machines: the secret must be given.
    let e = Config::from_settings(&settings(&["--cache-url", pg])).unwrap_err();
    assert_eq!(e.setting, "SECRET_KEY");
    assert!(!e.to_string().contains("pw"), "{e}");
    // An in-memory SQLite "cache" would lose everything: say what to use instead.
    let e = Config::from_settings(&settings(&["--cache-url", "sqlite::memory:"])).unwrap_err();
    assert_eq!(e.setting, "CACHE_URL");
    assert!(e.to_string().contains("CACHE_URL=memory"), "{e}");
}

#[test]
fn database_urls_are_classified() {
    assert_eq!(
        DatabaseKind::of("sqlite::memory:").unwrap(),
        DatabaseKind::SqliteMemory
    );
    assert_eq!(
        DatabaseKind::of("sqlite:x.db").unwrap(),
        DatabaseKind::SqliteFile("x.db".into())
    );
    assert_eq!(
        DatabaseKind::of("postgres://u@h/db").unwrap(),
        DatabaseKind::Postgres
    );
    assert_eq!(
        DatabaseKind::of("mysql://x").unwrap_err().setting,
        "DATABASE_URL"
    );
    let e = Config::from_settings(&settings(&["--database-url", "postgres://u@h/db"])).unwrap_err();
    assert_eq!(e.setting, "SECRET_KEY");
    assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://…@h/db");
}

#[test]
fn client_ip_source_defaults_to_the_tcp_peer_and_a_bad_one_names_the_setting() {
    use keycard_axum::ClientIpSource;
    let c = Config::from_settings(&settings(&[])).expect("defaults are valid");
    assert_eq!(c.client_ip, ClientIpSource::ConnectInfo);
    for (given, expected) in [
        ("connect-info", ClientIpSource::ConnectInfo),
        (
            " Rightmost-Forwarded-For ",
            ClientIpSource::RightmostForwardedFor,
        ),
        ("none", ClientIpSource::None),
    ] {
        let c = Config::from_settings(&settings(&["--client-ip-source", given])).expect("valid");
        assert_eq!(c.client_ip, expected, "{given:?}");
    }
    let e =
        Config::from_settings(&settings(&["--client-ip-source", "x-forwarded-for"])).unwrap_err();
    assert_eq!(e.setting, "CLIENT_IP_SOURCE");
}

#[test]
fn errors_name_the_flag_that_was_typed_or_the_environment_variable() {
    // Typed as a flag: named by the flag, and so are the other settings its message mentions.
    let e = Config::from_settings(&settings(&["--addr", "4001"])).unwrap_err();
    assert_eq!(e.setting, "KEYCARD_ADDR");
    assert_eq!(
        e.to_string(),
        r#"--addr: "4001" is not an IP:PORT address (e.g. 127.0.0.1:4000)"#
    );
    let e = Config::from_settings(&settings(&[
        "--session-idle-secs",
        "60",
        "--session-renewal-secs",
        "20",
        "--session-grace-secs",
        "5",
        "--session-absolute-secs",
        "30",
    ]))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "--session-idle-secs: 60 must not be longer than --session-absolute-secs (30)"
    );
    // A flag against a default: the default is named by its environment variable.
    let e = Config::from_settings(&settings(&["--session-renewal-secs", "1800"])).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "--session-renewal-secs: 1800 must be shorter than SESSION_IDLE_SECS (1800)"
        ),
        "{e}"
    );

    // From the environment: named by the variable.
    let mut s = settings(&[]);
    s.server.addr = "4001".into();
    s.origins = Origins::default().with("KEYCARD_ADDR", Origin::Env);
    let e = Config::from_settings(&s).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"KEYCARD_ADDR: "4001" is not an IP:PORT address (e.g. 127.0.0.1:4000)"#
    );
    assert_eq!(origin::flag_of("KEYCARD_ADDR"), Some("--addr"));
}

#[test]
fn the_defaults_of_the_settings_structs_are_clap_s_defaults() {
    let parsed = settings(&[]);
    let built = Settings::default();
    assert_eq!(
        format!("{:?}", parsed.server),
        format!("{:?}", built.server)
    );
    assert_eq!(
        parsed.store.trial_secs,
        DEFAULT_TRIAL_SECS.to_string(),
        "TRIAL_SECS default"
    );
    assert_eq!(parsed.store.database_url, built.store.database_url);
    assert_eq!(parsed.store.cache_url, built.store.cache_url);
    assert_eq!(parsed.store.cache_key_prefix, built.store.cache_key_prefix);
    assert_eq!(parsed.store.trial_secs, built.store.trial_secs);
    assert_eq!(parsed.origins.of("KEYCARD_ADDR"), Origin::Default);
}

#[test]
fn secure_cookies_everywhere_but_loopback() {
    let c = Config::from_settings(&settings(&[
        "--addr",
        "0.0.0.0:4000",
        "--public-origin",
        "https://demo.example",
    ]))
    .expect("behind an HTTPS proxy");
    assert!(c.cookie_secure);
    assert_eq!(c.allowed_origins(), ["https://demo.example"]);
    let e = Config::from_settings(&settings(&[
        "--addr",
        "0.0.0.0:4000",
        "--cookie-secure",
        "false",
    ]))
    .unwrap_err();
    assert_eq!(e.setting, "COOKIE_SECURE");
    let e = Config::from_settings(&settings(&["--addr", "0.0.0.0:4000"])).unwrap_err();
    assert_eq!(e.setting, "PUBLIC_ORIGIN");
}

#[test]
fn the_near_cache_is_on_by_default_and_turns_off_with_cache_near_off() {
    assert!(Config::from_settings(&settings(&[])).unwrap().cache_near);
    let off = Config::from_settings(&settings(&["--cache-near", "off"])).unwrap();
    assert!(!off.cache_near);
    let e = Config::from_settings(&settings(&["--cache-near", "maybe"])).unwrap_err();
    assert_eq!(e.setting, "CACHE_NEAR");
    assert!(e.to_string().starts_with("--cache-near: "), "{e}");
}

#[test]
fn the_server_limits_default_to_the_servers_and_bad_ones_name_the_setting() {
    let c = Config::from_settings(&settings(&[])).unwrap();
    assert_eq!(
        c.header_read_timeout,
        crate::server::DEFAULT_HEADER_READ_TIMEOUT
    );
    assert_eq!(c.max_connections, crate::server::DEFAULT_MAX_CONNECTIONS);
    assert_eq!(
        Config::for_tests("sqlite::memory:").header_read_timeout,
        crate::server::DEFAULT_HEADER_READ_TIMEOUT
    );
    let c = Config::from_settings(&settings(&[
        "--header-read-timeout-secs",
        "3",
        "--max-connections",
        "50",
    ]))
    .unwrap();
    assert_eq!(
        (c.header_read_timeout, c.max_connections),
        (Duration::from_secs(3), 50)
    );
    for (flag, value, setting) in [
        (
            "--header-read-timeout-secs",
            "0",
            "HEADER_READ_TIMEOUT_SECS",
        ),
        (
            "--header-read-timeout-secs",
            "301",
            "HEADER_READ_TIMEOUT_SECS",
        ),
        (
            "--header-read-timeout-secs",
            "ten",
            "HEADER_READ_TIMEOUT_SECS",
        ),
        ("--max-connections", "0", "MAX_CONNECTIONS"),
        ("--max-connections", "many", "MAX_CONNECTIONS"),
        ("--max-connections", "1000001", "MAX_CONNECTIONS"),
    ] {
        let e = Config::from_settings(&settings(&[flag, value])).unwrap_err();
        assert_eq!(e.setting, setting, "{flag} {value}");
        assert!(e.to_string().starts_with(flag), "{e}");
    }
}
