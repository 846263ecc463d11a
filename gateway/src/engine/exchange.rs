//! One request on the engine, from its head to its log line:
//!
//! 1. read the head (an idle keep-alive connection gives up when the service shuts down); a
//!    malformed one is answered 400 and the connection closed;
//! 2. refuse what the gateway never forwards (`CONNECT`, a `Connection` header nominating
//!    `Host` or a forwarding header);
//! 3. [`decide`]: route, plugins, upstream URI, against one snapshot;
//! 4. build the upstream request once (hop-by-hop headers out, framing, `X-Forwarded-*`, the
//!    plugins' headers) and run the [`upstream`] exchange, with its retries;
//! 5. pass the answer on (hop-by-hop headers out, `Via` and latency headers in, the plugins'
//!    response headers), stream its body, or pipe a WebSocket [`tunnel`];
//! 6. metrics, the access log line and the trace ([`report`]); the upstream connection goes back
//!    to the pool and the client's is kept for its next request when both were left clean.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

use http::{HeaderName, HeaderValue, Method, Version, header};
use pingora::{
    ErrorType,
    apps::{HttpPersistentSettings, ReusedHttpStream},
    http::{RequestHeader, ResponseHeader},
    protocols::http::{ServerSession, v1::client::HttpSession},
    server::ShutdownWatch,
};

use super::{
    Engine, answer, client_ip,
    decide::{Decision, Proxied, decide},
    hop_by_hop::{self, Nominations},
    millis, server_port, tunnel,
    upstream::{self, Answered, Failure, Outgoing, Tries},
    upstream_request::UpstreamRequest,
};
use crate::{
    forwarding, health,
    metrics::metrics,
    plugins::Effects,
    responses::LocalResponse,
    responses::{GatewayError, RequestId},
    runtime::{Runtime, ServiceRuntime},
};

mod report;

/// How long a write to the client may wait for it to read (nginx's `send_timeout`).
const CLIENT_WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves one request of `session`; the connection back when it can carry another.
pub async fn serve(
    engine: &Engine,
    mut session: ServerSession,
    shutdown: &ShutdownWatch,
) -> Option<ReusedHttpStream> {
    if !read_head(&mut session, shutdown).await {
        return None;
    }
    // Requests a client sends before reading the previous answer are answered in order.
    session.set_pipelining_enabled(true);
    // A client that stops reading its answer is given up on after a while (nginx's
    // `send_timeout`); one that stops sending its body after `_gateway.client_body_timeout`.
    session.set_write_timeout(Some(CLIENT_WRITE_TIMEOUT));
    let mut exchange = Exchange::start(engine.state.load_full(), client_ip(&session), shutdown);
    let ending = exchange.run(engine, &mut session).await;
    exchange.report(engine, &session);
    exchange.finish_trace(&session);
    match ending {
        Ending::Finish => {
            let settings = HttpPersistentSettings::for_session(&session);
            let reusable = session.finish().await.ok()??;
            Some(ReusedHttpStream::from_reusable_stream(reusable, settings))
        }
        Ending::Abort => None,
    }
}

/// Reads the request head; `false` when there is no request to serve (the client closed, the
/// service is shutting down, or the head was malformed and has been answered 400).
async fn read_head(session: &mut ServerSession, shutdown: &ShutdownWatch) -> bool {
    if *shutdown.borrow() {
        // A kept-alive connection whose last answer went out after shutdown began.
        return false;
    }
    let mut shutdown = shutdown.clone();
    let read = tokio::select! {
        biased;
        read = session.read_request() => read,
        Ok(()) = shutdown.changed() => return false,
    };
    match read {
        Ok(read) => read,
        Err(error) => {
            if error.etype() == &ErrorType::InvalidHTTPHeader {
                tracing::debug!(%error, "malformed request head");
                answer::malformed_head(session).await;
            }
            session.shutdown().await;
            false
        }
    }
}

/// What the gateway never forwards, refused before routing: `CONNECT` (405), ambiguous framing
/// (400, and the connection closes: where the next request begins is unknown), a `Connection`
/// header that nominates a protected header or is malformed (400). Else the `Connection`
/// header's nominations.
fn refusal(session: &ServerSession) -> Result<Nominations, (GatewayError, bool)> {
    let request = session.req_header();
    if request.method == Method::CONNECT {
        return Err((GatewayError::MethodNotAllowed, false));
    }
    let ambiguous = hop_by_hop::ambiguous_framing(&request.headers, || {
        session
            .as_http1()
            .map(|http1| http1.get_headers_raw_bytes())
    });
    if ambiguous {
        return Err((GatewayError::BadRequest, true));
    }
    hop_by_hop::nominations(&request.headers).map_err(|refusal| {
        tracing::debug!(?refusal, "Connection header refused");
        (GatewayError::BadRequest, false)
    })
}

/// How the client connection ends after a request.
enum Ending {
    /// The answer was complete: finish it and keep the connection if it is clean.
    Finish,
    /// The answer broke off (client gone, upstream failed mid-body) or the connection was a
    /// tunnel: close it.
    Abort,
}

