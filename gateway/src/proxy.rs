//! The Pingora proxy: [`Gateway`] implements `ProxyHttp`, one job per phase.
//!
//! - `request_filter`: take the config snapshot once, normalise the path, match a route, run its
//!   plugins (their decisions land in the request's [`Effects`]), compute the upstream URI.
//!   Answers 404/503 and plugin exits itself.
//! - `request_body_filter`: counts a body without length against `request-size-limiting`.
//! - `upstream_peer`: pick a target (skipping the ones this request already tried) and set the
//!   service's timeouts.
//! - `upstream_request_filter`: rewrite the path, `Host` and the `X-Forwarded-*` headers, then the
//!   plugins' upstream headers.
//! - `response_filter`: `Via`, latency headers and the request id, then the plugins' response
//!   headers (which the gateway's own answers get too).
//! - `fail_to_connect` / `error_while_proxy`: retries within the service's `retries`.
//! - `fail_to_proxy`: Kong's 502/503/504 bodies instead of Pingora's empty 502.
//! - `logging`: metrics and the access log line.
//!
//! Passive health checks are fed from `response_filter` (the upstream's status) and from
//! `fail_to_connect` / `error_while_proxy` (connection failures and timeouts).

use std::{
    borrow::Cow,
    net::IpAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderValue, header};
use pingora::{
    Error, ErrorSource, ErrorType, Result,
    http::{RequestHeader, ResponseHeader},
    modules::http::HttpModules,
    protocols::l4::socket::SocketAddr as PingoraAddr,
    proxy::{FailToProxy, ProxyHttp, Session},
    upstreams::peer::HttpPeer,
};

use crate::{
    access_log::{AccessLog, Entry},
    balancer::{ActiveGuard, TargetState},
    forwarding, health,
    metrics::{Observation, Source, metrics},
    plugins::{AccessRequest, Effects, Flow, LocalResponse, key_auth::strip_query_args},
    responses::{GatewayError, REQUEST_ID_HEADER, RequestId},
    router::{escape_path, normalize_path, upstream_path},
    runtime::{Destination, Runtime, UpstreamRuntime},
};

/// Most targets one request may try; bounded so `Ctx` never allocates for them.
const MAX_TRIES: usize = 16;
/// Largest single header field (name + value) accepted, as nginx's `large_client_header_buffers`.
const MAX_HEADER_FIELD_BYTES: usize = 16 * 1024;
/// Largest header block accepted.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The proxy service's shared state.
pub struct Gateway {
    state: Arc<ArcSwap<Runtime>>,
    /// How long an idle upstream connection stays pooled; `None`: upstream keepalive is off
    /// (Kong's `upstream_keepalive_pool_size: 0`), every upstream request says `Connection: close`.
    keepalive: Option<Duration>,
    access_log: Arc<AccessLog>,
}

impl Gateway {
    /// A proxy serving whatever snapshot `state` holds, pooling upstream connections for
    /// `keepalive` (`None`: no pooling).
    pub fn new(
        state: Arc<ArcSwap<Runtime>>,
        keepalive: Option<Duration>,
        access_log: Arc<AccessLog>,
    ) -> Self {
        Self {
            state,
            keepalive,
            access_log,
        }
    }
}

/// Per-request state.
pub struct Ctx {
    /// The snapshot this request uses from start to end.
    runtime: Option<Arc<Runtime>>,
    request_id: RequestId,
    started: Instant,
    route: Option<usize>,
    service: Option<usize>,
    /// The rewritten upstream URI (path and query), when it differs from the client's.
    upstream_uri: Option<String>,
    /// The stripped prefix (`X-Forwarded-Prefix`).
    forwarded_prefix: Option<String>,
    /// What the route's plugins decided: upstream and response headers, consumer, correlation id
    /// (`effects.correlation_id`, for the access log), body limit. Empty without plugins.
    effects: Effects,
    /// Balancer indices already tried.
    tried: [usize; MAX_TRIES],
    tries: usize,
    /// Balancer index of the current target.
    current: Option<usize>,
    /// Counts this request on its target while it is in flight (least-connections).
    active: Option<ActiveGuard>,
    upstream_started: Option<Instant>,
    /// Set when the gateway decides the answer itself before any upstream error.
    failure: Option<GatewayError>,
    /// Counts the request as in flight (`/status`) until the context is dropped.
    _in_flight: InFlight,
    /// When the upstream's response header arrived.
    upstream_answered: Option<Instant>,
}

/// Counts one request in flight for `/status` while alive.
struct InFlight;

impl InFlight {
    fn start() -> Self {
        metrics().request_started();
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics().request_done();
    }
}

