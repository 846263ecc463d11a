//! Benchmark baseline: the least a Pingora proxy can do for `/svc/*` → two upstreams round robin
//! with the prefix stripped. No config, no router, no plugins, no headers added. Comparing it with
//! the gateway in the same run separates Pingora's own cost from ours (loadtest/).
//!
//! `cargo run --release --example bare_proxy -- <listen> <upstream1> <upstream2> [threads]`
//! (threads: default 1; the bench passes its `--workers`).

use std::{
    net::SocketAddr,
    sync::atomic::{AtomicUsize, Ordering},
};

use async_trait::async_trait;
use pingora::{
    Result,
    http::RequestHeader,
    proxy::{ProxyHttp, Session},
    server::{Server, configuration::ServerConf},
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (listen, first, second, threads) = match args.as_slice() {
        [listen, first, second] => (listen, first, second, "1"),
        [listen, first, second, threads] => (listen, first, second, threads.as_str()),
        _ => {
            eprintln!("usage: bare_proxy <listen> <upstream1> <upstream2> [threads]");
            std::process::exit(64);
        }
    };
    let threads = match threads.parse::<usize>() {
        Ok(threads) if threads > 0 => threads,
        _ => {
            eprintln!("{threads}: threads must be a positive number");
            std::process::exit(64)
        }
    };
    let parse = |text: &str| -> SocketAddr {
        text.parse().unwrap_or_else(|err| {
            eprintln!("{text}: {err}");
            std::process::exit(64)
        })
    };
    let conf = ServerConf {
        threads,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut proxy = pingora::proxy::http_proxy_service(
        &server.configuration,
        Bare {
            upstreams: [parse(first), parse(second)],
            next: AtomicUsize::new(0),
        },
    );
    proxy.add_tcp(listen);
    server.add_service(proxy);
    server.run_forever()
}
