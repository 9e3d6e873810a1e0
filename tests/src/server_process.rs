//! A database server of a test's own, as a process: started on a free loopback port in a directory
//! of its own, stopped by its pid and its directory removed when dropped. Run as `nobody` when the
//! tests run as root, since PostgreSQL and MariaDB refuse to run as root.

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl ServerProcess {
    /// Starts `command(port)` (as the server's user, its output dropped) on a free port, its files
    /// in `dir`, and waits until `ready(port)` says it is this server that listens there; `what`
    /// names it in panics.
    ///
    /// The port is free when picked, but another process may take it before the server binds it
    /// (two test binaries at once): then the server exits, and is started again on another.
    pub(crate) fn start(
        what: &str,
        dir: PathBuf,
        command: impl Fn(u16) -> Command,
        ready: impl Fn(u16) -> bool,
    ) -> Self {
        for _ in 0..5 {
            let port = crate::free_port();
            let mut command = command(port);
            let spawned = as_server_user(command.current_dir(&dir))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let mut child = spawned.unwrap_or_else(|error| panic!("{what} did not start: {error}"));
            if came_up(what, &mut child, port, &ready) {
                return Self { child, port, dir };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("{what} found no free port in five tries");
    }

    /// The port it listens on, on 127.0.0.1.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the server came up: `ready` and the port takes connections; `false` if it exited first.
fn came_up(what: &str, child: &mut Child, port: u16, ready: impl Fn(u16) -> bool) -> bool {
    for _ in 0..1000 {
        if child.try_wait().is_ok_and(|status| status.is_some()) {
            return false;
        }
        if ready(port) && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{what} did not start on port {port}");
}

/// The user a server runs as when the tests run as root.
pub(crate) const NOBODY: u32 = 65534;

/// `command`, run as the server's user.
pub(crate) fn as_server_user(command: &mut Command) -> &mut Command {
    if is_root() {
        command.uid(NOBODY).gid(NOBODY);
    }
    command
}

/// A new, empty directory for a server's files, `sessions-{name}-{pid}` under the temporary
/// directory, owned by the server's user; and the path of its data directory there, not made.
pub(crate) fn server_dir(name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("sessions-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    if is_root() {
        std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    let data = dir.join("data");
    (dir, data)
}

/// Whether the tests run as root.
pub(crate) fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| std::os::unix::fs::MetadataExt::uid(&meta) == 0)
}
