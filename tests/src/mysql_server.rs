//! A MySQL-protocol server of a test's own, from MariaDB's programs: `mariadb-install-db` into a
//! temporary directory, then `mariadbd` on a free loopback port and its own socket, with a database
//! `sessions` and a `root` that needs no password there. Run as `nobody` when the tests run as
//! root; stopped by its pid (the child process) when dropped.

use std::path::PathBuf;
use std::process::Command;

use crate::server_process::{NOBODY, ServerProcess, is_root, server_dir};

/// Where `program` (`mariadbd`, `mariadb-install-db`) is: on the PATH, or in `/usr/sbin` and
/// `/usr/bin`, where Debian's `mariadb-server` package puts them.
pub fn mysql_program(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// Server settings for a test: a small buffer pool and log, no binary log, no fsync per commit
/// (the tests kill clients, never the server).
const SETTINGS: &[&str] = &[
    "--innodb-buffer-pool-size=16M",
    "--innodb-log-file-size=4M",
    "--innodb-flush-log-at-trx-commit=2",
    "--skip-name-resolve",
];

/// A running server, stopped and removed when dropped.
#[derive(Debug)]
pub struct MySqlServer(ServerProcess);

impl MySqlServer {
    /// A fresh server for one test. The tests that call it are ignored unless the build script
    /// found the programs (cfg `mysql_server`).
    pub fn start(name: &str) -> Self {
        let (dir, data) = server_dir(&format!("mysql-{name}"));
        // Temporary files of its own: servers side by side in one `/tmp` take each other's.
        let temp = dir.join("tmp");
        std::fs::create_dir(&temp).unwrap();
        if is_root() {
            std::os::unix::fs::chown(&temp, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let install = mysql_program("mariadb-install-db").expect("found when the tests were built");
        let mut command = Command::new(install);
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", temp.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .args(SETTINGS);
        if is_root() {
            command.arg("--user=nobody");
        }
        let output = command.current_dir(&dir).output().unwrap();
        assert!(
            output.status.success(),
            "mariadb-install-db failed in {}: {}{}",
            dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let init = dir.join("init.sql");
        std::fs::write(&init, "CREATE DATABASE IF NOT EXISTS sessions;\n").unwrap();
        let server = mysql_program("mariadbd").expect("found when the tests were built");
        let log = dir.join("error.log");
        let command = |port: u16| {
            let _ = std::fs::remove_file(&log); // a try that found its port taken
            let mut command = Command::new(&server);
            command
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--tmpdir={}", temp.display()))
                .arg(format!("--socket={}", dir.join("socket").display()))
                .arg(format!("--pid-file={}", dir.join("pid").display()))
                .arg(format!("--log-error={}", log.display()))
                .arg(format!("--init-file={}", init.display()))
                .args([
                    &format!("--port={port}"),
                    "--bind-address=127.0.0.1",
                    "--skip-log-bin",
                ])
                .args(SETTINGS);
            command
        };
        // Its log says so once it takes connections (so it is this server on the port).
        let ready = |_| std::fs::read_to_string(&log).is_ok_and(|log| log.contains("ready for connections"));
        Self(ServerProcess::start("mariadbd", dir.clone(), command, ready))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.0.port()
    }

    /// The URL of its `sessions` database.
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/sessions", self.port())
    }
}
