//! The upstream exchange: pick a target (the balancer, skipping targets this request already
//! tried), connect (a pooled connection or a new one, within the service's connect timeout), send
//! the request header and body (within the write timeout), and read the answer's head (within
//! the read timeout), trying another target within the service's `retries` when that is safe.
//!
//! What is safe to try again (nginx's `proxy_next_upstream error timeout`, as Kong): a failed
//! connect, always (nothing was sent); a failure after sending, when the request's body can be
//! sent again (none, or all of it still in the 64 KiB retry buffer) and the method is idempotent
//! or the connection was a pooled one the upstream had already closed. Such a stale pooled
//! connection does not count against `retries` (up to four per request), as nginx gives a cached
//! connection's failure an extra try.
//!
//! Passive health checks count only what the target did: a failed connect, a broken or timed-out
//! exchange on a fresh connection, the answer's status. A pooled connection found closed, a
//! client that stops sending its body and a body over `request-size-limiting` count for nothing.

use std::net::SocketAddr;

use http::HeaderValue;
use pingora::{
    Error, ErrorType,
    http::RequestHeader,
    protocols::http::{ServerSession, v1::client::HttpSession},
    upstreams::peer::HttpPeer,
};

use std::hash::BuildHasher;

use super::pool::{Pool, PoolKey};
use crate::{
    balancer::{ActiveGuard, TargetState},
    health,
    plugins::BodyLimit,
    responses::GatewayError,
    runtime::{Destination, ServiceRuntime, UpstreamRuntime},
};

/// Most targets one request may try; bounded so [`Tries`] never allocates.
pub const MAX_TRIES: usize = 16;
/// Most stale pooled connections one request may meet without counting them against `retries`.
const MAX_FORGIVEN: usize = 4;

/// The targets a request tried, and the one it is on.
#[derive(Default)]
pub struct Tries {
    /// Balancer indices the next pick skips; `tried[..skipped]`.
    tried: [usize; MAX_TRIES],
    skipped: usize,
    /// The last pick went into `tried` (a balanced target, with room left).
    last_skipped: bool,
    /// Tries so far (connects attempted).
    pub count: usize,
    /// Tries that failed on a pooled connection the upstream had closed: not counted against
    /// `retries` (nginx gives a cached connection's failure an extra try too).
    forgiven: usize,
    /// Counts this request on its current target while it is in flight (least-connections).
    pub active: Option<ActiveGuard>,
    /// When each try after the first started (the trace's retry events); empty, and so not
    /// allocated, for a request that needed one try.
    pub retried_at: Vec<std::time::SystemTime>,
}

impl Tries {
    fn tried(&self) -> &[usize] {
        &self.tried[..self.skipped]
    }

    fn record(&mut self, balancer_index: Option<usize>, state: &std::sync::Arc<TargetState>) {
        self.last_skipped = false;
        if let Some(index) = balancer_index
            && self.skipped < MAX_TRIES
        {
            self.tried[self.skipped] = index;
            self.skipped += 1;
            self.last_skipped = true;
        }
        if self.count > 0 {
            self.retried_at.push(std::time::SystemTime::now());
        }
        self.count += 1;
        self.active = Some(ActiveGuard::new(state.clone()));
    }

    /// Tries that count against the service's `retries`.
    fn counted(&self) -> usize {
        self.count - self.forgiven
    }

    /// The last try met a pooled connection the upstream had closed: it does not count against
    /// `retries` and its target may be picked again. `false` past [`MAX_FORGIVEN`].
    fn forgive_stale(&mut self) -> bool {
        if self.forgiven >= MAX_FORGIVEN {
            return false;
        }
        self.forgiven += 1;
        self.allow_again();
        true
    }

    /// The last target may be picked again: its pooled connection had gone stale, which says
    /// nothing about the target.
    fn allow_again(&mut self) {
        if self.last_skipped {
            self.skipped -= 1;
            self.last_skipped = false;
        }
    }

    /// The current target and its upstream, when that upstream runs passive checks.
    pub fn passive<'a>(
        &'a self,
        destination: &'a Destination,
    ) -> Option<(&'a UpstreamRuntime, &'a TargetState)> {
        let Destination::Upstream(upstream) = destination else {
            return None;
        };
        upstream
            .passive_checks
            .then(|| Some((upstream.as_ref(), self.active.as_ref()?.state().as_ref())))
            .flatten()
    }
}

