//! A PostgreSQL server of a test's own: `initdb` into a temporary directory, then `postgres` on a
//! free loopback port, trusting local connections, without fsync. Run as `nobody` when the tests
//! run as root, since the server refuses to run as root.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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
pub struct PostgresServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

/// The user the server runs as when the tests run as root.
const NOBODY: u32 = 65534;

fn as_server_user(command: &mut Command) -> &mut Command {
    if is_root() {
        command.uid(NOBODY).gid(NOBODY);
    }
    command
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| std::os::unix::fs::MetadataExt::uid(&meta) == 0)
}

impl PostgresServer {
    /// A fresh server for one test. The tests that call it are ignored unless the build script
    /// found the programs (cfg `postgres_server`).
    ///
    /// The port is free when picked, but another process may take it before the server binds it
    /// (two test binaries at once): then the server exits, and is started again on another.
    pub fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sessions-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let data = dir.join("data");
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
        for _ in 0..5 {
            let port = crate::free_port();
            let child = as_server_user(Command::new(&postgres).current_dir(&dir))
                .arg("-D")
                .arg(&data)
                .args([
                    "-p",
                    &port.to_string(),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                ])
                .arg("-k")
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut child = child;
            if came_up(&mut child, port, &data) {
                return Self { child, port, dir };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("postgres found no free port in five tries");
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the server came up: its pid file says "ready" (so it is this server listening, not
/// another process on the port), and the port takes connections; `false` if it exited first.
fn came_up(child: &mut Child, port: u16, data: &Path) -> bool {
    for _ in 0..500 {
        if child.try_wait().is_ok_and(|status| status.is_some()) {
            return false;
        }
        // The server writes its pid file's last line, "ready", once it accepts connections.
        let ready = std::fs::read_to_string(data.join("postmaster.pid"))
            .is_ok_and(|pid| pid.lines().last().is_some_and(|line| line.trim() == "ready"));
        if ready && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("postgres did not start on port {}", port);
}