/// One request's state, from its head to its log line.
struct Exchange<'a> {
    /// Pingora's shutdown signal: once it is set, answers say `Connection: close`.
    shutdown: &'a ShutdownWatch,
    /// The snapshot this request uses from start to end.
    runtime: Arc<Runtime>,
    request_id: RequestId,
    /// The request id as a header value, made once for the upstream request and the answer.
    request_id_header: HeaderValue,
    started: Instant,
    client_ip: Option<IpAddr>,
    route: Option<usize>,
    service: Option<usize>,
    /// What the route's plugins decided (headers both ways, consumer, body limit).
    effects: Effects,
    tries: Tries,
    upstream_started: Option<Instant>,
    upstream_answered: Option<Instant>,
    /// The status sent to the client; 0 while none was.
    status: u16,
    /// Counts the request as in flight (`/status`) until dropped.
    _in_flight: InFlight,
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

impl<'a> Exchange<'a> {
    fn start(
        runtime: Arc<Runtime>,
        client_ip: Option<IpAddr>,
        shutdown: &'a ShutdownWatch,
    ) -> Self {
        let request_id = RequestId::generate();
        Self {
            shutdown,
            runtime,
            request_id_header: request_id.header_value(),
            request_id,
            started: Instant::now(),
            client_ip,
            route: None,
            service: None,
            effects: Effects::default(),
            tries: Tries::default(),
            upstream_started: None,
            upstream_answered: None,
            status: 0,
            _in_flight: InFlight::start(),
        }
    }

    /// Whether the service is shutting down (checked when an answer is about to go out, so a
    /// request that started before still says `Connection: close`).
    fn closing(&self) -> bool {
        *self.shutdown.borrow()
    }

    async fn run(&mut self, engine: &Engine, session: &mut ServerSession) -> Ending {
        let nominated = match refusal(session) {
            Ok(nominated) => nominated,
            Err((error, close)) => return self.answer_error(session, error, close).await,
        };
        let runtime = self.runtime.clone();
        // A body that stops arriving is the client's failure (408), never the target's.
        session.set_read_timeout(Some(runtime.config.gateway.client_body_timeout));
        let https = session
            .digest()
            .is_some_and(|digest| digest.ssl_digest.is_some());
        let decision = decide(
            &runtime,
            session.req_header(),
            &self.request_id,
            self.client_ip,
            https,
            &mut self.effects,
        )
        .await;
        match decision {
            Decision::Proxy(proxied) => {
                self.proxy(engine, session, &runtime, &nominated, proxied)
                    .await
            }
            Decision::Respond { route, response } => {
                self.route = route;
                self.answer(session, &response, false).await
            }
        }
    }

    /// Sends the request to its service and passes the answer on.
    async fn proxy(
        &mut self,
        engine: &Engine,
        session: &mut ServerSession,
        runtime: &Runtime,
        nominated: &Nominations,
        proxied: Proxied,
    ) -> Ending {
        self.route = Some(proxied.route);
        self.service = Some(proxied.service);
        let request = session.req_header();
        let websocket = hop_by_hop::is_websocket_upgrade(
            &request.method,
            request.version,
            &request.headers,
            nominated,
        );
        let expects_continue = request.version == Version::HTTP_11
            && request
                .headers
                .get(header::EXPECT)
                .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        // An upgrade's body is not read before the `101`: after it, the client's bytes are the
        // tunnel's.
        let has_body = !websocket && !session.is_body_empty();
        let upstream_request = UpstreamRequest {
            nominated,
            websocket,
            has_body,
            keepalive: engine.pool.keeps_connections(),
            preserve_host: runtime.route(proxied.route).preserve_host,
            client_ip: self.client_ip.map(forwarding::ip_value),
            port: server_port(session).map(|port| forwarding::number_value(port.into())),
            https: session
                .digest()
                .is_some_and(|digest| digest.ssl_digest.is_some()),
            request_id: self.request_id_header.clone(),
            upstream_uri: proxied.upstream_uri.as_deref(),
            forwarded_prefix: proxied
                .forwarded_prefix
                .as_deref()
                .and_then(|prefix| HeaderValue::from_str(prefix).ok()),
            effects: &self.effects,
        };
        let build = |client: &RequestHeader, host: Option<HeaderValue>| {
            upstream_request.build(client, host)
        };
        if has_body {
            session.enable_retry_buffering();
        }
        let outgoing = Outgoing {
            service: &runtime.services[proxied.service],
            build: &build,
            client_ip: self.client_ip,
            send_body: has_body,
            expects_continue,
        };
        let mut body_limit = self.effects.body_limit();
        self.upstream_started = Some(Instant::now());
        let exchanged = upstream::exchange(
            &engine.pool,
            &outgoing,
            &mut self.tries,
            session,
            &mut body_limit,
        )
        .await;
        match exchanged {
            Ok(answered) => self.respond(engine, session, answered, websocket).await,
            Err(Failure::Answer(error)) => self.answer_error(session, error, false).await,
            Err(Failure::ClientGone) => Ending::Abort,
        }
    }