/// Why the exchange ended without an answer to pass on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The gateway answers this itself (502, 503, 504, 413, 408, 400).
    Answer(GatewayError),
    /// The client went away: nothing to answer.
    ClientGone,
}

/// Builds the upstream request head from the client's, for a target whose `Host` is given.
pub type BuildRequest<'a> =
    dyn Fn(&RequestHeader, Option<HeaderValue>) -> pingora::Result<RequestHeader> + Sync + 'a;

/// One request as every try sends it.
pub struct Outgoing<'a> {
    /// The service it goes to.
    pub service: &'a ServiceRuntime,
    /// The upstream request head, built anew for each try (a retry is rare; a copy kept for it
    /// would cost every request).
    pub build: &'a BuildRequest<'a>,
    /// What consistent hashing on the client's address hashes.
    pub client_ip: Option<std::net::IpAddr>,
    /// Send the client's body (not for an upgrade, whose bytes after a `101` are the tunnel's).
    pub send_body: bool,
    /// The client waits for `100 Continue` before it sends its body.
    pub expects_continue: bool,
}

/// An upstream that answered: its session with the response head read, and its address.
pub struct Answered {
    /// The client codec, positioned at the response body.
    pub session: HttpSession,
    /// The target's address.
    pub addr: SocketAddr,
    /// Where the connection goes back to the pool.
    pub pool_key: PoolKey,
}

/// What went wrong while sending.
enum Broken {
    Upstream(Box<Error>),
    Client(Box<Error>),
    TooLarge,
}

/// Sends `outgoing` to a target and reads the answer's head, trying other targets while
/// [`module docs`](self) allow.
pub async fn exchange(
    pool: &Pool,
    outgoing: &Outgoing<'_>,
    tries: &mut Tries,
    client: &mut ServerSession,
    body_limit: &mut BodyLimit,
) -> Result<Answered, Failure> {
    let settings = &outgoing.service.service;
    let retries = settings.retries as usize;
    loop {
        let (addr, host) = pick(outgoing, tries, client)?;
        let (peer, pool_key) = peer(outgoing, addr, host.as_ref(), client.req_header());
        let connection = match pool.connect(&peer, pool_key).await {
            Ok(connection) => connection,
            Err(error) => {
                connect_failed(outgoing, tries, addr, &error, retries)?;
                continue;
            }
        };
        let mut upstream = HttpSession::new_with_options(connection.stream, &peer);
        upstream.read_timeout = Some(settings.read_timeout);
        upstream.write_timeout = Some(settings.write_timeout);
        let header = match (outgoing.build)(client.req_header(), host) {
            Ok(header) => Box::new(header),
            Err(error) => {
                tracing::debug!(%error, "cannot build the upstream request");
                return Err(Failure::Answer(GatewayError::BadRequest));
            }
        };
        // The client's body streams on the try that first reads it; a later try sends the retry
        // buffer.
        let stream_body = client.body_bytes_read() == 0 && !client.is_body_done();
        let sent = send(
            &mut upstream,
            header,
            client,
            body_limit,
            outgoing,
            stream_body,
        )
        .await;
        let result = match sent {
            Ok(()) => read_head(&mut upstream, client).await,
            Err(broken) => Err(broken),
        };
        let error = match result {
            Ok(()) => {
                return Ok(Answered {
                    session: upstream,
                    addr,
                    pool_key,
                });
            }
            Err(Broken::Client(error)) => return Err(client_failure(&error)),
            Err(Broken::TooLarge) => return Err(Failure::Answer(GatewayError::PayloadTooLarge)),
            Err(Broken::Upstream(error)) => error,
        };
        exchange_failed(
            outgoing,
            tries,
            client,
            addr,
            &error,
            connection.reused,
            retries,
        )?;
    }
}

/// After a failed connect to `addr`: counts it against the target; `Ok` to try again while
/// `retries` allow, else Kong's answer (504 for a timeout, else 502).
fn connect_failed(
    outgoing: &Outgoing<'_>,
    tries: &mut Tries,
    addr: SocketAddr,
    error: &Error,
    retries: usize,
) -> Result<(), Failure> {
    let timeout = error.etype() == &ErrorType::ConnectTimedout;
    if let Some((upstream, target)) = tries.passive(&outgoing.service.destination) {
        health::record_error(upstream, target, timeout);
    }
    tracing::debug!(target = %addr, tries = tries.count, %error, "connect failed");
    if tries.counted() <= retries {
        return Ok(());
    }
    Err(Failure::Answer(if timeout {
        GatewayError::Timeout
    } else {
        GatewayError::BadGateway
    }))
}