impl Ctx {
    fn tried(&self) -> &[usize] {
        &self.tried[..self.tries.min(MAX_TRIES)]
    }

    fn service_retries(&self) -> usize {
        match (&self.runtime, self.service) {
            (Some(runtime), Some(service)) => runtime.services[service].service.retries as usize,
            _ => 0,
        }
    }
}

/// What `request_filter` decided.
enum Decision {
    Proxy {
        route: usize,
        service: usize,
        upstream_uri: Option<String>,
        forwarded_prefix: Option<String>,
    },
    Respond(LocalResponse),
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = Ctx;

    /// No downstream modules: Pingora's default adds its response-compression module (disabled,
    /// level 0), which still ran a context allocation and three filters per request. The gateway
    /// passes bodies through as Kong does.
    fn init_downstream_modules(&self, _modules: &mut HttpModules) {}

    fn new_ctx(&self) -> Ctx {
        Ctx {
            runtime: None,
            request_id: RequestId::generate(),
            started: Instant::now(),
            route: None,
            service: None,
            upstream_uri: None,
            forwarded_prefix: None,
            effects: Effects::default(),
            tried: [0; MAX_TRIES],
            tries: 0,
            current: None,
            active: None,
            upstream_started: None,
            failure: None,
            _in_flight: InFlight::start(),
            upstream_answered: None,
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        let runtime = self.state.load_full();
        let client_ip = client_ip(session);
        let decision = decide(
            &runtime,
            session.req_header(),
            &ctx.request_id,
            client_ip,
            &mut ctx.effects,
        )
        .await;
        ctx.runtime = Some(runtime);
        match decision {
            Decision::Proxy {
                route,
                service,
                upstream_uri,
                forwarded_prefix,
            } => {
                ctx.route = Some(route);
                ctx.service = Some(service);
                ctx.upstream_uri = upstream_uri;
                ctx.forwarded_prefix = forwarded_prefix;
                Ok(false)
            }
            Decision::Respond(response) => {
                write_local_response(session, ctx, &response).await?;
                Ok(true)
            }
        }
    }

    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<()> {
        if let Some(chunk) = body
            && !ctx.effects.count_body(chunk.len())
        {
            // Rendered by `fail_to_proxy` as the plugin's 413 (never retried: `explain` decides
            // no retry).
            ctx.failure = Some(GatewayError::PayloadTooLarge);
            return Err(Error::explain(
                ErrorType::HTTPStatus(413),
                "request body over the request-size-limiting limit",
            ));
        }
        Ok(())
    }

    async fn upstream_peer(&self, session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        let runtime = ctx.runtime.clone().ok_or_else(|| {
            Error::explain(
                ErrorType::InternalError,
                "BUG: no snapshot in upstream_peer",
            )
        })?;
        let service_index = ctx.service.ok_or_else(|| {
            Error::explain(ErrorType::InternalError, "BUG: no service in upstream_peer")
        })?;
        let service = &runtime.services[service_index];
        let addr = match &service.destination {
            Destination::Upstream(upstream) => {
                if upstream.below_threshold() {
                    ctx.failure = Some(GatewayError::NoPeer);
                    return Err(Error::explain(
                        ErrorType::HTTPStatus(503),
                        "healthy weight below the upstream's threshold",
                    ));
                }
                let client_ip = client_ip(session);
                let ip_bytes = client_ip.map(ip_octets);
                let key = upstream.hash_key(
                    session.req_header(),
                    ip_bytes.as_ref().map(|(bytes, len)| &bytes[..*len]),
                );
                match upstream.balancer.select(key, ctx.tried()) {
                    Some(index) => {
                        let target = &upstream.balancer.targets()[index];
                        ctx.current = Some(index);
                        ctx.active = Some(ActiveGuard::new(target.state.clone()));
                        target.state.addr
                    }
                    None => {
                        ctx.failure = Some(if ctx.tries == 0 {
                            GatewayError::NoPeer
                        } else {
                            GatewayError::BadGateway
                        });
                        return Err(Error::explain(
                            ErrorType::HTTPStatus(503),
                            "no peer available",
                        ));
                    }
                }
            }
            Destination::Single {
                target: Some(target),
                ..
            } => {
                ctx.active = Some(ActiveGuard::new(target.clone()));
                target.addr
            }
            Destination::Single { target: None, .. } => {
                ctx.failure = Some(GatewayError::NameResolution);
                return Err(Error::explain(
                    ErrorType::HTTPStatus(503),
                    "name resolution failed",
                ));
            }
        };
        if let Some(index) = ctx.current
            && ctx.tries < MAX_TRIES
        {
            ctx.tried[ctx.tries] = index;
        }
        ctx.tries += 1;
        let mut peer = HttpPeer::new(addr, false, String::new());
        let settings = &service.service;
        peer.options.connection_timeout = Some(settings.connect_timeout);
        peer.options.read_timeout = Some(settings.read_timeout);
        peer.options.write_timeout = Some(settings.write_timeout);
        peer.options.idle_timeout = self.keepalive;
        Ok(Box::new(peer))
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        ctx.upstream_started = Some(Instant::now());
        let (Some(runtime), Some(route), Some(service)) = (&ctx.runtime, ctx.route, ctx.service)
        else {
            return Err(Error::explain(
                ErrorType::InternalError,
                "BUG: upstream request without a route",
            ));
        };
        let host = if runtime.route(route).preserve_host {
            None
        } else {
            match &runtime.services[service].destination {
                Destination::Upstream(upstream) => ctx
                    .current
                    .and_then(|index| upstream.host_headers.get(index))
                    .cloned(),
                Destination::Single { host_header, .. } => Some(host_header.clone()),
            }
        };
        let forwarded = forwarding::Forwarded {
            host,
            client_ip: client_ip(session).map(forwarding::ip_value),
            port: server_port(session),
            original_path: HeaderValue::from_str(session.req_header().uri.path()).ok(),
            prefix: ctx
                .forwarded_prefix
                .as_deref()
                .and_then(|prefix| HeaderValue::from_str(prefix).ok()),
            request_id: ctx.request_id.header_value(),
        };
        let close = self.keepalive.is_none();
        forwarding::edit_request(upstream_request, 10, |headers| {
            // Pingora pools connections even with a pool size of 0, but never one whose request
            // said `close` (whatever the upstream answers). An upgrade keeps `Connection: Upgrade`.
            if close && !headers.contains_key(header::UPGRADE) {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            forwarded.apply(headers);
            // Last, so that plugins win (consumer headers replace forged ones, hidden keys go).
            ctx.effects.apply_to_upstream(headers);
        })?;
        if let Some(uri) = &ctx.upstream_uri {
            upstream_request.set_raw_path(uri.as_bytes())?;
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        let now = Instant::now();
        ctx.upstream_answered = Some(now);
        if let Some((upstream, target)) = passive_target(ctx) {
            health::record_response(upstream, target, upstream_response.status.as_u16());
        }
        let upstream_started = ctx.upstream_started.unwrap_or(now);
        let upstream_latency = millis(now.saturating_duration_since(upstream_started));
        let proxy_latency = millis(upstream_started.saturating_duration_since(ctx.started));
        let request_id = ctx.request_id.header_value();
        forwarding::edit_response(upstream_response, 4, |headers| {
            forwarding::answered(headers, upstream_latency, proxy_latency, request_id);
            // Plugins' response headers (CORS, rate-limit counters, correlation id echo).
            ctx.effects.apply_to_response(headers);
        })
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut Ctx) {
        let now = Instant::now();
        let status = session
            .response_written()
            .map_or(0, |response| response.status.as_u16());
        let proxied = ctx.upstream_answered.is_some();
        let request_ms = ms_f64(now.saturating_duration_since(ctx.started));
        let upstream_ms = ctx
            .upstream_started
            .zip(ctx.upstream_answered)
            .map(|(start, end)| ms_f64(end.saturating_duration_since(start)));
        let proxy_ms = ctx
            .upstream_started
            .map(|start| ms_f64(start.saturating_duration_since(ctx.started)));
        let runtime = ctx.runtime.as_deref();
        let route_metrics = runtime
            .zip(ctx.route)
            .and_then(|(runtime, route)| runtime.route_metrics.get(route));
        metrics().request_finished(
            route_metrics,
            &Observation {
                status,
                source: if proxied {
                    Source::Service
                } else {
                    Source::Gateway
                },
                request_ms,
                upstream_ms,
                proxy_ms,
            },
        );
        if !self.access_log.enabled() {
            return;
        }
        let request = session.req_header();
        let route = runtime
            .zip(ctx.route)
            .map(|(runtime, route)| runtime.route(route).name.as_str());
        let service = runtime
            .zip(ctx.service)
            .map(|(runtime, service)| runtime.services[service].service.name.as_str());
        self.access_log.write(&Entry {
            request_id: ctx.request_id.as_str(),
            correlation_id: None,
            client_ip: client_ip(session),
            method: request.method.as_str(),
            uri: request
                .uri
                .path_and_query()
                .map_or("/", |path_and_query| path_and_query.as_str()),
            status,
            route,
            service,
            target: ctx.active.as_ref().map(|guard| guard.state().addr),
            tries: ctx.tries,
            request_ms,
            upstream_ms,
            proxy_ms,
            bytes_received: session.body_bytes_read(),
            bytes_sent: session.body_bytes_sent(),
        });
    }

    fn suppress_error_log(&self, _session: &Session, ctx: &Ctx, error: &Error) -> bool {
        // A client that goes away mid-request is routine (load tools stop at a deadline, browsers
        // navigate away): not an error of ours. Kong logs it at info level too. So is a body over
        // request-size-limiting's limit: the plugin's 413, not a failure.
        ctx.failure == Some(GatewayError::PayloadTooLarge)
            || error.esource() == &ErrorSource::Downstream
                && matches!(
                    error.etype(),
                    ErrorType::ConnectionClosed | ErrorType::ReadError | ErrorType::WriteError
                )
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        peer: &HttpPeer,
        ctx: &mut Ctx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        if let Some((upstream, target)) = passive_target(ctx) {
            health::record_error(upstream, target, e.etype() == &ErrorType::ConnectTimedout);
        }
        // Nothing was sent yet: another try is always safe (Kong: nginx `proxy_next_upstream error timeout`).
        if ctx.tries <= ctx.service_retries() {
            e.set_retry(true);
        }
        tracing::debug!(peer = %peer, tries = ctx.tries, error = %e, "connect failed");
        e
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        ctx: &mut Ctx,
        client_reused: bool,
    ) -> Box<Error> {
        if e.esource() == &ErrorSource::Upstream
            && let Some((upstream, target)) = passive_target(ctx)
        {
            health::record_error(
                upstream,
                target,
                matches!(
                    e.etype(),
                    ErrorType::ReadTimedout | ErrorType::WriteTimedout
                ),
            );
        }
        let mut e = e.more_context(format!("peer: {peer}"));
        // Retry only what is safe: an idempotent request whose body we still hold, on a pooled
        // connection the upstream had closed (Pingora's policy), and within the service's retries.
        if ctx.tries > ctx.service_retries()
            || !session.req_header().method.is_idempotent()
            || session.as_ref().retry_buffer_truncated()
        {
            e.set_retry(false);
        } else {
            e.retry.decide_reuse(client_reused);
        }
        e
    }

    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
        let failure = ctx.failure.or_else(|| classify(e));
        let Some(failure) = failure else {
            // The client is gone; nothing to answer.
            return FailToProxy {
                error_code: 0,
                can_reuse_downstream: false,
            };
        };
        let response = failure.response(&ctx.request_id);
        let status = response.status;
        if session.response_written().is_none()
            && let Err(err) = write_local_response(session, ctx, &response).await
        {
            tracing::debug!(error = %err, "cannot send the error response");
        }
        FailToProxy {
            error_code: status,
            can_reuse_downstream: false,
        }
    }
}

/// The upstream and target of the current try, when its upstream runs passive checks.
fn passive_target(ctx: &Ctx) -> Option<(&UpstreamRuntime, &TargetState)> {
    let runtime = ctx.runtime.as_deref()?;
    let Destination::Upstream(upstream) = &runtime.services[ctx.service?].destination else {
        return None;
    };
    if !upstream.passive_checks {
        return None;
    }
    Some((upstream, ctx.active.as_ref()?.state()))
}

/// Route matching, plugins and the upstream URI, for one request against one snapshot; the
/// plugins' decisions go to `effects`.
async fn decide(
    runtime: &Runtime,
    request: &RequestHeader,
    request_id: &RequestId,
    client_ip: Option<IpAddr>,
    effects: &mut Effects,
) -> Decision {
    if headers_too_large(request) {
        return Decision::Respond(GatewayError::HeaderTooLarge.response(request_id));
    }
    let raw_path = request.uri.path();
    let path = normalize_path(raw_path);
    let host = request
        .headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri.host());
    let Some((route_index, matched)) =
        runtime.find_route(request.method.as_str(), host, &path, &request.headers)
    else {
        return Decision::Respond(GatewayError::NoRoute.response(request_id));
    };
    let route = runtime.route(route_index);
    let Some(service_index) = route.service else {
        return Decision::Respond(GatewayError::NoService.response(request_id));
    };
    let service = &runtime.services[service_index].service;
    let chain = &runtime.route_plugins[route_index];
    if !chain.is_empty() {
        let access = AccessRequest {
            header: request,
            path: &path,
            client_ip,
            route: &route.name,
            service: &service.name,
        };
        if let Flow::Respond(response) = chain.access(&access, effects).await {
            return Decision::Respond(response);
        }
    }
    let normalised = matches!(path, Cow::Owned(_));
    // key-auth's hide_credentials: the key leaves the query string.
    let query: Option<Cow<'_, str>> = match request.uri.query() {
        Some(query) if !effects.hidden_query_args().is_empty() => {
            Some(strip_query_args(query, effects.hidden_query_args()))
                .filter(|query| !query.is_empty())
                .map(Cow::Owned)
        }
        query => query.map(Cow::Borrowed),
    };
    let query_changed = query.as_deref() != request.uri.query();
    let (upstream_uri, forwarded_prefix) =
        if route.strip_path || service.path.is_some() || normalised || query_changed {
            let upstream = upstream_path(
                service.path.as_deref(),
                &path,
                route.strip_path,
                matched.matched_len,
                route.path_handling,
            );
            let mut uri = escape_path(&upstream).into_owned();
            if let Some(query) = &query {
                uri.push('?');
                uri.push_str(query);
            }
            let prefix = (route.strip_path && matched.matched_len > 0)
                .then(|| path[..matched.matched_len].to_owned());
            (Some(uri), prefix)
        } else {
            (None, None)
        };
    Decision::Proxy {
        route: route_index,
        service: service_index,
        upstream_uri,
        forwarded_prefix,
    }
}

