//! A private PostgreSQL cluster for the tests that must restart the
//! database: the shared test cluster cannot be restarted under the other
//! tests, so these get one of their own (`initdb` into a temporary
//! directory, on a free port, run as `postgres` when the tests run as root).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running cluster, stopped and deleted when dropped.
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub url: String,
}

impl Cluster {
    /// Creates and starts a cluster; panics with the tool's output when it cannot.
    pub fn start() -> Self {
        let bin = server_bin().expect("PostgreSQL server programs (initdb, pg_ctl) not found");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let data = std::env::temp_dir().join(format!("fieldsync-pg-{}", uuid::Uuid::now_v7()));
        let data_arg = data.display().to_string();
        run(
            &bin,
            "initdb",
            &[
                "-D",
                &data_arg,
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
        );
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={data_arg} -c fsync=off"
        );
        let log = data.join("server.log").display().to_string();
        run(
            &bin,
            "pg_ctl",
            &["-D", &data_arg, "-l", &log, "-o", &options, "-w", "start"],
        );
        Self {
            bin,
            data,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        }
    }

    /// Restarts the server: every connection is cut (`-m fast`), and it
    /// accepts connections again when this returns.
    pub async fn restart(&self) {
        let data = self.data.display().to_string();
        let mut command = as_owner(&self.bin.join("pg_ctl"));
        command
            .args(["-D", &data, "-m", "fast", "-w", "restart"])
            .stdout(std::process::Stdio::null());
        let status = tokio::process::Command::from(command)
            .status()
            .await
            .expect("pg_ctl restart");
        assert!(status.success(), "pg_ctl restart failed");
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

fn run(bin: &Path, program: &str, args: &[&str]) {
    let output = as_owner(&bin.join(program))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} could not start: {e}"));
    assert!(
        output.status.success(),
        "{program} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
