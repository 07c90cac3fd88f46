//! A TCP relay between the application and its PostgreSQL server, which a
//! test stops (every connection cut, new ones refused: the database is
//! "down") and resumes on the same port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Debug)]
pub struct DbProxy {
    pub port: u16,
    upstream: SocketAddr,
    accept: Mutex<Option<JoinHandle<()>>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl DbProxy {
    /// Relays 127.0.0.1:<port> to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let port = listener.local_addr().expect("a bound address").port();
        let proxy = Self {
            port,
            upstream,
            accept: Mutex::new(None),
            connections: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    /// The PostgreSQL server of `url`, relayed.
    pub async fn to_postgres(url: &str) -> Self {
        let url = url::Url::parse(url).expect("a database URL");
        let host = url.host_str().expect("a host");
        let port = url.port().unwrap_or(5432);
        let upstream = tokio::net::lookup_host((host, port))
            .await
            .expect("the host resolves")
            .next()
            .expect("an address");
        Self::start(upstream).await
    }

    fn serve(&self, listener: TcpListener) {
        let upstream = self.upstream;
        let connections = self.connections.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let relay = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                connections.lock().unwrap().push(relay);
            }
        });
        *self.accept.lock().unwrap() = Some(accept);
    }

    /// The database is "down": every open connection is cut and new ones
    /// are refused.
    pub async fn stop(&self) {
        let accept = self.accept.lock().unwrap().take();
        if let Some(accept) = accept {
            accept.abort();
            let _ = accept.await;
        }
        let connections: Vec<_> = self.connections.lock().unwrap().drain(..).collect();
        for relay in connections {
            relay.abort();
            let _ = relay.await;
        }
    }

    /// The database is back, on the same port.
    pub async fn resume(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("the proxy's port is free again");
        self.serve(listener);
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        if let Some(accept) = self.accept.lock().unwrap().take() {
            accept.abort();
        }
        for relay in self.connections.lock().unwrap().drain(..) {
            relay.abort();
        }
    }
}
