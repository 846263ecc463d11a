//! Benchmark baseline: the least a Pingora proxy can do for `/svc/*` → two upstreams round robin
//! with the prefix stripped. No config, no router, no plugins, no headers added. Comparing it with
//! the gateway in the same run separates Pingora's own cost from ours (loadtest/).
//!
//! `cargo run --release -p baselines --bin bare_proxy -- <listen> <upstream1> <upstream2> [threads]`
//! (threads: default 1; the bench passes its `--workers`).

use std::{
    net::SocketAddr,
    sync::atomic::{AtomicUsize, Ordering},
};

use async_trait::async_trait;
use baselines::baseline::Baseline;
use pingora::{
    Result,
    http::RequestHeader,
    proxy::{ProxyHttp, Session},
    upstreams::peer::HttpPeer,
};

/// The gateway's allocator, so that the two differ only in what they do per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Bare {
    upstreams: [SocketAddr; 2],
    next: AtomicUsize,
}

#[async_trait]
impl ProxyHttp for Bare {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        let addr = self.upstreams[self.next.fetch_add(1, Ordering::Relaxed) % 2];
        Ok(Box::new(HttpPeer::new(addr, false, String::new())))
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        request: &mut RequestHeader,
        _ctx: &mut (),
    ) -> Result<()> {
        let path = request.uri.path();
        if let Some(rest) = path.strip_prefix("/svc") {
            let rest = if rest.is_empty() { "/" } else { rest };
            let rest = rest.to_owned();
            request.set_raw_path(rest.as_bytes())?;
        }
        Ok(())
    }
}

fn main() {
    let baseline = Baseline::from_args("bare_proxy");
    let mut server = baseline.server();
    let mut proxy = pingora::proxy::http_proxy_service(
        &server.configuration,
        Bare {
            upstreams: baseline.upstreams,
            next: AtomicUsize::new(0),
        },
    );
    proxy.add_tcp(&baseline.listen);
    server.add_service(proxy);
    server.run_forever()
}