/// Whether one header field or the whole block exceeds nginx-like limits.
fn headers_too_large(request: &RequestHeader) -> bool {
    let mut total = request
        .uri
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    for (name, value) in &request.headers {
        let field = name.as_str().len() + value.len();
        if field > MAX_HEADER_FIELD_BYTES {
            return true;
        }
        total += field;
    }
    total > MAX_HEADER_BYTES
}

/// Writes a gateway-generated response.
async fn write_local_response(
    session: &mut Session,
    ctx: &Ctx,
    response: &LocalResponse,
) -> Result<()> {
    let mut header = ResponseHeader::build_no_case(response.status, None)?;
    forwarding::edit_response(&mut header, 5 + response.headers.len(), |headers| {
        if let Some(content_type) = response.content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        headers.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from(response.body.len()),
        );
        headers.insert(REQUEST_ID_HEADER, ctx.request_id.header_value());
        headers.insert(
            forwarding::X_KONG_RESPONSE_LATENCY,
            HeaderValue::from(millis(ctx.started.elapsed())),
        );
        headers.insert(
            header::SERVER,
            HeaderValue::from_static(forwarding::SERVER_VALUE),
        );
        // The route's plugins' headers (CORS, rate-limit counters, ...), then this answer's own.
        ctx.effects.apply_to_response(headers);
        for (name, value) in &response.headers {
            headers.insert(name.clone(), value.clone());
        }
    })?;
    let head = session.req_header().method == http::Method::HEAD;
    session
        .write_response_header(Box::new(header), head)
        .await?;
    if !head {
        session
            .write_response_body(Some(response.body.clone()), true)
            .await?;
    }
    Ok(())
}

