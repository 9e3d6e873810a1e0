//! A PostgreSQL server of a test's own: `initdb` into a temporary directory, then `postgres` on a
//! free loopback port, trusting local connections, without fsync. Run as `nobody` when the tests
//! run as root, since the server refuses to run as root.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::server_process::{ServerProcess, as_server_user, server_dir};

/// Where `program` (`initdb`, `postgres`) is: on the PATH, or where Debian's `postgresql` package
/// puts it (`/usr/lib/postgresql/<version>/bin`).
pub fn postgres_program(program: &str) -> Option<PathBuf> {
    let on_path = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(program))
        .find(|path| path.is_file());
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| Some(entry.ok()?.path().join("bin").join(program)))
            .filter(|path| path.is_file())
            .collect();
        versions.sort();
        versions.pop()
    })
}

/// A running server, stopped and removed when dropped.
#[derive(Debug)]
pub struct PostgresServer(ServerProcess);

impl PostgresServer {
    /// A fresh server for one test. The tests that call it are ignored unless the build script
    /// found the programs (cfg `postgres_server`).
    pub fn start(name: &str) -> Self {
        let (dir, data) = server_dir(&format!("pg-{name}"));
        let initdb = postgres_program("initdb").expect("initdb was found when the tests were built");
        let status = as_server_user(Command::new(initdb).current_dir(&dir))
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed in {}", dir.display());
        let postgres = postgres_program("postgres").expect("postgres was found when the tests were built");
        let command = |port: u16| {
            let mut command = Command::new(&postgres);
            command.arg("-D").arg(&data).arg("-k").arg(&dir).args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ]);
            command
        };
        // The server writes its pid file's last line, "ready", once it accepts connections.
        let ready = |_| {
            std::fs::read_to_string(data.join("postmaster.pid"))
                .is_ok_and(|pid| pid.lines().last().is_some_and(|line| line.trim() == "ready"))
        };
        Self(ServerProcess::start("postgres", dir.clone(), command, ready))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.0.port()
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port())
    }
}