/// After an exchange with `addr` failed before the answer's head (on a pooled connection when
/// `reused`): counts it against the target unless the connection was only stale; `Ok` to try
/// again when the request can be replayed (a stale connection, or an idempotent request while
/// `retries` allow), else Kong's answer.
fn exchange_failed(
    outgoing: &Outgoing<'_>,
    tries: &mut Tries,
    client: &mut ServerSession,
    addr: SocketAddr,
    error: &Error,
    reused: bool,
    retries: usize,
) -> Result<(), Failure> {
    let timeout = matches!(
        error.etype(),
        ErrorType::ReadTimedout | ErrorType::WriteTimedout
    );
    // A pooled connection that fails before any answer was most likely closed by the
    // upstream while idle: not the target's fault, and the request never reached it.
    let stale = reused && !timeout;
    if !stale && let Some((upstream, target)) = tries.passive(&outgoing.service.destination) {
        health::record_error(upstream, target, timeout);
    }
    tracing::debug!(target = %addr, tries = tries.count, stale, %error, "upstream exchange failed");
    let replayable =
        !outgoing.send_body || client.is_body_done() && !client.retry_buffer_truncated();
    let idempotent = client.req_header().method.is_idempotent();
    if stale && replayable && tries.forgive_stale() {
        return Ok(());
    }
    if tries.counted() <= retries && replayable && idempotent {
        return Ok(());
    }
    Err(Failure::Answer(if timeout {
        GatewayError::Timeout
    } else {
        GatewayError::BadGateway
    }))
}

/// The peer for `addr` (with the service's connect timeout, and its TLS settings and the SNI when
/// it is `https`) and the pool key of its connections. The SNI is the `Host` the upstream gets
/// (`host`, else the client's), without its port, as Kong sends it.
fn peer(
    outgoing: &Outgoing<'_>,
    addr: SocketAddr,
    host: Option<&HeaderValue>,
    client: &RequestHeader,
) -> (HttpPeer, PoolKey) {
    let service = outgoing.service;
    let Some(tls) = &service.tls else {
        let mut peer = HttpPeer::new(addr, false, String::new());
        peer.options.connection_timeout = Some(service.service.connect_timeout);
        return (peer, (addr, 0));
    };
    let host = host
        .or_else(|| client.headers.get(http::header::HOST))
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let sni = strip_port(host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    let mut peer = HttpPeer::new(addr, true, sni.to_owned());
    peer.options.connection_timeout = Some(service.service.connect_timeout);
    peer.options.verify_cert = tls.verify;
    peer.options.verify_hostname = tls.verify;
    peer.options.ca.clone_from(&tls.ca);
    peer.client_cert_key.clone_from(&tls.client);
    let sni_hash = foldhash::fast::FixedState::default().hash_one(sni);
    (peer, (addr, (tls.pool_key ^ sni_hash) | 1))
}

/// `host` without a trailing `:port` (a bracketed IPv6 address keeps its brackets).
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port))
            if port.bytes().all(|b| b.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            name
        }
        _ => host,
    }
}

/// A client-side failure: a body that stopped arriving within the read timeout gets 408, a
/// closed or broken connection nothing, a malformed body (a bad chunk) 400.
fn client_failure(error: &Error) -> Failure {
    match error.etype() {
        ErrorType::ReadTimedout => Failure::Answer(GatewayError::RequestTimeout),
        ErrorType::ConnectionClosed | ErrorType::ReadError | ErrorType::WriteError => {
            Failure::ClientGone
        }
        _ => Failure::Answer(GatewayError::BadRequest),
    }
}

/// The next target for `outgoing` and the `Host` it gets; Kong's 503s when there is none.
fn pick(
    outgoing: &Outgoing<'_>,
    tries: &mut Tries,
    client: &ServerSession,
) -> Result<(SocketAddr, Option<HeaderValue>), Failure> {
    match &outgoing.service.destination {
        Destination::Upstream(upstream) => {
            if upstream.below_threshold() {
                return Err(Failure::Answer(GatewayError::NoPeer));
            }
            let ip_bytes = outgoing.client_ip.map(ip_octets);
            let key = upstream.hash_key(
                client.req_header(),
                ip_bytes.as_ref().map(|(bytes, len)| &bytes[..*len]),
            );
            let Some(index) = upstream.balancer.select(key, tries.tried()) else {
                return Err(Failure::Answer(if tries.count == 0 {
                    GatewayError::NoPeer
                } else {
                    GatewayError::BadGateway
                }));
            };
            let target = &upstream.balancer.targets()[index];
            tries.record(Some(index), &target.state);
            Ok((target.state.addr, upstream.host_headers.get(index).cloned()))
        }
        Destination::Single {
            target: Some(target),
            host_header,
        } => {
            tries.record(None, target);
            Ok((target.addr, Some(host_header.clone())))
        }
        Destination::Single { target: None, .. } => {
            Err(Failure::Answer(GatewayError::NameResolution))
        }
    }
}

