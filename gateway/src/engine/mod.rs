//! The gateway's request engine: a request loop of its own on pingora-core (Pingora's listeners,
//! HTTP/1 and HTTP/2 server sessions, HTTP/1 client codec and connector), without pingora-proxy.
//! Each request runs through the router, balancer, plugins, forwarding headers, health checks,
//! metrics and access log in one straight function instead of a dozen boxed hooks, and the HTTP
//! rules pingora-proxy applied are the engine's own ([`hop_by_hop`], [`tunnel`], [`answer`]).
//!
//! Layout, one job per file:
//! - [`exchange`]: one request from its head to its log line (the flow, in order); its `report`:
//!   the metrics, access log line and trace a finished request leaves.
//! - [`decide`]: route, plugins and upstream URI against one config snapshot.
//! - [`upstream_request`]: the request head an upstream gets.
//! - [`upstream`]: target choice, connect, send, the answer's head; retries; passive health.
//! - [`pool`]: idle upstream connections.
//! - [`tunnel`]: WebSocket connections piped both ways after a `101`.
//! - [`answer`]: the gateway's own answers and the keep-alive promise that goes with them.
//! - [`gathered`]: client TLS connections whose writes wait for a flush (one TLS record per
//!   small answer, not one per write).
//! - [`hop_by_hop`]: HTTP/1 header rules (hop-by-hop and `Connection`-nominated headers,
//!   upgrades, framing); pure, with table tests.
//!
//! Clients may speak HTTP/1.0, HTTP/1.1 or HTTP/2 over cleartext (h2c with prior knowledge, the
//! HTTP/2 preface sniffed per connection); upstreams are spoken to in HTTP/1.1.

mod answer;
mod decide;
mod exchange;
mod gathered;
mod hop_by_hop;
mod pool;
mod tunnel;
mod upstream;
mod upstream_request;

use std::{net::IpAddr, sync::Arc, time::Duration};

pub use self::gathered::TlsGathering;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::{
    apps::{HttpServerApp, HttpServerOptions, ReusedHttpStream},
    protocols::{http::ServerSession, l4::socket::SocketAddr as PingoraAddr},
    server::ShutdownWatch,
};

use crate::{access_log::AccessLog, config::model::GatewaySettings, runtime::Runtime};

/// The proxy: serves whatever config snapshot `state` holds when a request arrives.
pub struct Engine {
    state: Arc<ArcSwap<Runtime>>,
    pool: pool::Pool,
    access_log: Arc<AccessLog>,
    options: HttpServerOptions,
}

impl Engine {
    /// An engine for `state`, with the upstream pool and listeners' options of `settings`.
    pub fn new(
        state: Arc<ArcSwap<Runtime>>,
        settings: &GatewaySettings,
        access_log: Arc<AccessLog>,
    ) -> Self {
        let mut options = HttpServerOptions::default();
        options.h2c = true;
        Self {
            state,
            pool: pool::Pool::new(
                settings.upstream_keepalive_pool_size,
                settings.upstream_idle_timeout,
            ),
            access_log,
            options,
        }
    }
}

#[async_trait]
impl HttpServerApp for Engine {
    async fn process_new_http(
        self: &Arc<Self>,
        session: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        exchange::serve(self, session, shutdown).await
    }

    fn server_options(&self) -> Option<&HttpServerOptions> {
        Some(&self.options)
    }
}

fn client_ip(session: &ServerSession) -> Option<IpAddr> {
    match session.client_addr()? {
        PingoraAddr::Inet(addr) => Some(addr.ip()),
        _ => None,
    }
}

fn server_port(session: &ServerSession) -> Option<u16> {
    match session.server_addr()? {
        PingoraAddr::Inet(addr) => Some(addr.port()),
        _ => None,
    }
}

fn ms_f64(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
