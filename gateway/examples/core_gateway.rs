//! Benchmark probe: the gateway's per-request work on a proxy loop of its own on pingora-core,
//! without pingora-proxy's `ProxyHttp` engine. It answers one question for issue #5: how close
//! to nginx would the gateway get if it left `ProxyHttp` (loadtest/README.md)?
//!
//! Per request it does what the gateway's hot path does for a route without plugins: one snapshot
//! load, path normalisation, one route match, the balancer's pick, the service's read and write
//! timeouts, the upstream path, the nine upstream headers and four response headers of
//! `forwarding.rs`, the request id and the metrics. It skips what a real engine would add and a
//! benchmark request never needs: retries, error pages, plugins, upgrades, `Expect`, HTTP/1.0
//! re-framing, hop-by-hop header cleaning, graceful shutdown. It is not a gateway.
//!
//! It serves the benchmark's layout, as the gateway's bench config does: route `/svc`
//! (`strip_path`) to an upstream of two targets, round robin.
//!
//! `cargo run --release --example core_gateway -- <listen> <upstream1> <upstream2> [threads]`

use std::{net::SocketAddr, sync::Arc, time::Instant};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use baseline::Baseline;
use gateway::{
    balancer::ActiveGuard,
    config, forwarding,
    metrics::{Observation, Source, metrics},
    responses::RequestId,
    router::{escape_path, normalize_path, upstream_path},
    runtime::{Destination, Runtime},
};
use http::{HeaderValue, header};
use idle::IdleConnections;
use pingora::{
    apps::{HttpPersistentSettings, HttpServerApp, ReusedHttpStream},
    protocols::{
        http::{ServerSession, v1::client::HttpSession},
        l4::socket::SocketAddr as PingoraAddr,
    },
    server::ShutdownWatch,
    services::listening::Service,
    upstreams::peer::HttpPeer,
};

#[path = "support/baseline.rs"]
mod baseline;
#[path = "support/idle.rs"]
mod idle;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct CoreGateway {
    state: ArcSwap<Runtime>,
    connections: IdleConnections,
}

fn inet(addr: Option<&PingoraAddr>) -> Option<SocketAddr> {
    match addr? {
        PingoraAddr::Inet(addr) => Some(*addr),
        _ => None,
    }
}

#[async_trait]
impl HttpServerApp for CoreGateway {
    async fn process_new_http(
        self: &Arc<Self>,
        mut session: ServerSession,
        _shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        if !session.read_request().await.ok()? {
            return None;
        }
        let started = Instant::now();
        let request_id = RequestId::generate();
        let runtime = self.state.load_full();
        let request = session.req_header();
        let path = normalize_path(request.uri.path());
        let host = request
            .headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok());
        let (route_index, matched) =
            runtime.find_route(request.method.as_str(), host, &path, &request.headers)?;
        let route = runtime.route(route_index);
        let service_runtime = &runtime.services[route.service?];
        let service = &service_runtime.service;
        let Destination::Upstream(upstream) = &service_runtime.destination else {
            return None;
        };
        let index = upstream.balancer.select(None, &[])?;
        let target = &upstream.balancer.targets()[index];
        let _active = ActiveGuard::new(target.state.clone());
        let addr = target.state.addr;
        let upstream_uri = escape_path(&upstream_path(
            service.path.as_deref(),
            &path,
            route.strip_path,
            matched.matched_len,
            route.path_handling,
        ))
        .into_owned();
        let prefix = (route.strip_path && matched.matched_len > 0)
            .then(|| HeaderValue::from_str(&path[..matched.matched_len]).ok())
            .flatten();

        let forwarded = forwarding::Forwarded {
            host: Some(upstream.host_headers[index].clone()),
            client_ip: inet(session.client_addr()).map(|addr| forwarding::ip_value(addr.ip())),
            port: inet(session.server_addr()).map(|addr| addr.port()),
            original_path: HeaderValue::from_str(request.uri.path()).ok(),
            prefix,
            request_id: request_id.header_value(),
        };
        let mut upstream_request = request.clone();
        forwarding::edit_request(&mut upstream_request, 10, |headers| {
            forwarded.apply(headers)
        })
        .ok()?;
        upstream_request
            .set_raw_path(upstream_uri.as_bytes())
            .ok()?;

        let mut peer = HttpPeer::new(addr, false, String::new());
        peer.options.connection_timeout = Some(service.connect_timeout);
        let stream = self.connections.get(&peer, addr).await?;
        let upstream_started = Instant::now();
        let mut connection = HttpSession::new_with_options(stream, &peer);
        connection.read_timeout = Some(service.read_timeout);
        connection.write_timeout = Some(service.write_timeout);
        connection
            .write_request_header(Box::new(upstream_request))
            .await
            .ok()?;
        while let Some(chunk) = session.read_request_body().await.ok()? {
            connection.write_body(&chunk).await.ok()?;
        }
        connection.finish_body().await.ok()?;
        connection.read_response().await.ok()?;
        let answered = Instant::now();
        let mut response = connection.resp_header()?.clone();
        let upstream_ms = answered.saturating_duration_since(upstream_started);
        let proxy_ms = upstream_started.saturating_duration_since(started);
        forwarding::edit_response(&mut response, 4, |headers| {
            forwarding::answered(
                headers,
                upstream_ms.as_millis() as u64,
                proxy_ms.as_millis() as u64,
                request_id.header_value(),
            );
        })
        .ok()?;
        let status = response.status.as_u16();
        session
            .write_response_header(Box::new(response))
            .await
            .ok()?;
        while let Some(chunk) = connection.read_body_bytes().await.ok()? {
            session.write_response_body(chunk, false).await.ok()?;
        }
        connection.respect_keepalive();
        if let Some(stream) = connection.reuse().await {
            self.connections.put(addr, stream);
        }
        let settings = HttpPersistentSettings::for_session(&session);
        let reusable = session.finish().await.ok()??;
        metrics().request_finished(
            runtime.route_metrics.get(route_index),
            &Observation {
                status,
                source: Source::Service,
                request_ms: started.elapsed().as_secs_f64() * 1000.0,
                upstream_ms: Some(upstream_ms.as_secs_f64() * 1000.0),
                proxy_ms: Some(proxy_ms.as_secs_f64() * 1000.0),
            },
        );
        Some(ReusedHttpStream::from_reusable_stream(reusable, settings))
    }
}

fn main() {
    let baseline = Baseline::from_args("core_gateway");
    let [first, second] = baseline.upstreams;
    let yaml = format!(
        "_format_version: \"3.0\"\nservices:\n  - name: svc\n    url: http://svc_pool\n    \
         routes: [{{name: svc, paths: [/svc], strip_path: true}}]\nupstreams:\n  - name: svc_pool\n    \
         targets: [{{target: \"{first}\"}}, {{target: \"{second}\"}}]\n"
    );
    let config = config::parse(&yaml, "core_gateway").unwrap_or_else(|errors| {
        eprintln!("{errors}");
        std::process::exit(1)
    });
    let mut server = baseline.server();
    let app = CoreGateway {
        state: ArcSwap::from_pointee(Runtime::build(config, None)),
        connections: IdleConnections::default(),
    };
    let mut service = Service::new("core gateway".to_owned(), app);
    service.add_tcp(&baseline.listen);
    server.add_service(service);
    server.run_forever()
}