/// Writes the request header and body: the client's body as it arrives when `stream_body` (kept
/// in the retry buffer up to 64 KiB, counted against `request-size-limiting`), else the retry
/// buffer.
async fn send(
    upstream: &mut HttpSession,
    header: Box<RequestHeader>,
    client: &mut ServerSession,
    body_limit: &mut BodyLimit,
    outgoing: &Outgoing<'_>,
    stream_body: bool,
) -> Result<(), Broken> {
    upstream
        .write_request_header(header)
        .await
        .map_err(Broken::Upstream)?;
    if outgoing.send_body {
        if stream_body {
            if outgoing.expects_continue && !client.is_body_done() {
                client
                    .write_continue_response()
                    .await
                    .map_err(Broken::Client)?;
            }
            while let Some(chunk) = client.read_request_body().await.map_err(Broken::Client)? {
                // An empty chunk written to a chunked body would end it ("0\r\n\r\n").
                if chunk.is_empty() {
                    continue;
                }
                if !body_limit.count(chunk.len()) {
                    return Err(Broken::TooLarge);
                }
                upstream
                    .write_body(&chunk)
                    .await
                    .map_err(Broken::Upstream)?;
            }
        } else if let Some(body) = client.get_retry_buffer() {
            upstream.write_body(&body).await.map_err(Broken::Upstream)?;
        }
    }
    upstream.finish_body().await.map_err(Broken::Upstream)?;
    Ok(())
}

/// Reads the answer's head: `100 Continue` is dropped (the gateway answered the client's
/// `Expect` itself), other interim answers (`102`, `103`) are passed on, and a `101` or a final
/// status ends the head.
async fn read_head(upstream: &mut HttpSession, client: &mut ServerSession) -> Result<(), Broken> {
    loop {
        upstream.read_response().await.map_err(Broken::Upstream)?;
        let Some(head) = upstream.resp_header() else {
            return Err(Broken::Upstream(Error::explain(
                ErrorType::InvalidHTTPHeader,
                "no response header after reading one",
            )));
        };
        match head.status.as_u16() {
            100 => {}
            102..=199 => {
                client
                    .write_response_header(Box::new(head.clone()))
                    .await
                    .map_err(Broken::Client)?;
            }
            _ => return Ok(()),
        }
    }
}

/// The octets of an IP, on the stack.
fn ip_octets(ip: std::net::IpAddr) -> ([u8; 16], usize) {
    let mut bytes = [0u8; 16];
    match ip {
        std::net::IpAddr::V4(v4) => {
            bytes[..4].copy_from_slice(&v4.octets());
            (bytes, 4)
        }
        std::net::IpAddr::V6(v6) => (v6.octets(), 16),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_target_whose_pooled_connection_was_stale_may_be_picked_again_a_failed_one_not() {
        let state = Arc::new(TargetState::new(SocketAddr::from(([127, 0, 0, 1], 80))));
        let mut tries = Tries::default();
        tries.record(Some(3), &state);
        assert_eq!(tries.tried(), &[3]);
        assert!(tries.forgive_stale());
        assert!(tries.tried().is_empty());
        assert_eq!(
            (tries.count, tries.counted()),
            (1, 0),
            "a stale try does not count against retries"
        );
        tries.record(Some(3), &state);
        tries.record(Some(5), &state);
        assert_eq!((tries.tried(), tries.count), (&[3, 5][..], 3));
        // A single-target service records no index: nothing to allow again.
        tries.record(None, &state);
        tries.allow_again();
        assert_eq!((tries.tried(), tries.count), (&[3, 5][..], 4));
        // Forgiveness is bounded: a request cannot loop over stale connections.
        for _ in 1..MAX_FORGIVEN {
            assert!(tries.forgive_stale());
        }
        assert!(!tries.forgive_stale());
        assert_eq!(tries.counted(), 4 - MAX_FORGIVEN);
    }
}
