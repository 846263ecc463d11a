//! Benchmark baseline: `/svc/*` → two upstreams round robin, prefix stripped, on pingora-core alone.
//! Pingora's listener, HTTP/1 codec and connector, but neither pingora-proxy's `ProxyHttp` engine
//! nor Pingora's connection pool (its idle-watch task per pooled connection): a plain list of idle
//! connections per upstream instead. No timeouts, retries, error pages or headers: it is not a
//! gateway, it shows what the `ProxyHttp` engine costs next to `bare_proxy` (loadtest/README.md).
//!
//! `cargo run --release --example core_proxy -- <listen> <upstream1> <upstream2> [threads]`

#[path = "support/baseline.rs"]
mod baseline;

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use async_trait::async_trait;
use baseline::Baseline;
use futures::FutureExt;
use pingora::{
    apps::{HttpPersistentSettings, HttpServerApp, ReusedHttpStream},
    connectors::TransportConnector,
    protocols::{Stream, http::ServerSession, http::v1::client::HttpSession},
    server::ShutdownWatch,
    services::listening::Service,
    upstreams::peer::HttpPeer,
};
use tokio::io::AsyncReadExt;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Idle connections kept per upstream.
const POOL_SIZE: usize = 64;

struct CoreProxy {
    upstreams: [SocketAddr; 2],
    next: AtomicUsize,
    connector: TransportConnector,
    idle: [Mutex<Vec<Stream>>; 2],
}

impl CoreProxy {
    /// An idle connection to upstream `index` that is still open, else a new one.
    async fn connection(&self, index: usize, peer: &HttpPeer) -> Option<Stream> {
        loop {
            let idle = self.idle[index].lock().ok()?.pop();
            let Some(mut stream) = idle else {
                return self.connector.new_stream(peer).await.ok();
            };
            if still_open(&mut stream) {
                return Some(stream);
            }
        }
    }

    fn release(&self, index: usize, stream: Stream) {
        if let Ok(mut idle) = self.idle[index].lock()
            && idle.len() < POOL_SIZE
        {
            idle.push(stream);
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

#[async_trait]
impl HttpServerApp for CoreProxy {
    async fn process_new_http(
        self: &Arc<Self>,
        mut session: ServerSession,
        _shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        if !session.read_request().await.ok()? {
            return None;
        }
        let mut request = session.req_header().clone();
        if let Some(rest) = request.uri.path().strip_prefix("/svc") {
            let rest = if rest.is_empty() { "/" } else { rest }.to_owned();
            request.set_raw_path(rest.as_bytes()).ok()?;
        }
        let index = self.next.fetch_add(1, Ordering::Relaxed) % 2;
        let peer = HttpPeer::new(self.upstreams[index], false, String::new());
        let stream = self.connection(index, &peer).await?;
        let mut upstream = HttpSession::new_with_options(stream, &peer);
        upstream
            .write_request_header(Box::new(request))
            .await
            .ok()?;
        while let Some(chunk) = session.read_request_body().await.ok()? {
            upstream.write_body(&chunk).await.ok()?;
        }
        upstream.finish_body().await.ok()?;
        upstream.read_response().await.ok()?;
        let response = upstream.resp_header()?.clone();
        session
            .write_response_header(Box::new(response))
            .await
            .ok()?;
        while let Some(chunk) = upstream.read_body_bytes().await.ok()? {
            session.write_response_body(chunk, false).await.ok()?;
        }
        upstream.respect_keepalive();
        if let Some(stream) = upstream.reuse().await {
            self.release(index, stream);
        }
        let settings = HttpPersistentSettings::for_session(&session);
        let reusable = session.finish().await.ok()??;
        Some(ReusedHttpStream::from_reusable_stream(reusable, settings))
    }
}

fn main() {
    let baseline = Baseline::from_args("core_proxy");
    let mut server = baseline.server();
    let app = CoreProxy {
        upstreams: baseline.upstreams,
        next: AtomicUsize::new(0),
        connector: TransportConnector::new(None),
        idle: [Mutex::new(Vec::new()), Mutex::new(Vec::new())],
    };
    let mut service = Service::new("core proxy".to_owned(), app);
    service.add_tcp(&baseline.listen);
    server.add_service(service);
    server.run_forever()
}
