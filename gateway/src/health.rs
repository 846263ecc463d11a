//! Health checks of upstream targets, Kong's way.
//!
//! - Counting: every outcome (a proxied response, a connection error, a probe) is recorded on the
//!   target's [`TargetState`] with [`record`]. Failures of one kind in a row beyond that kind's
//!   limit mark the target unhealthy; successes in a row beyond `successes` mark it healthy again.
//!   The balancer skips unhealthy targets; when none is left the proxy answers 503.
//! - Passive checks ([`record_response`], [`record_error`]) are fed by the proxy from real traffic.
//!   Like Kong's circuit breaker they only ever mark a target *unhealthy*.
//! - Active checks: [`HealthChecker`] is one Pingora background service that, every tick, walks the
//!   *current* snapshot (reloads add and drop targets and change settings) and probes each target
//!   whose interval has passed — `healthy.interval` for healthy targets, `unhealthy.interval` for
//!   unhealthy ones — with at most `concurrency` probes of one upstream in flight. `http` probes
//!   `GET http_path`; `https` does the same over TLS (a failed handshake is a TCP failure, as in
//!   Kong); `tcp` only connects.
//!
//! Target state lives in the snapshot's `Arc<TargetState>`s, which reloads carry over, so a
//! target keeps its health across reloads.

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use futures::StreamExt;
use http::HeaderValue;
use openssl::ssl::SslConnector;
use pingora::{server::ShutdownWatch, services::background::BackgroundService};

use crate::{
    address::split_host_port,
    balancer::TargetState,
    config::model::{ActiveHealthcheck, Healthchecks, ProbeKind, UnhealthyRule},
    runtime::{Runtime, UpstreamRuntime},
};

/// How often the checker looks for due probes.
const TICK: Duration = Duration::from_millis(50);

/// What one observation says about a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A healthy status.
    Success,
    /// An unhealthy status.
    HttpFailure,
    /// The connection failed (refused, reset, closed).
    TcpFailure,
    /// The connection or the answer timed out.
    Timeout,
}

/// A target's health as the admin API and metrics report it (Kong's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Receiving traffic.
    Healthy,
    /// Taken out by a health check.
    Unhealthy,
    /// Its name did not resolve.
    DnsError,
    /// No health check is configured for its upstream.
    HealthchecksOff,
}

impl Health {
    /// Kong's admin API spelling (`HEALTHY`, ...).
    pub fn admin_name(self) -> &'static str {
        match self {
            Self::Healthy => "HEALTHY",
            Self::Unhealthy => "UNHEALTHY",
            Self::DnsError => "DNS_ERROR",
            Self::HealthchecksOff => "HEALTHCHECKS_OFF",
        }
    }

    /// Kong's Prometheus `state` label.
    pub fn metric_name(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
            Self::DnsError => "dns_error",
            Self::HealthchecksOff => "healthchecks_off",
        }
    }
}

/// The reported health of a resolved target of an upstream with `checks`.
pub fn health_of(state: &TargetState, checks: &Healthchecks) -> Health {
    if !checks.enabled() {
        Health::HealthchecksOff
    } else if state.is_healthy() {
        Health::Healthy
    } else {
        Health::Unhealthy
    }
}

/// Records `outcome` on `state`. `successes` is how many successes in a row heal an unhealthy
/// target (0: never, as for passive checks); `unhealthy` holds the failure limits. Returns the new
/// health when this outcome changed it.
pub fn record(
    state: &TargetState,
    outcome: Outcome,
    successes: u32,
    unhealthy: &UnhealthyRule,
) -> Option<bool> {
    let mut counters = state
        .counters
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let healthy = state.is_healthy();
    if outcome == Outcome::Success {
        counters.http_failures = 0;
        counters.tcp_failures = 0;
        counters.timeouts = 0;
        if healthy || successes == 0 {
            counters.successes = 0;
            return None;
        }
        counters.successes += 1;
        if counters.successes >= successes {
            *counters = Default::default();
            state.healthy.store(true, Ordering::Relaxed);
            return Some(true);
        }
        return None;
    }
    counters.successes = 0;
    if !healthy {
        return None;
    }
    let (count, limit) = match outcome {
        Outcome::HttpFailure => (&mut counters.http_failures, unhealthy.http_failures),
        Outcome::TcpFailure => (&mut counters.tcp_failures, unhealthy.tcp_failures),
        Outcome::Timeout => (&mut counters.timeouts, unhealthy.timeouts),
        Outcome::Success => unreachable!("handled above"),
    };
    if limit == 0 {
        return None;
    }
    *count += 1;
    if *count >= limit {
        *counters = Default::default();
        state.healthy.store(false, Ordering::Relaxed);
        return Some(false);
    }
    None
}

