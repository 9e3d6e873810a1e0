//! A TCP proxy that counts round trips: how many times a client sent something after the server
//! had answered (or first). A test points a store at it to check how many times a load or a save
//! waits on the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// The proxy, forwarding every connection made to [`RoundTrips::port`] to the server's port, until
/// dropped.
#[derive(Debug)]
pub struct RoundTrips {
    port: u16,
    count: Arc<AtomicU64>,
    accepting: tokio::task::JoinHandle<()>,
}

impl RoundTrips {
    /// A proxy on a free loopback port, in front of the server on `server_port`.
    pub async fn start(server_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&count);
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(("127.0.0.1", server_port)).await.unwrap();
                tokio::spawn(forward(client, server, Arc::clone(&counted)));
            }
        });
        Self {
            port,
            count,
            accepting,
        }
    }

    /// The port to connect to instead of the server's.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The round trips so far, over every connection.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }
}

impl Drop for RoundTrips {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Copies both ways between `client` and `server`, counting each time the client starts sending
/// again after the server answered.
async fn forward(client: TcpStream, server: TcpStream, count: Arc<AtomicU64>) {
    let (mut client_in, mut client_out) = client.into_split();
    let (mut server_in, mut server_out) = server.into_split();
    let answered = Arc::new(AtomicBool::new(true));
    let to_server = {
        let answered = Arc::clone(&answered);
        async move {
            let mut buf = vec![0; 64 * 1024];
            while let Ok(n @ 1..) = client_in.read(&mut buf).await {
                if answered.swap(false, Ordering::SeqCst) {
                    count.fetch_add(1, Ordering::SeqCst);
                }
                if server_out.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            let _ = server_out.shutdown().await;
        }
    };
    let to_client = async move {
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = server_in.read(&mut buf).await {
            answered.store(true, Ordering::SeqCst);
            if client_out.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_out.shutdown().await;
    };
    tokio::join!(to_server, to_client);
}