/// Maps an error Pingora raised to Kong's answer; `None` when the client is gone.
fn classify(e: &Error) -> Option<GatewayError> {
    match e.etype() {
        ErrorType::ConnectTimedout | ErrorType::ReadTimedout | ErrorType::WriteTimedout
            if e.esource() == &ErrorSource::Upstream =>
        {
            Some(GatewayError::Timeout)
        }
        _ => match e.esource() {
            ErrorSource::Upstream => Some(GatewayError::BadGateway),
            ErrorSource::Downstream => match e.etype() {
                ErrorType::WriteError | ErrorType::ReadError | ErrorType::ConnectionClosed => None,
                ErrorType::ReadTimedout | ErrorType::WriteTimedout => None,
                _ => Some(GatewayError::BadRequest),
            },
            ErrorSource::Internal | ErrorSource::Unset => Some(GatewayError::Internal),
        },
    }
}

fn client_ip(session: &Session) -> Option<IpAddr> {
    match session.client_addr()? {
        PingoraAddr::Inet(addr) => Some(addr.ip()),
        _ => None,
    }
}

fn server_port(session: &Session) -> Option<u16> {
    match session.server_addr()? {
        PingoraAddr::Inet(addr) => Some(addr.port()),
        _ => None,
    }
}

/// The octets of an IP, on the stack.
fn ip_octets(ip: IpAddr) -> ([u8; 16], usize) {
    let mut bytes = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => {
            bytes[..4].copy_from_slice(&v4.octets());
            (bytes, 4)
        }
        IpAddr::V6(v6) => (v6.octets(), 16),
    }
}

fn ms_f64(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