/// Passive check: the upstream answered `status`.
pub fn record_response(upstream: &UpstreamRuntime, state: &TargetState, status: u16) {
    let passive = &upstream.healthchecks.passive;
    let outcome = if passive.unhealthy.http_statuses.contains(&status) {
        Outcome::HttpFailure
    } else if passive.healthy.http_statuses.contains(&status) {
        Outcome::Success
    } else {
        return;
    };
    if let Some(healthy) = record(state, outcome, 0, &passive.unhealthy) {
        log_transition(
            upstream,
            state,
            healthy,
            "passive",
            &format!("status {status}"),
        );
    }
}

/// Passive check: talking to the target failed.
pub fn record_error(upstream: &UpstreamRuntime, state: &TargetState, timeout: bool) {
    let passive = &upstream.healthchecks.passive;
    let outcome = if timeout {
        Outcome::Timeout
    } else {
        Outcome::TcpFailure
    };
    if let Some(healthy) = record(state, outcome, 0, &passive.unhealthy) {
        let why = if timeout {
            "timeout"
        } else {
            "connection failure"
        };
        log_transition(upstream, state, healthy, "passive", why);
    }
}

fn log_transition(
    upstream: &UpstreamRuntime,
    state: &TargetState,
    healthy: bool,
    check: &str,
    why: &str,
) {
    if healthy {
        tracing::info!(upstream = %upstream.name, target = %state.addr, check, reason = why, "target is healthy again");
    } else {
        tracing::warn!(upstream = %upstream.name, target = %state.addr, check, reason = why, "target marked unhealthy; it gets no traffic");
    }
}

/// The active health checker: one background service for every upstream of the current snapshot.
pub struct HealthChecker {
    state: Arc<ArcSwap<Runtime>>,
}

impl HealthChecker {
    /// A checker of whatever snapshot `state` holds at each tick.
    pub fn new(state: Arc<ArcSwap<Runtime>>) -> Self {
        Self { state }
    }
}

#[async_trait]
impl BackgroundService for HealthChecker {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let client = match reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(client) => client,
            Err(err) => {
                tracing::error!(error = %err, "cannot build the health-check client; active checks are off");
                return;
            }
        };
        // When each target (by upstream name and address) is next due.
        let mut due: HashMap<(String, SocketAddr), Instant> = HashMap::new();
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = ticker.tick() => {}
            }
            let runtime = self.state.load_full();
            let now = Instant::now();
            let mut seen = HashSet::new();
            for upstream in &runtime.upstreams {
                let active = &upstream.healthchecks.active;
                if !active.enabled() {
                    continue;
                }
                let mut batch = Vec::new();
                for (index, target) in upstream.balancer.targets().iter().enumerate() {
                    let key = (upstream.name.clone(), target.state.addr);
                    seen.insert(key.clone());
                    let interval = if target.state.is_healthy() {
                        active.healthy.interval
                    } else {
                        active.unhealthy.interval
                    };
                    if interval.is_zero() || target.state.probing.load(Ordering::Relaxed) {
                        continue;
                    }
                    let next = due.entry(key).or_insert(now);
                    if *next <= now {
                        *next = now + interval;
                        target.state.probing.store(true, Ordering::Relaxed);
                        batch.push(index);
                    }
                }
                if !batch.is_empty() {
                    tokio::spawn(probe_batch(client.clone(), upstream.clone(), batch));
                }
            }
            due.retain(|key, _| seen.contains(key));
        }
    }
}

