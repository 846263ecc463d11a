//! Benchmark baseline: `/svc/*` → two upstreams round robin, prefix stripped, on pingora-core alone.
//! Pingora's listener, HTTP/1 codec and connector, but neither pingora-proxy's `ProxyHttp` engine
//! nor Pingora's connection pool (its idle-watch task per pooled connection): a plain list of idle
//! connections per upstream instead. No timeouts, retries, error pages or headers: it is not a
//! gateway, it shows what the `ProxyHttp` engine costs next to `bare_proxy` (loadtest/README.md).
//!
//! `cargo run --release -p baselines --bin core_proxy -- <listen> <upstream1> <upstream2> [threads]`

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use async_trait::async_trait;
use baselines::baseline::Baseline;
use baselines::idle::IdleConnections;
use pingora::{
    apps::{HttpPersistentSettings, HttpServerApp, ReusedHttpStream},
    protocols::{http::ServerSession, http::v1::client::HttpSession},
    server::ShutdownWatch,
    services::listening::Service,
    upstreams::peer::HttpPeer,
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct CoreProxy {
    upstreams: [SocketAddr; 2],
    next: AtomicUsize,
    connections: IdleConnections,
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
        let addr = self.upstreams[self.next.fetch_add(1, Ordering::Relaxed) % 2];
        let peer = HttpPeer::new(addr, false, String::new());
        let stream = self.connections.get(&peer, addr).await?;
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
            self.connections.put(addr, stream);
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
        connections: IdleConnections::default(),
    };
    let mut service = Service::new("core proxy".to_owned(), app);
    service.add_tcp(&baseline.listen);
    server.add_service(service);
    server.run_forever()
}
