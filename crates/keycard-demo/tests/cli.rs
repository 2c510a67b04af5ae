//! The `keycard-demo` binary itself: configuration errors, `serve` with the embedded defaults, graceful
//! shutdown, `users set-plan`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TempDir;
use keycard_demo::domain::users::{self, Plan};

/// The binary, run in `dir`, with none of the settings inherited from the test's environment.
fn demo(dir: &std::path::Path) -> Command {
    common::procs::demo_command(dir, &[])
}

#[test]
fn bad_configuration_is_one_line_naming_the_setting_and_exit_code_2() {
    let dir = TempDir::new("cli-config");
    let cases: [(&str, &str, &str); 10] = [
        ("SECRET_KEY", "too-short", "SECRET_KEY"),
        ("SESSION_IDLE_SECS", "abc", "SESSION_IDLE_SECS"),
        ("SESSION_GRACE_SECS", "900", "SESSION_GRACE_SECS"),
        ("SESSION_RENEWAL_SECS", "0", "SESSION_RENEWAL_SECS"),
        (
            "CACHE_URL",
            "memcached://user:hunter2@127.0.0.1:11211",
            "CACHE_URL",
        ),
        // A shared cache needs the same SECRET_KEY on every node: a generated one is refused.
        (
            "CACHE_URL",
            "redis://user:hunter2@127.0.0.1:6379",
            "SECRET_KEY: is required with a shared CACHE_URL",
        ),
        ("DATABASE_URL", "mysql://root@localhost/x", "DATABASE_URL"),
        ("KEYCARD_ADDR", "localhost", "KEYCARD_ADDR"),
        ("COOKIE_SECURE", "maybe", "COOKIE_SECURE"),
        ("PLAN_JOB_INTERVAL_SECS", "-1", "PLAN_JOB_INTERVAL_SECS"),
    ];
    for (var, value, named) in cases {
        let out = demo(dir.path())
            .env(var, value)
            .output()
            .expect("run the binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{var}: one line: {stderr}"
        );
        assert!(stderr.contains(named), "{var}: {stderr}");
        assert!(
            !stderr.contains("hunter2"),
            "never echo a password: {stderr}"
        );
    }
    // Flags work as well as the environment.
    let out = demo(dir.path())
        .args([
            "--session-idle-secs",
            "60",
            "--session-renewal-secs",
            "20",
            "--session-grace-secs",
            "5",
            "--session-absolute-secs",
            "30",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Typed as flags, so named by the flags (issue 14), not by their environment variables.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--session-absolute-secs"), "{stderr}");
    assert!(!stderr.contains("SESSION_ABSOLUTE_SECS"), "{stderr}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "a refused configuration creates nothing"
    );
}

/// W5 (issue 9): the demo has no TLS, so plain-http cookies are only for a loopback address. Anywhere
/// else it refuses to start unless cookies are `Secure` and `PUBLIC_ORIGIN` names the HTTPS origin.
#[test]
fn a_non_loopback_address_without_secure_cookies_is_refused_at_start_up() {
    let dir = TempDir::new("cli-insecure");
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("KEYCARD_ADDR", "0.0.0.0:0"), ("COOKIE_SECURE", "false")],
            "COOKIE_SECURE: is false, but KEYCARD_ADDR 0.0.0.0:0 is not a loopback address",
        ),
        (
            &[("KEYCARD_ADDR", "0.0.0.0:0")],
            "PUBLIC_ORIGIN: is required",
        ),
        (
            &[
                ("KEYCARD_ADDR", "0.0.0.0:0"),
                ("PUBLIC_ORIGIN", "http://demo.example"),
            ],
            "PUBLIC_ORIGIN",
        ),
    ];
    for (env, named) in cases {
        let mut cmd = demo(dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run the binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        assert!(stderr.contains(named), "{env:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{env:?}: {stderr}");
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing was started"
    );
}

