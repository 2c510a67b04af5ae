//! `keycard-demo`: see `keycard_demo::config::cli` for the commands and `keycard_demo::config` for the settings.

use std::process::ExitCode;

use keycard_demo::config::cli::{self, Invocation};
use keycard_demo::config::Config;
use keycard_demo::domain::plan_admin;

fn main() -> ExitCode {
    let invocation = cli::parse();
    init_tracing();
    let settings = match &invocation {
        Invocation::Serve(settings) | Invocation::SetPlan { settings, .. } => settings,
    };
    let config = match Config::from_settings(settings) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keycard-demo: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    match keycard_demo::soak_faults::from_env() {
        Ok(None) => {}
        Ok(Some(fault)) => {
            tracing::warn!(%fault, "SOAK FAULT ACTIVE: this process's near cache is deliberately broken")
        }
        Err(e) => {
            eprintln!("keycard-demo: configuration error: {e}");
            return ExitCode::from(2);
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("keycard-demo: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match invocation {
            Invocation::Serve(_) => keycard_demo::app::run(config)
                .await
                .map_err(|e| e.to_string()),
            Invocation::SetPlan { email, plan, .. } => {
                plan_admin::set_plan(&config, &email, plan, &mut std::io::stdout())
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keycard-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default (`info`).
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