/// Probes `targets` (indices into the upstream's balancer) with the upstream's concurrency.
async fn probe_batch(client: reqwest::Client, upstream: Arc<UpstreamRuntime>, targets: Vec<usize>) {
    let active = &upstream.healthchecks.active;
    let upstream_ref = &upstream;
    let client_ref = &client;
    futures::stream::iter(targets)
        .for_each_concurrent(active.concurrency, |index| async move {
            let target = &upstream_ref.balancer.targets()[index];
            let host = upstream_ref.host_headers.get(index);
            let outcome = match (active.kind, upstream_ref.probe_tls.as_deref()) {
                (ProbeKind::Https, Some(tls)) => {
                    https_probe(tls, active, target.state.addr, host).await
                }
                // No TLS client could be set up (logged when the snapshot was built).
                (ProbeKind::Https, None) => Some(Outcome::TcpFailure),
                _ => probe(client_ref, active, target.state.addr, host).await,
            };
            let state = &target.state;
            if let Some(outcome) = outcome
                && let Some(healthy) =
                    record(state, outcome, active.healthy.successes, &active.unhealthy)
            {
                log_transition(
                    upstream_ref,
                    state,
                    healthy,
                    "active",
                    &format!("{outcome:?}"),
                );
            }
            state.probing.store(false, Ordering::Relaxed);
        })
        .await;
}

/// One probe; `None` when its answer counts neither way.
async fn probe(
    client: &reqwest::Client,
    active: &ActiveHealthcheck,
    addr: SocketAddr,
    host: Option<&HeaderValue>,
) -> Option<Outcome> {
    match active.kind {
        ProbeKind::Tcp => {
            match tokio::time::timeout(active.timeout, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(_)) => Some(Outcome::Success),
                Ok(Err(_)) => Some(Outcome::TcpFailure),
                Err(_) => Some(Outcome::Timeout),
            }
        }
        ProbeKind::Http => {
            let mut request = client
                .get(format!("http://{addr}{}", active.http_path))
                .timeout(active.timeout);
            if let Some(host) = host {
                request = request.header(http::header::HOST, host.clone());
            }
            for (name, value) in &active.headers {
                request = request.header(name.as_str(), value.as_str());
            }
            match request.send().await {
                Ok(response) => judge_status(active, response.status().as_u16()),
                Err(err) if err.is_timeout() => Some(Outcome::Timeout),
                Err(_) => Some(Outcome::TcpFailure),
            }
        }
        ProbeKind::Https => unreachable!("BUG: https probes go through https_probe"),
    }
}

/// What a probe's answer status says: a failure, a success, or neither.
fn judge_status(active: &ActiveHealthcheck, status: u16) -> Option<Outcome> {
    if active.unhealthy.http_statuses.contains(&status) {
        Some(Outcome::HttpFailure)
    } else if active.healthy.http_statuses.contains(&status) {
        Some(Outcome::Success)
    } else {
        None
    }
}

/// The longest answer head an `https` probe reads.
const PROBE_HEAD_LIMIT: usize = 16 * 1024;