#[test]
fn serve_with_the_defaults_generates_a_private_secret_answers_and_stops_on_sigterm() {
    let dir = TempDir::new("cli-serve");
    let mut child = demo(dir.path())
        .env("KEYCARD_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the server");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no 'listening' line; log so far:\n{log}"));
        log.push_str(&line);
        log.push('\n');
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    assert!(
        log.contains("SECRET_KEY is not set"),
        "warns about the dev secret:\n{log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes when stderr is not a terminal"
    );
    assert!(
        log.contains("cookies are not Secure") && log.contains("loopback address without TLS"),
        "says that it uses the plain-http opt-out, and why:\n{log}"
    );

    // The embedded defaults: data/ with the database, a 0600 secret, and a .gitignore.
    let data = dir.path().join("data");
    assert!(data.join("keycard-demo.db").exists());
    let secret = data.join("keycard-demo.secret_key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(std::fs::read_to_string(&secret).unwrap().trim().len() >= 64);
    assert!(std::fs::read_to_string(data.join(".gitignore"))
        .unwrap()
        .contains('*'));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = rt.block_on(async {
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .expect("GET /healthz")
            .text()
            .await
            .unwrap()
    });
    assert_eq!(body, "ok");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "graceful shutdown exits 0: {status}");
    // The secret survives a restart (the same file is read back, not regenerated).
    let again = demo(dir.path())
        .args(["users", "set-plan", "nobody@example.com", "pro"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("no user with email"));
}

#[test]
fn users_set_plan_updates_the_database_and_explains_the_memory_cache() {
    let dir = TempDir::new("cli-set-plan");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("users.db").display()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = keycard_demo::domain::db::connect_and_migrate(&url)
            .await
            .unwrap();
        users::create(&db, "alice@example.com", "x", 1)
            .await
            .unwrap();
        db.close().await;
    });

    let out = demo(dir.path())
        .env("DATABASE_URL", &url)
        .env("CACHE_URL", "memory")
        .args(["users", "set-plan", "Alice@Example.com", "pro-trial"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Updated alice@example.com: plan is now pro-trial (ends "),
        "{stdout}"
    );
    assert!(stdout.contains("cannot reach it"), "{stdout}");
    assert!(stdout.contains("/pro at once"), "{stdout}");

    let plan = rt.block_on(async {
        let db = keycard_demo::domain::db::connect_and_migrate(&url)
            .await
            .unwrap();
        let (u, _) = users::find_with_password_by_email(&db, "alice@example.com")
            .await
            .unwrap()
            .unwrap();
        db.close().await;
        u
    });
    assert_eq!(plan.plan, Plan::ProTrial);
    assert!(plan.plan_expires_at.is_some());

    let out = demo(dir.path())
        .env("DATABASE_URL", &url)
        .args(["users", "set-plan", "alice@example.com", "gold"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown plan is a usage error"
    );
}

#[test]
fn a_bad_addr_is_named_as_it_was_given_and_a_port_in_use_names_the_flag() {
    let dir = TempDir::new("cli-addr");
    let one_line = |out: &std::process::Output| {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        stderr
    };
    let typed = demo(dir.path()).args(["--addr", "4001"]).output().unwrap();
    assert_eq!(
        one_line(&typed).trim_end(),
        r#"keycard-demo: configuration error: --addr: "4001" is not an IP:PORT address (e.g. 127.0.0.1:4000)"#
    );
    let typed = demo(dir.path())
        .args(["serve", "--addr", "4001"])
        .output()
        .unwrap();
    assert!(one_line(&typed).contains(r#"--addr: "4001""#));
    let from_env = demo(dir.path())
        .env("KEYCARD_ADDR", "4001")
        .output()
        .unwrap();
    assert!(
        one_line(&from_env).contains(r#"configuration error: KEYCARD_ADDR: "4001" is not"#),
        "named by the environment variable it came from"
    );

    // The port is taken (by this test): the error names the flag that chooses another.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = demo(dir.path())
        .args(["--addr", &addr, "--database-url", "sqlite::memory:"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr} (--addr)")),
        "{stderr}"
    );
    assert!(
        stderr.contains("choose another address with --addr"),
        "{stderr}"
    );
}

#[test]
fn each_command_takes_only_its_own_flags() {
    let dir = TempDir::new("cli-help");
    let help = |args: &[&str]| {
        let out = demo(dir.path()).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let server_flags = [
        "--addr",
        "--session-idle-secs",
        "--session-renewal-secs",
        "--session-grace-secs",
        "--session-absolute-secs",
        "--client-ip-source",
        "--cookie-secure",
        "--plan-job-interval-secs",
    ];
    let data_flags = [
        "--database-url",
        "--cache-url",
        "--cache-key-prefix",
        "--secret-key",
        "--trial-secs",
    ];
    for args in [&["--help"][..], &["serve", "--help"]] {
        let text = help(args);
        for flag in server_flags.iter().chain(&data_flags) {
            assert!(text.contains(flag), "{args:?} shows {flag}:\n{text}");
        }
    }
    let users = help(&["users", "--help"]);
    assert!(users.contains("set-plan"), "{users}");
    let set_plan = help(&["users", "set-plan", "--help"]);
    for flag in data_flags {
        assert!(
            set_plan.contains(flag),
            "set-plan shows {flag}:\n{set_plan}"
        );
    }
    for flag in server_flags {
        assert!(
            !users.contains(flag),
            "users --help without {flag}:\n{users}"
        );
        assert!(
            !set_plan.contains(flag),
            "set-plan --help without {flag}:\n{set_plan}"
        );
    }
    // A server flag given to `users` is a usage error, not silently ignored.
    let out = demo(dir.path())
        .args([
            "users",
            "set-plan",
            "a@example.com",
            "pro",
            "--addr",
            "127.0.0.1:1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // The data flags work after the arguments, as the help shows them.
    let out = demo(dir.path())
        .args([
            "users",
            "set-plan",
            "a@example.com",
            "pro",
            "--trial-secs",
            "0",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--trial-secs: must be greater than 0"),
        "{stderr}"
    );
}
