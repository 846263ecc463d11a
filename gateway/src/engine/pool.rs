//! Idle upstream connections, kept per target address (and TLS settings and SNI: a [`PoolKey`])
//! for reuse: Kong's
//! `upstream_keepalive_pool_size` connections per target at most, each dropped after
//! `upstream_idle_timeout`. A connection goes back only after its response was read to the end on
//! a connection both sides keep alive (the engine asks the client codec); one taken out is
//! checked for EOF or stray bytes first, which costs no syscall while the socket is quiet.
//!
//! A plain list behind a mutex, where Pingora's own pool spawns a task to watch each idle
//! connection: the pool is touched twice per proxied request, so it stays this small.

use std::{
    net::SocketAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use foldhash::HashMap;
use futures::FutureExt;
use pingora::{
    Result, connectors::TransportConnector, protocols::Stream, upstreams::peer::HttpPeer,
};
use tokio::io::AsyncReadExt;

/// Where an idle connection may be reused: the target's address, and 0 for cleartext or a hash of
/// the TLS settings and SNI it was made with.
pub type PoolKey = (SocketAddr, u64);

/// A connection to an upstream target and whether it came from the pool.
pub struct Connection {
    /// The connected stream.
    pub stream: Stream,
    /// Taken from the pool: the upstream may have closed it meanwhile, which a failed first write
    /// or read shows (such a failure is retried and not held against the target).
    pub reused: bool,
}

/// Connects to upstream targets and keeps their idle connections.
pub struct Pool {
    connector: TransportConnector,
    idle: Mutex<HashMap<PoolKey, Vec<(Stream, Instant)>>>,
    /// Idle connections kept per target; 0 keeps none.
    size: usize,
    /// How long an idle connection is kept.
    idle_timeout: Duration,
}

impl Pool {
    /// A pool of at most `size` idle connections per target, each kept for `idle_timeout`.
    pub fn new(size: usize, idle_timeout: Duration) -> Self {
        Self {
            connector: TransportConnector::new(None),
            idle: Mutex::new(HashMap::default()),
            size,
            idle_timeout,
        }
    }

    /// Whether connections are kept at all (Kong's `upstream_keepalive_pool_size: 0` turns
    /// upstream keepalive off).
    pub fn keeps_connections(&self) -> bool {
        self.size > 0
    }

    /// An idle connection of `key` that is still open, else a new one to `peer` (within the
    /// peer's connect timeout; with its TLS handshake when the peer has TLS).
    pub async fn connect(&self, peer: &HttpPeer, key: PoolKey) -> Result<Connection> {
        while let Some(mut stream) = self.take_idle(key) {
            if still_open(&mut stream) {
                return Ok(Connection {
                    stream,
                    reused: true,
                });
            }
        }
        // Boxed: connecting is the rare path with keepalive, and its future is large.
        let stream = Box::pin(self.connector.new_stream(peer)).await?;
        Ok(Connection {
            stream,
            reused: false,
        })
    }

    /// The newest idle connection of `key` that has not outlived the idle timeout.
    fn take_idle(&self, key: PoolKey) -> Option<Stream> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let list = idle.get_mut(&key)?;
        let now = Instant::now();
        // The oldest are first: drop the ones that waited too long.
        let expired = list
            .iter()
            .take_while(|(_, since)| now.saturating_duration_since(*since) > self.idle_timeout)
            .count();
        list.drain(..expired);
        list.pop().map(|(stream, _)| stream)
    }

    /// Keeps `stream` for the next request of `key`, unless the pool for it is full.
    pub fn put(&self, key: PoolKey, stream: Stream) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let list = idle.entry(key).or_default();
        if list.len() < self.size {
            list.push((stream, Instant::now()));
        }
    }
}

/// An idle connection with nothing to read is open; EOF or stray bytes mean it is not.
fn still_open(stream: &mut Stream) -> bool {
    let mut byte = [0u8; 1];
    tokio::task::unconstrained(stream.read(&mut byte))
        .now_or_never()
        .is_none()
}
