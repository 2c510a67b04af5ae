//! `keycard-bench sizing`: issue 23's sizing runs in one command. For every store and every session
//! count, one `store-size` process (see `crate::sizing`); then the tables (`sizing_report`) and the SVG
//! charts, written to `--out` and `--charts`. The raw results go to `sizing-runs.jsonl` in the work
//! directory; `--replay FILE` redraws the tables and charts from such a file without measuring.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::builder::PossibleValuesParser;

use super::procs::run_json;
use super::report::Report;
use super::sizing_report;
use crate::sizing::{Services, KINDS};

/// The flags of `keycard-bench sizing`.
#[derive(Debug, Clone, clap::Args)]
pub struct SizingArgs {
    /// Stores, comma-separated [default: all: memory,sqlite,postgres,redis,cluster].
    #[arg(long, value_delimiter = ',', value_parser = PossibleValuesParser::new(KINDS))]
    pub stores: Vec<String>,
    /// Live-session counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    pub sizes: Vec<u64>,
    /// Concurrent tasks filling a shared store (the memory store is filled by 2).
    #[arg(long, default_value_t = 64)]
    pub tasks: usize,
    /// Seconds of concurrent load per run.
    #[arg(long, default_value_t = 5.0)]
    pub load_secs: f64,
    /// Where the shared stores are (each Redis flushed before each run).
    #[command(flatten)]
    pub services: Services,
    /// Work directory (the SQLite file, the raw results) [default: target/sizing-run beside the binary].
    #[arg(long)]
    pub work: Option<PathBuf>,
    /// Also write the report to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the SVG charts go [default: the work directory].
    #[arg(long)]
    pub charts: Option<PathBuf>,
    /// Draw the tables and charts from this `sizing-runs.jsonl` instead of measuring.
    #[arg(long)]
    pub replay: Option<PathBuf>,
}

pub fn main(args: SizingArgs) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let work = args.work.clone().unwrap_or_else(|| {
        exe.parent()
            .and_then(Path::parent)
            .map_or_else(|| PathBuf::from("sizing-run"), |t| t.join("sizing-run"))
    });
    let charts = args.charts.clone().unwrap_or_else(|| work.clone());
    for d in [&work, &charts] {
        std::fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
    }
    let runs = match &args.replay {
        Some(file) => std::fs::read_to_string(file)
            .map_err(|e| format!("read {}: {e}", file.display()))?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| format!("{}: {e}", file.display())))
            .collect::<Result<Vec<serde_json::Value>, String>>()?,
        None => measure(&args, &exe, &work)?,
    };
    let mut rep = Report(String::new());
    sizing_report::report(&runs, &charts, &mut rep)?;
    if let Some(out) = &args.out {
        std::fs::write(out, &rep.0).map_err(|e| format!("write {}: {e}", out.display()))?;
        println!("(report written to {})", out.display());
    }
    Ok(())
}

fn measure(args: &SizingArgs, exe: &Path, work: &Path) -> Result<Vec<serde_json::Value>, String> {
    let stores: Vec<String> = if args.stores.is_empty() {
        KINDS.iter().map(|s| s.to_string()).collect()
    } else {
        args.stores.clone()
    };
    let raw_path = work.join("sizing-runs.jsonl");
    let mut raw = std::fs::File::create(&raw_path)
        .map_err(|e| format!("create {}: {e}", raw_path.display()))?;
    let sqlite = work.join("keycard-sizing.db");
    let mut runs = Vec::new();
    for store in &stores {
        for &n in &args.sizes {
            let memory = store == "memory";
            let (sessions, tasks, fetches) = (
                n.to_string(),
                if memory { 2 } else { args.tasks }.to_string(),
                if memory { "200000" } else { "20000" },
            );
            let load = args.load_secs.to_string();
            let sqlite_path = sqlite.to_string_lossy();
            let services = args.services.args();
            let mut argv = vec![
                "store-size",
                "--store",
                store,
                "--sessions",
                &sessions,
                "--tasks",
                &tasks,
                "--fetches",
                fetches,
                "--load-secs",
                &load,
                "--sqlite-path",
                &sqlite_path,
                "--flush",
            ];
            argv.extend(services.iter().map(String::as_str));
            eprintln!("[sizing] {store} with {n} sessions");
            let t = Instant::now();
            let v = match run_json(exe, &argv, Duration::from_secs(3600)) {
                Ok(mut v) => {
                    v["wall_s"] = t.elapsed().as_secs_f64().into();
                    v
                }
                Err(e) => {
                    eprintln!("[sizing] {store} {n}: {e}");
                    serde_json::json!({"store": store, "sessions": n, "error": e})
                }
            };
            eprintln!(
                "[sizing] {store} {n}: done in {:.0} s",
                t.elapsed().as_secs_f64()
            );
            writeln!(raw, "{v}").map_err(|e| format!("write {}: {e}", raw_path.display()))?;
            runs.push(v);
        }
    }
    eprintln!("[sizing] raw results: {}", raw_path.display());
    Ok(runs)
}
