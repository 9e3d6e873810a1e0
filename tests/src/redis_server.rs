//! A `redis-server` of a test's own, on a free loopback port.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `redis-server` of this test's own, with an append-only file so a restart keeps the data.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// A fresh server for one test. The tests that call it are ignored unless the build script found
    /// `redis-server` (cfg `redis_server`).
    ///
    /// The port is free when picked, but another process may take it before the server binds it
    /// (two test binaries at once): then the server is started again on another.
    pub fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sessions-redis-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = Self {
            child: None,
            port: 0,
            dir,
        };
        for _ in 0..5 {
            server.port = crate::free_port();
            server.run();
            if server.is_ours() {
                return server;
            }
            server.stop();
        }
        panic!("redis-server found no free port in five tries");
    }

    /// Whether the server answering on the port is this one's child (another may have taken the
    /// port first, and this one have exited): by the process id it reports.
    fn is_ours(&self) -> bool {
        use std::io::{Read as _, Write as _};
        let Some(child) = &self.child else { return false };
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        if stream.write_all(b"INFO server\r\n").is_err() {
            return false;
        }
        let mut reply = Vec::new();
        let mut buffer = [0; 4096];
        while let Ok(read @ 1..) = stream.read(&mut buffer) {
            reply.extend_from_slice(&buffer[..read]);
            if reply.windows(11).any(|w| w == b"process_id:") && reply.ends_with(b"\r\n\r\n") {
                break;
            }
        }
        let reply = String::from_utf8_lossy(&reply);
        reply
            .lines()
            .find_map(|line| line.strip_prefix("process_id:"))
            .is_some_and(|pid| pid.trim() == child.id().to_string())
    }

    /// Starts the server.
    pub fn run(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--enable-debug-command",
                "local",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server was on the PATH when the tests were built");
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Stops the server; [`RedisServer::run`] starts it again on the same port and data.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL to connect to.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Runs one command as `redis-cli` would, `("HSET", key, "m", value)`, on a connection of its
    /// own: to look at or damage what the store wrote.
    pub async fn query<T: redis::FromRedisValue>(&self, command: impl redis::ToRedisArgs) -> T {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        redis::Cmd::new()
            .arg(command)
            .query_async(&mut connection)
            .await
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
