//! One soak run: the services, the nodes, the clients and the faults for a while, then everything
//! stopped and the history checked.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::checker::{self, CheckConfig, Report};
use crate::client::{self, CliCommand, Ctx};
use crate::faults::{self, Injector};
use crate::history::Recorder;
use crate::nodes::{free_port, Node, NodeSpec};
use crate::rng::Rng;
use crate::services::{ServiceOptions, Services, Setup};

/// What a run does.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The configuration.
    pub setup: Setup,
    /// How long the clients run.
    pub duration: Duration,
    /// App nodes.
    pub nodes: usize,
    /// Concurrent clients.
    pub clients: u32,
    /// The mean time between faults (zero: no faults).
    pub fault_every: Duration,
    /// The demo binary.
    pub demo_bin: PathBuf,
    /// `KEYCARD_SOAK_FAULT` for the nodes (a deliberately broken near cache), if any.
    pub soak_fault: Option<String>,
    /// How long a client waits for an answer.
    pub timeout: Duration,
    /// The generators' seed.
    pub seed: u64,
    /// The services' settings (the run's directory among them).
    pub services: ServiceOptions,
    /// What the checker allows.
    pub check: CheckConfig,
    /// `SESSION_RENEWAL_SECS` of the nodes (a due renewal always asks the store).
    pub renewal_secs: u64,
}

/// A run's outcome.
#[derive(Debug)]
pub struct Outcome {
    /// The checker's report.
    pub report: Report,
    /// How long the whole run took (services and nodes included).
    pub wall: Duration,
    /// Problems stopping the services (left-overs to clean by hand).
    pub cleanup: Vec<String>,
}

/// Run the soak.
pub async fn run(opts: RunOptions) -> Result<Outcome, String> {
    let began = Instant::now();
    let dir = opts.services.dir.clone();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let rec = Recorder::create(&dir.join("history.jsonl")).map_err(|e| e.to_string())?;
    let services = Services::start(opts.setup, &opts.services).await?;
    let result = with_services(&opts, &rec, services).await;
    let (history, write_error) = rec.finish();
    let (mut cleanup, failure) = match result {
        Ok(problems) => (problems, None),
        Err((problems, e)) => (problems, Some(e)),
    };
    if let Some(e) = write_error {
        cleanup.push(format!("history file: {e}"));
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let report = checker::check(&history, &opts.check);
    Ok(Outcome {
        report,
        wall: began.elapsed(),
        cleanup,
    })
}

type Stopped = Result<Vec<String>, (Vec<String>, String)>;

/// Nodes, clients and faults on running services; the services are stopped whatever happens.
async fn with_services(opts: &RunOptions, rec: &Recorder, services: Services) -> Stopped {
    let secret = Rng::new(opts.seed ^ 0x5ec7e7).hex(48);
    let renewal = opts.renewal_secs.max(6).to_string();
    let mut env = services.env.clone();
    env.extend(
        [
            ("SECRET_KEY", secret.as_str()),
            ("SESSION_IDLE_SECS", "3600"),
            ("SESSION_RENEWAL_SECS", renewal.as_str()),
            ("SESSION_GRACE_SECS", "5"),
            ("SESSION_ABSOLUTE_SECS", "7200"),
            ("SUDO_SECS", "7200"),
            ("RUST_LOG", "warn"),
            // Each argon2 hash allocates 19 MiB. glibc gives every blocking thread an arena of its own,
            // and after the first such buffer is freed it raises its mmap threshold past 19 MiB, so the
            // next ones come from the arenas and stay there: RSS climbs in 19 MiB steps to a plateau
            // (~400 MiB with one arena a thread, ~560 MiB with two arenas in the long run): not a
            // leak, but it hides one. A fixed 1 MiB threshold maps every large buffer and gives it
            // back when freed, and two arenas bound the rest: RSS follows live memory.
            ("MALLOC_ARENA_MAX", "2"),
            ("MALLOC_MMAP_THRESHOLD_", "1048576"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let cli = CliCommand {
        binary: opts.demo_bin.clone(),
        env: env.clone(),
        dir: opts.services.dir.clone(),
    };
    if let Some(fault) = &opts.soak_fault {
        env.push(("KEYCARD_SOAK_FAULT".to_owned(), fault.clone()));
    }
    let spec = NodeSpec {
        binary: opts.demo_bin.clone(),
        env,
        dir: opts.services.dir.clone(),
    };
    let services = Arc::new(services);
    let outcome = with_nodes(opts, rec, &spec, cli, services.clone()).await;
    let mut services = match Arc::try_unwrap(services) {
        Ok(s) => s,
        Err(_) => return Err((Vec::new(), "the services are still in use".to_owned())),
    };
    let problems = services.stop().await;
    match outcome {
        Ok(()) => Ok(problems),
        Err(e) => Err((problems, e)),
    }
}

async fn with_nodes(
    opts: &RunOptions,
    rec: &Recorder,
    spec: &NodeSpec,
    cli: CliCommand,
    services: Arc<Services>,
) -> Result<(), String> {
    let mut nodes = Vec::new();
    for i in 0..opts.nodes {
        let port = free_port().map_err(|e| e.to_string())?;
        nodes.push(Node::new(i, port));
    }
    let nodes = Arc::new(Mutex::new(nodes));
    let started = start_all(&nodes, spec).await;
    let result = match started {
        Ok(bases) => {
            drive(opts, rec, spec, cli, services, nodes.clone(), bases).await;
            Ok(())
        }
        Err(e) => Err(e),
    };
    for node in nodes.lock().await.iter_mut() {
        node.kill().await;
    }
    result
}

async fn start_all(nodes: &Arc<Mutex<Vec<Node>>>, spec: &NodeSpec) -> Result<Vec<String>, String> {
    let mut nodes = nodes.lock().await;
    let mut bases = Vec::new();
    for node in nodes.iter_mut() {
        node.start(spec).await.map_err(|e| e.to_string())?;
        bases.push(node.base());
    }
    Ok(bases)
}

async fn drive(
    opts: &RunOptions,
    rec: &Recorder,
    spec: &NodeSpec,
    cli: CliCommand,
    services: Arc<Services>,
    nodes: Arc<Mutex<Vec<Node>>>,
    bases: Vec<String>,
) {
    let deadline = Instant::now() + opts.duration;
    let ctx = Arc::new(Ctx {
        rec: rec.clone(),
        nodes: bases,
        cli,
        timeout: opts.timeout,
        bound: Duration::from_micros(opts.check.bound_us),
        deadline,
        run_tag: opts.services.tag.clone(),
        seed: opts.seed,
    });
    let memory = tokio::spawn(faults::sample_memory(
        rec.clone(),
        nodes.clone(),
        Duration::from_secs(2),
        deadline,
    ));
    let injector = (!opts.fault_every.is_zero()).then(|| Injector {
        rec: rec.clone(),
        nodes,
        spec: spec.clone(),
        services,
        rng: Rng::new(opts.seed ^ 0xfa017),
        every: opts.fault_every,
        // The last fault heals before the clients stop, so the final reads see a whole system.
        stop_at: deadline
            .checked_sub(Duration::from_secs(10))
            .unwrap_or(deadline),
    });
    let faults = tokio::spawn(async move {
        match injector {
            Some(i) => i.run().await,
            None => 0,
        }
    });
    client::run_clients(ctx, opts.clients).await;
    let _ = faults.await;
    let _ = memory.await;
}
