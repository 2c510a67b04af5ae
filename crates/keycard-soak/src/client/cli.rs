//! `keycard-demo users set-plan EMAIL PLAN`: another process's `put_user`, recorded as an operation.

use std::process::Stdio;
use std::time::Duration;

use super::ctx::CliCommand;
use super::record::{Draft, Target};
use crate::history::{OpKind, OpResult, Recorder};

/// How long the CLI may take (it starts, connects, updates one row and one cached user).
const CLI_TIMEOUT: Duration = Duration::from_secs(30);

/// Run `set-plan` for `email`; the recorded result. Exit 0 took effect; anything else may have (the
/// database may have changed before the cache failed).
pub async fn set_plan(
    rec: &Recorder,
    cli: &CliCommand,
    client: u32,
    email: &str,
    plan: &str,
) -> OpResult {
    let draft = Draft::start(
        rec,
        OpKind::PutUser,
        Target {
            client,
            user: email,
            session: None,
            node: None,
        },
    );
    let mut command = tokio::process::Command::new(&cli.binary);
    command
        .args(["users", "set-plan", email, plan])
        .current_dir(&cli.dir)
        .env_clear()
        .envs(cli.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = match command.spawn() {
        Ok(c) => c,
        Err(e) => return draft.finish_as(rec, OpResult::Fail, false, Some(e.to_string())),
    };
    match tokio::time::timeout(CLI_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(out)) if out.status.success() => draft.finish_as(rec, OpResult::Ok, false, None),
        Ok(Ok(out)) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().last().unwrap_or_default().to_owned();
            draft.finish_as(
                rec,
                OpResult::Info,
                false,
                Some(format!("{}: {last}", out.status)),
            )
        }
        Ok(Err(e)) => draft.finish_as(rec, OpResult::Info, false, Some(e.to_string())),
        // Dropping the child kills it (kill_on_drop).
        Err(_) => draft.finish_as(
            rec,
            OpResult::Info,
            true,
            Some(format!("the CLI did not finish within {CLI_TIMEOUT:?}")),
        ),
    }
}
