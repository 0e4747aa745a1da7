//! The `fieldsync` command line: parses arguments and calls into the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use entity::enums::Role;
use fieldsync::config::Settings;
use fieldsync::state::AppState;
use fieldsync::{Application, cli};

/// Real-time GraphQL server for building operations.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (missing is fine: defaults and FIELDSYNC_* apply).
    #[arg(
        long,
        global = true,
        env = "FIELDSYNC_CONFIG",
        default_value = "fieldsync.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (applies migrations; loads the demo organisation on an empty database).
    Serve {
        /// Listen address, overriding `server.bind`.
        #[arg(long)]
        bind: Option<SocketAddr>,
        /// Load the demo organisation if missing, and print its tokens.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Add another demo organisation (for trying tenant isolation).
    Seed {
        /// Display name of the organisation; its slug names the logins.
        #[arg(long = "demo-org")]
        demo_org: String,
    },
    /// Print an access token for a user (alone on stdout).
    Token {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// Lifetime in seconds (default: `auth.access_token_ttl_secs`).
        #[arg(long)]
        ttl: Option<u64>,
    },
    /// Print the GraphQL schema (SDL) that schema.graphql must equal.
    Schema,
    /// Create a user in an organisation.
    CreateUser {
        /// Slug of the organisation.
        #[arg(long)]
        org: String,
        /// Sign-in email.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// ADMIN, WORKER or CLIENT.
        #[arg(long, value_parser = cli::parse_role)]
        role: Role,
        /// Password for built-in login (omit for identity-provider users).
        #[arg(long, env = "FIELDSYNC_NEW_USER_PASSWORD")]
        password: Option<String>,
        /// IANA time zone.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
    },
}

fn main() -> ExitCode {
    keep_large_allocations_apart();
    let args = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole cause chain on one line, without a backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Cli) -> anyhow::Result<()> {
    if let Command::Schema = args.command {
        print!("{}", fieldsync::graphql::sdl());
        return Ok(());
    }
    let mut settings = Settings::load(&args.config)?;
    fieldsync::telemetry::init(&settings.log);
    match args.command {
        Command::Schema => unreachable!("handled before settings are read"),
        Command::Serve { bind, demo } => {
            if let Some(bind) = bind {
                settings.server.bind = bind;
            }
            let state = AppState::connect(settings).await?;
            cli::ensure_demo(&state, demo).await?;
            let app = Application::build(state).await?;
            tracing::info!(addr = %app.local_addr()?, "fieldsync listening");
            let shutdown = app.shutdown_token();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    tracing::info!("shutting down");
                    shutdown.cancel();
                }
            });
            app.run().await.context("server failed")?;
        }
        Command::Migrate => {
            let url = fieldsync::redact(&settings.database.url);
            let db = fieldsync::db::connect(&settings.database)
                .await
                .with_context(|| format!("cannot open database `{url}`"))?;
            let applied = fieldsync::db::migrate(&db)
                .await
                .context("migrations failed")?;
            println!("{applied} migrations applied");
        }
        Command::Seed { demo_org } => {
            let state = AppState::connect(settings).await?;
            let demo = fieldsync::demo::seed(&state.db, &demo_org).await?;
            cli::print_demo(&state, &demo)?;
        }
        Command::Token { email, ttl } => {
            let state = AppState::connect(settings).await?;
            println!("{}", cli::token_for(&state, &email, ttl).await?);
        }
        Command::CreateUser {
            org,
            email,
            name,
            role,
            password,
            time_zone,
        } => {
            let state = AppState::connect(settings).await?;
            let user =
                cli::create_user(&state, &org, email, name, role, password, time_zone).await?;
            println!("{}", user);
        }
    }
    Ok(())
}

/// Gives every allocation of 1 MiB or more a mapping of its own, returned
/// to the system when freed. glibc's default raises this threshold after
/// the first large free, so each Argon2 hash (19 MiB, on whichever thread's
/// arena) would stay in the heap for good: ~60 MB of RSS after a handful of
/// logins that a server holding many idle sockets cannot spare.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_large_allocations_apart() {
    // SAFETY: `mallopt` only tunes the allocator; it is called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_allocations_apart() {}
