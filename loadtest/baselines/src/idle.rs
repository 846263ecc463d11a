//! `core_proxy`'s upstream connections: a plain list of idle connections per upstream address,
//! where Pingora's pool spawns a task to watch each one (the gateway's engine keeps its own the
//! same way, `gateway/src/engine/pool.rs`).

use std::{collections::HashMap, net::SocketAddr, sync::Mutex};

use futures::FutureExt;
use pingora::{connectors::TransportConnector, protocols::Stream, upstreams::peer::HttpPeer};
use tokio::io::AsyncReadExt;

/// Idle connections kept per upstream.
const POOL_SIZE: usize = 64;

/// Connects to upstreams and keeps their idle connections.
pub struct IdleConnections {
    connector: TransportConnector,
    idle: Mutex<HashMap<SocketAddr, Vec<Stream>>>,
}

impl Default for IdleConnections {
    fn default() -> Self {
        Self {
            connector: TransportConnector::new(None),
            idle: Mutex::new(HashMap::new()),
        }
    }
}

impl IdleConnections {
    /// An idle connection to `addr` that is still open, else a new one to `peer`.
    pub async fn get(&self, peer: &HttpPeer, addr: SocketAddr) -> Option<Stream> {
        loop {
            let idle = self.idle.lock().ok()?.get_mut(&addr).and_then(Vec::pop);
            let Some(mut stream) = idle else {
                return self.connector.new_stream(peer).await.ok();
            };
            if still_open(&mut stream) {
                return Some(stream);
            }
        }
    }

    /// Keeps `stream` for the next request to `addr`, unless `POOL_SIZE` are idle already.
    pub fn put(&self, addr: SocketAddr, stream: Stream) {
        if let Ok(mut idle) = self.idle.lock() {
            let idle = idle.entry(addr).or_default();
            if idle.len() < POOL_SIZE {
                idle.push(stream);
            }
        }
    }
}

/// An idle connection with nothing to read is open; EOF or stray bytes mean it is not. Costs no
/// syscall when the socket has not become readable.
fn still_open(stream: &mut Stream) -> bool {
    let mut byte = [0u8; 1];
    tokio::task::unconstrained(stream.read(&mut byte))
        .now_or_never()
        .is_none()
}