/// One `https` probe: TLS to `addr` (SNI and verified name: `https_sni`, else the target's host;
/// an IP literal is verified as an IP and sent no SNI), then `GET http_path` with `Connection:
/// close`; its status decides as for `http`. The whole probe is bounded by the probe timeout.
async fn https_probe(
    tls: &SslConnector,
    active: &ActiveHealthcheck,
    addr: SocketAddr,
    host: Option<&HeaderValue>,
) -> Option<Outcome> {
    use pingora::tls::tokio_ssl::SslStream;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let host = host.and_then(|value| value.to_str().ok());
    let ip = addr.ip().to_string();
    let host_name = host
        .and_then(|host| split_host_port(host, 0))
        .map(|(name, _)| name);
    let name = active
        .https_sni
        .as_deref()
        .or(host_name.as_deref())
        .unwrap_or(&ip);
    let attempt = async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|_| Outcome::TcpFailure)?;
        let ssl = tls
            .configure()
            .and_then(|config| config.into_ssl(name))
            .map_err(|_| Outcome::TcpFailure)?;
        let mut stream = SslStream::new(ssl, tcp).map_err(|_| Outcome::TcpFailure)?;
        std::pin::Pin::new(&mut stream)
            .connect()
            .await
            .map_err(|_| Outcome::TcpFailure)?;
        let mut request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: gateway-health-check\r\n",
            active.http_path,
            host.unwrap_or(&ip)
        );
        for (header, value) in &active.headers {
            request.push_str(&format!("{header}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|_| Outcome::TcpFailure)?;
        let mut head = Vec::with_capacity(1024);
        let mut buffer = [0u8; 4096];
        loop {
            if let Some(end) = head.windows(2).position(|pair| pair == b"\r\n") {
                return status_of(&head[..end]).ok_or(Outcome::TcpFailure);
            }
            let read = stream
                .read(&mut buffer)
                .await
                .map_err(|_| Outcome::TcpFailure)?;
            if read == 0 || head.len() + read > PROBE_HEAD_LIMIT {
                return Err(Outcome::TcpFailure);
            }
            head.extend_from_slice(&buffer[..read]);
        }
    };
    match tokio::time::timeout(active.timeout, attempt).await {
        Err(_) => Some(Outcome::Timeout),
        Ok(Err(outcome)) => Some(outcome),
        Ok(Ok(status)) => judge_status(active, status),
    }
}

/// The status of an HTTP/1.x status line (`HTTP/1.1 200 OK`).
fn status_of(line: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(line).ok()?;
    let (version, rest) = line.split_once(' ')?;
    let code = rest.get(..3)?;
    (version.starts_with("HTTP/1.") && code.bytes().all(|b| b.is_ascii_digit()))
        .then(|| code.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probed_name_is_the_host_without_its_port() {
        let name = |host: &str| split_host_port(host, 0).map(|(name, _)| name);
        assert_eq!(name("api.internal:8443").unwrap(), "api.internal");
        assert_eq!(name("api.internal").unwrap(), "api.internal");
        assert_eq!(name("[::1]:8443").unwrap(), "::1");
        assert_eq!(name("127.0.0.1:443").unwrap(), "127.0.0.1");
    }

    #[test]
    fn status_lines_give_their_status() {
        assert_eq!(status_of(b"HTTP/1.1 200 OK"), Some(200));
        assert_eq!(status_of(b"HTTP/1.0 503"), Some(503));
        assert_eq!(status_of(b"HTTP/1.1 2xx OK"), None);
        assert_eq!(status_of(b"SSH-2.0-OpenSSH"), None);
    }

    fn rule(http: u32, tcp: u32, timeouts: u32) -> UnhealthyRule {
        UnhealthyRule {
            interval: Duration::ZERO,
            http_statuses: vec![500],
            http_failures: http,
            tcp_failures: tcp,
            timeouts,
        }
    }

    fn target() -> TargetState {
        TargetState::new("127.0.0.1:1".parse().unwrap())
    }

    #[test]
    fn failures_in_a_row_mark_unhealthy_and_a_success_resets_the_count() {
        let state = target();
        let limits = rule(0, 3, 0);
        assert_eq!(record(&state, Outcome::TcpFailure, 2, &limits), None);
        assert_eq!(record(&state, Outcome::TcpFailure, 2, &limits), None);
        assert_eq!(record(&state, Outcome::Success, 2, &limits), None);
        assert_eq!(record(&state, Outcome::TcpFailure, 2, &limits), None);
        assert_eq!(record(&state, Outcome::TcpFailure, 2, &limits), None);
        assert!(state.is_healthy(), "the success broke the run");
        assert_eq!(record(&state, Outcome::TcpFailure, 2, &limits), Some(false));
        assert!(!state.is_healthy());
    }

    #[test]
    fn a_limit_of_zero_disables_that_kind_of_failure() {
        let state = target();
        let limits = rule(0, 1, 0);
        for _ in 0..10 {
            assert_eq!(record(&state, Outcome::Timeout, 1, &limits), None);
            assert_eq!(record(&state, Outcome::HttpFailure, 1, &limits), None);
        }
        assert!(state.is_healthy());
    }

    #[test]
    fn successes_in_a_row_heal_and_passive_checks_never_heal() {
        let state = target();
        let limits = rule(1, 0, 0);
        assert_eq!(
            record(&state, Outcome::HttpFailure, 2, &limits),
            Some(false)
        );
        assert_eq!(record(&state, Outcome::Success, 0, &limits), None);
        assert!(!state.is_healthy(), "successes: 0 (passive) never heals");
        assert_eq!(record(&state, Outcome::Success, 2, &limits), None);
        assert_eq!(record(&state, Outcome::TcpFailure, 2, &limits), None);
        assert_eq!(record(&state, Outcome::Success, 2, &limits), None);
        assert_eq!(record(&state, Outcome::Success, 2, &limits), Some(true));
        assert!(state.is_healthy());
    }

    #[test]
    fn reported_health_is_off_without_any_detector() {
        let state = target();
        assert_eq!(
            health_of(&state, &Healthchecks::default()),
            Health::HealthchecksOff
        );
        let mut checks = Healthchecks::default();
        checks.passive.unhealthy.tcp_failures = 1;
        assert_eq!(health_of(&state, &checks), Health::Healthy);
        state.healthy.store(false, Ordering::Relaxed);
        assert_eq!(health_of(&state, &checks), Health::Unhealthy);
    }
}
