//! `Config::from_settings`: defaults, and one error naming the setting for every bad value.

use super::*;
use clap::Parser;

#[derive(clap::Parser)]
struct T {
    #[command(flatten)]
    s: Settings,
}

fn settings(args: &[&str]) -> Settings {
    let mut v = vec!["t"];
    v.extend_from_slice(args);
    T::try_parse_from(v).expect("flags parse").s
}

#[test]
fn defaults_are_valid_and_generate_a_secret_beside_the_database() {
    let c = Config::from_settings(&settings(&[])).expect("defaults are valid");
    assert_eq!(c.addr.to_string(), "127.0.0.1:4000");
    assert_eq!(c.cache, CacheBackend::Memory);
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
    assert!(e.to_string().starts_with("SECRET_KEY: is 5 bytes long"));
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
        assert!(e.to_string().contains("shared CACHE_URL"), "{e}");
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
    let c = Config::from_settings(&settings(&["--cache-key-prefix", ""])).expect("valid");
    assert_eq!(c.cache, CacheBackend::Memory);
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