    /// Passes the upstream's answer on: its head, then its body or the tunnel.
    async fn respond(
        &mut self,
        engine: &Engine,
        session: &mut ServerSession,
        answered: Answered,
        websocket: bool,
    ) -> Ending {
        let Answered {
            session: mut upstream,
            addr,
            pool_key,
        } = answered;
        let now = Instant::now();
        self.upstream_answered = Some(now);
        let Some(head) = upstream.resp_header() else {
            return Ending::Abort;
        };
        let status = head.status.as_u16();
        let switching = status == 101;
        if switching && !websocket {
            // A 101 that answers no upgrade request would turn the client's connection into
            // a tunnel it never asked for.
            upstream.shutdown().await;
            return self
                .answer_error(session, GatewayError::BadGateway, false)
                .await;
        }
        let runtime = self.runtime.clone();
        let service = self.service.map(|index| &runtime.services[index]);
        if let Some(service) = service
            && let Some((pool, target)) = self.tries.passive(&service.destination)
        {
            health::record_response(pool, target, status);
        }
        let client_http10 = session.req_header().version == Version::HTTP_10;
        let response = self.client_head(head, now, switching, client_http10);
        let Ok(response) = response else {
            return self
                .answer_error(session, GatewayError::BadGateway, false)
                .await;
        };
        if self.closing() {
            session.set_keepalive(None);
        }
        self.status = status;
        if session
            .write_response_header(Box::new(response))
            .await
            .is_err()
        {
            return Ending::Abort;
        }
        if switching {
            let idle = service.map_or(Duration::from_secs(60), |service| {
                service.service.read_timeout
            });
            // Boxed, as the gateway's own answers: rare paths kept out of every request's future.
            Box::pin(tunnel::pipe(session, &mut upstream, idle)).await;
            return Ending::Abort;
        }
        if !self.copy_body(session, &mut upstream, addr, service).await {
            return Ending::Abort;
        }
        upstream.respect_keepalive();
        if let Some(stream) = upstream.reuse().await {
            engine.pool.put(pool_key, stream);
        }
        Ending::Finish
    }

    /// The upstream's response head `head` as the client gets it: hop-by-hop headers and those
    /// the response nominates removed, the gateway's latency and request-id headers added, then
    /// the plugins' response headers (CORS, rate-limit counters, correlation id echo).
    fn client_head(
        &self,
        head: &ResponseHeader,
        now: Instant,
        switching: bool,
        client_http10: bool,
    ) -> pingora::Result<ResponseHeader> {
        let upstream_started = self.upstream_started.unwrap_or(now);
        let upstream_latency = millis(now.saturating_duration_since(upstream_started));
        let proxy_latency = millis(upstream_started.saturating_duration_since(self.started));
        // A response's nominations are removed too; a malformed one nominates nothing.
        let nominated = hop_by_hop::nominations(&head.headers).unwrap_or_default();
        let skip = |name: &HeaderName| {
            hop_by_hop::is_hop_by_hop_response(name, &nominated, switching, client_http10)
        };
        forwarding::forwarded_response(head, 4, skip, |headers| {
            forwarding::answered(
                headers,
                upstream_latency,
                proxy_latency,
                self.request_id_header.clone(),
            );
            self.effects.apply_to_response(headers);
        })
    }

    /// Copies the upstream's body to the client; false when either side failed (the client has
    /// the head already: breaking its connection off is the only way left to tell it the body is
    /// incomplete). A failed upstream counts against its target.
    async fn copy_body(
        &self,
        session: &mut ServerSession,
        upstream: &mut HttpSession,
        addr: SocketAddr,
        service: Option<&ServiceRuntime>,
    ) -> bool {
        loop {
            match upstream.read_body_bytes().await {
                Ok(Some(chunk)) => {
                    // An empty chunk written to a chunked body would end it.
                    if !chunk.is_empty() && session.write_response_body(chunk, false).await.is_err()
                    {
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(error) => {
                    tracing::debug!(target = %addr, %error, "upstream failed mid-body");
                    if let Some(service) = service
                        && let Some((pool, target)) = self.tries.passive(&service.destination)
                    {
                        let timeout = error.etype() == &ErrorType::ReadTimedout;
                        health::record_error(pool, target, timeout);
                    }
                    return false;
                }
            }
        }
    }

    async fn answer_error(
        &mut self,
        session: &mut ServerSession,
        error: GatewayError,
        close: bool,
    ) -> Ending {
        let response = error.response(&self.request_id);
        self.answer(session, &response, close).await
    }

    /// Answers with one of the gateway's own responses; `close` ends the connection after it
    /// (as does a shutdown).
    async fn answer(
        &mut self,
        session: &mut ServerSession,
        response: &LocalResponse,
        close: bool,
    ) -> Ending {
        self.status = response.status;
        let context = answer::Context {
            request_id: &self.request_id,
            started: self.started,
            effects: &self.effects,
            closing: close || self.closing(),
        };
        match Box::pin(answer::answer(session, response, &context)).await {
            Ok(()) => Ending::Finish,
            Err(error) => {
                tracing::debug!(%error, "cannot send the gateway's answer");
                Ending::Abort
            }
        }
    }
}
