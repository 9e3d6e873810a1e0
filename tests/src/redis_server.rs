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
    role: Role,
}

/// What a server is started as.
#[derive(Debug, Clone)]
enum Role {
    /// A node, with these arguments besides the usual.
    Node(Vec<String>),
    /// A sentinel, with these lines of configuration besides its port.
    Sentinel(String),
}

impl RedisServer {
    /// A fresh server for one test. The tests that call it are ignored unless the build script found
    /// `redis-server` (cfg `redis_server`).
    ///
    /// The port is free when picked, but another process may take it before the server binds it
    /// (two test binaries at once): then the server is started again on another.
    pub fn start(name: &str) -> Self {
        Self::started(name, Role::Node(Vec::new()))
    }

    /// A node started with `arguments` besides the usual ones (`["--cluster-enabled", "yes"]`).
    pub fn with_arguments(name: &str, arguments: &[&str]) -> Self {
        Self::started(
            name,
            Role::Node(arguments.iter().map(|&a| a.to_owned()).collect()),
        )
    }

    /// A sentinel (`redis-server --sentinel`) with `configuration` (lines such as `sentinel monitor
    /// ...`) besides its port.
    pub fn sentinel(name: &str, configuration: &str) -> Self {
        Self::started(name, Role::Sentinel(configuration.to_owned()))
    }

    fn started(name: &str, role: Role) -> Self {
        let dir = std::env::temp_dir().join(format!("sessions-redis-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = Self {
            child: None,
            port: 0,
            dir,
            role,
        };
        for _ in 0..5 {
            server.port = crate::free_port();
            if server.launched() && server.is_ours() {
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

    /// Starts the server again (after [`RedisServer::stop`]), on its port and data.
    pub fn run(&mut self) {
        assert!(
            self.launched(),
            "redis-server did not start on port {}",
            self.port
        );
    }

    /// Starts the server; whether it listens on its port within ten seconds (it exits at once
    /// when the port, or a Cluster node's bus port, is taken).
    fn launched(&mut self) -> bool {
        let mut command = Command::new("redis-server");
        match &self.role {
            Role::Node(arguments) => {
                command
                    .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
                    .args(["--save", "", "--appendonly", "yes"])
                    .args(["--enable-debug-command", "local"])
                    // A replica's first sync at once, not after Redis's default 5 s wait.
                    .args(["--repl-diskless-sync-delay", "0"])
                    .args(arguments);
            }
            Role::Sentinel(configuration) => {
                // A sentinel rewrites its configuration file: one of its own.
                let file = self.dir.join("sentinel.conf");
                let port = self.port;
                std::fs::write(&file, format!("bind 127.0.0.1\nport {port}\n{configuration}\n")).unwrap();
                command.arg(&file).arg("--sentinel");
            }
        }
        let child = command
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server was on the PATH when the tests were built");
        self.child = Some(child);
        for _ in 0..1000 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            if (self.child.as_mut())
                .is_some_and(|child| child.try_wait().is_ok_and(|status| status.is_some()))
            {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Stops the server; [`RedisServer::run`] starts it again on the same port and data.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether it runs (not stopped).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
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
        let connection = client.get_multiplexed_async_connection().await.unwrap();
        query_on(connection, command).await
    }
}

/// Runs one command on `connection`; what it answered.
pub(crate) async fn query_on<T: redis::FromRedisValue>(
    mut connection: impl redis::aio::ConnectionLike,
    command: impl redis::ToRedisArgs,
) -> T {
    redis::Cmd::new()
        .arg(command)
        .query_async(&mut connection)
        .await
        .unwrap()
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
