//! A private PostgreSQL cluster for the tests that must restart the
//! database: the shared test cluster cannot be restarted under the other
//! tests, so these get one of their own (`initdb` into a temporary
//! directory, on a free port, run as `postgres` when the tests run as root).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::{Backend, TestApp, spawn_app};

/// A running cluster, stopped and deleted when dropped.
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    /// Its URL: Unix socket only (in the data directory), so no port can be
    /// taken from under it while it starts or restarts.
    pub url: String,
}

impl Cluster {
    /// A cluster and a test app on it; `None` (the test is skipped, and
    /// says so; under CI it fails, see `helpers::skip`) when PostgreSQL's
    /// server programs are not installed.
    pub async fn with_app() -> Option<(Self, TestApp)> {
        if server_bin().is_none() {
            crate::helpers::skip("the PostgreSQL server programs are not installed");
            return None;
        }
        let cluster = Self::start();
        let app = spawn_app(Backend::Postgres(cluster.url.clone())).await;
        Some((cluster, app))
    }

    /// Creates and starts a cluster; panics with the tools' output when it cannot.
    fn start() -> Self {
        let bin = server_bin().expect("PostgreSQL server programs (initdb, pg_ctl) not found");
        let data = std::env::temp_dir().join(format!("fieldsync-pg-{}", uuid::Uuid::now_v7()));
        let data_arg = data.display().to_string();
        // The guard exists before anything is created, so a failed start
        // still stops and removes what it made.
        let cluster = Self {
            url: format!("postgres://postgres@localhost/postgres?host={data_arg}&port=5432"),
            bin,
            data,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &data_arg,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        cluster.run("pg_ctl", &cluster.pg_ctl_args("start"));
        cluster
    }

    /// Restarts the server: every connection is cut (`-m fast`), and it
    /// accepts connections again when this returns.
    pub async fn restart(&self) {
        self.pg_ctl("restart").await;
    }

    /// Stops the server (`-m fast`: every connection is cut).
    pub async fn stop(&self) {
        self.pg_ctl("stop").await;
    }

    /// Starts the server again after [`Cluster::stop`].
    pub async fn resume(&self) {
        self.pg_ctl("start").await;
    }

    async fn pg_ctl(&self, action: &str) {
        let mut command = as_owner(&self.bin.join("pg_ctl"));
        command
            .args(self.pg_ctl_args(action))
            .args(["-m", "fast"])
            .stdout(std::process::Stdio::null());
        let status = tokio::process::Command::from(command)
            .status()
            .await
            .expect("pg_ctl runs");
        assert!(
            status.success(),
            "pg_ctl {action} failed: {}",
            self.log_tail()
        );
    }

    /// `pg_ctl` arguments to start (or restart) this cluster and wait for it.
    fn pg_ctl_args(&self, action: &str) -> Vec<String> {
        let data = self.data.display().to_string();
        let options = format!(
            "-c listen_addresses='' -c unix_socket_directories={data} -c port=5432 -c fsync=off"
        );
        let log = self.data.join("server.log").display().to_string();
        ["-D", &data, "-l", &log, "-o", &options, "-w", action]
            .map(str::to_owned)
            .to_vec()
    }

    fn run(&self, program: &str, args: &[impl AsRef<std::ffi::OsStr>]) {
        let output = as_owner(&self.bin.join(program))
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program} could not start: {e}"));
        assert!(
            output.status.success(),
            "{program} failed: {}{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.log_tail()
        );
    }

    /// The end of the server's log, for failure messages.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default();
        let start = log.len().saturating_sub(2000);
        let start = (start..log.len())
            .find(|&i| log.is_char_boundary(i))
            .unwrap_or(0);
        format!("\nserver log:\n{}", &log[start..])
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        let _ = as_owner(&self.bin.join("pg_ctl"))
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// The newest installed PostgreSQL's server programs.
fn server_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A command run as the `postgres` user when we are root (PostgreSQL
/// refuses to run as root), as ourselves otherwise.
fn as_owner(program: &Path) -> Command {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}
