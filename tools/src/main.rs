//! The `fieldsync-tools` command line: the load generator and the offline
//! sync simulation (see BENCHMARKS.md and the README).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use fieldsync::config::Settings;
use fieldsync_tools::loadgen::{self, push_burst};
use fieldsync_tools::simulation::{self, Config};

/// Load and simulation tools for fieldsync. `simulate-sync` reads the
/// server's settings as `fieldsync serve` does (`FIELDSYNC_CONFIG`, default
/// `fieldsync.toml`, then `FIELDSYNC_*`) for its database options and retention.
#[derive(Parser)]
#[command(version, about)]
enum Command {
    /// Run the deterministic offline-sync simulation and a syncPush
    /// throughput measurement, and print the figures.
    SimulateSync {
        /// Seed of every random choice.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Database to run in (a new organisation is created there);
        /// default: a temporary SQLite file.
        #[arg(long)]
        database_url: Option<String>,
        /// Operations in the throughput batch.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
    /// Load a running server with subscribers and writes, and print the
    /// figures (see BENCHMARKS.md). Loopback addresses only.
    Loadgen {
        /// The server, e.g. http://127.0.0.1:8080 (loopback only).
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// WebSocket subscribers to hold open.
        #[arg(long, default_value_t = 100)]
        subscribers: usize,
        /// Mutations per second over HTTP (0: subscribers stay idle).
        #[arg(long, default_value_t = 0)]
        rate: u32,
        /// Seconds of the measured phase, after everyone connected.
        #[arg(long, default_value_t = 30)]
        duration: u64,
        /// A third of the way in, every subscriber drops and resumes from
        /// its last cursor at once.
        #[arg(long)]
        reconnect_storm: bool,
        /// The server's process id, to report its RSS and per-connection memory.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Slug of the demo organisation whose logins are used.
        #[arg(long, default_value = "demo")]
        org: String,
        /// Password of the demo logins.
        #[arg(long, env = "FIELDSYNC_LOADGEN_PASSWORD", default_value = "demo")]
        password: String,
        /// Instead of subscribers: time a burst of this many push
        /// notifications from change to provider (the server's
        /// `push.expo_base_url` must point at `--mock-expo`).
        #[arg(long)]
        push_burst: Option<usize>,
        /// Where the push burst's mock Expo listens.
        #[arg(long, default_value = "127.0.0.1:18390")]
        mock_expo: std::net::SocketAddr,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Command::parse() {
        Command::SimulateSync {
            seed,
            database_url,
            batch,
        } => {
            let config = std::env::var_os("FIELDSYNC_CONFIG")
                .map_or_else(|| PathBuf::from("fieldsync.toml"), PathBuf::from);
            let settings = Settings::load(&config)?;
            fieldsync::telemetry::init(&settings.log);
            simulate_sync(&settings, seed, database_url, batch).await
        }
        Command::Loadgen {
            url,
            subscribers,
            rate,
            duration,
            reconnect_storm,
            server_pid,
            org,
            password,
            push_burst,
            mock_expo,
        } => {
            if let Some(notifications) = push_burst {
                let options = push_burst::BurstOptions {
                    url,
                    org,
                    password,
                    notifications,
                    mock: mock_expo,
                };
                print!("{}", push_burst::run(&options).await?);
                return Ok(());
            }
            let options = loadgen::Options {
                url,
                org,
                password,
                subscribers,
                rate,
                duration: Duration::from_secs(duration),
                reconnect_storm,
                server_pid,
            };
            let report = loadgen::run(&options).await?;
            print!("{report}");
            if report.protocol_errors > 0 {
                anyhow::bail!("{} protocol errors", report.protocol_errors);
            }
            Ok(())
        }
    }
}

/// Runs the offline-sync simulation and the syncPush throughput batch, in
/// `database_url` or a temporary SQLite file, and prints the figures.
async fn simulate_sync(
    settings: &Settings,
    seed: u64,
    database_url: Option<String>,
    batch: usize,
) -> anyhow::Result<()> {
    let scratch = std::env::temp_dir().join(format!(
        "fieldsync-sim-{}.db",
        uuid::Uuid::now_v7().simple()
    ));
    let mut database = settings.database.clone();
    database.url = match database_url {
        Some(url) => url,
        None => format!("sqlite://{}?mode=rwc", scratch.display()),
    };
    let db = fieldsync::db::connect(&database)
        .await
        .context("cannot open the simulation database")?;
    fieldsync::db::migrate(&db).await?;
    let config = Config {
        seed,
        ..Config::default()
    };
    println!(
        "offline-sync simulation (seed {seed}): {} workers offline, {} tasks, {} edits each in chunks of up to {} ({:.0}% of answers lost), {} online admin edits, on {}",
        config.workers,
        config.tasks,
        config.edits_per_client,
        config.max_chunk,
        config.lost_answer_rate * 100.0,
        config.admin_edits,
        fieldsync::redact(&database.url)
    );
    let report = simulation::run(&db, &config, settings.sync.retention_days).await?;
    println!("  operations replayed   {}", report.operations);
    println!("  applied               {}", report.applied);
    println!("  merged                {}", report.merged);
    println!("  conflicts (recorded)  {}", report.conflicts);
    println!("  refused               {}", report.failed);
    println!(
        "  resolved automatically {:.2}%",
        report.automatic_rate() * 100.0
    );
    println!(
        "  converged clients     {}/{}",
        report.converged_clients, report.clients
    );
    println!("  accepted changes lost {}", report.lost_changes);
    println!(
        "  pushes                {} ({} answers lost and sent again)",
        report.calls, report.lost_answers
    );
    println!(
        "  overridden, named     {} (answers hiding a dropped value: {})",
        report.overridden, report.misreported
    );
    println!("  replay time           {:.2}s", report.replay_seconds);
    for atomic in [false, true] {
        let rate =
            simulation::push_throughput(&db, batch, atomic, seed + 1 + u64::from(atomic)).await?;
        println!(
            "  syncPush {batch} ops{}  {rate:.0} ops/s",
            if atomic { " (atomic)" } else { "" }
        );
    }
    drop(db);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", scratch.display()));
    }
    Ok(())
}
