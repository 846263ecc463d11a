//! The validated internal model: the only config type the rest of the crate sees. No serde, except
//! the document it came from ([`Config::source`], for the admin API's `GET /config`).
//!
//! References are resolved to indices (a route's service, a service's upstream); defaults are
//! applied; every value is in range. Built only by [`super::validate`].

use std::{net::SocketAddr, time::Duration};

pub use crate::balancer::Algorithm;
pub use crate::router::{PathHandling, PathPattern};

/// A whole, valid configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `_format_version` as written.
    pub format_version: String,
    /// Process settings (`_gateway`), fixed at start.
    pub gateway: GatewaySettings,
    /// Services in file order.
    pub services: Vec<Service>,
    /// Routes in file order (nested ones in place of their service, then top-level ones).
    pub routes: Vec<Route>,
    /// Upstreams in file order.
    pub upstreams: Vec<Upstream>,
    /// Plugin instances at every scope.
    pub plugins: Vec<Plugin>,
    /// The document as parsed (secrets included: redact before showing it).
    pub source: serde_yaml::Value,
}

/// `_gateway`: listeners and process settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    /// Proxy listener, default `0.0.0.0:8000`.
    pub proxy_listen: SocketAddr,
    /// Admin listener, default `127.0.0.1:8001`.
    pub admin_listen: SocketAddr,
    /// Worker threads of the proxy service, default: number of cores.
    pub threads: usize,
    /// Idle upstream connections kept in the pool, default 512 (Kong's).
    pub upstream_keepalive_pool_size: usize,
    /// How long an idle pooled upstream connection is kept (below the upstreams' keepalive).
    pub upstream_idle_timeout: Duration,
    /// Where access lines go (default stdout).
    pub access_log: crate::access_log::Destination,
    /// How often host names are resolved again (default 30 s; zero: only on reload).
    pub dns_refresh: Duration,
}

/// Where a service sends traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceTarget {
    /// `host` names an upstream: balance over its targets.
    Upstream(usize),
    /// A single `host:port`.
    Host {
        /// Host name or IP literal.
        host: String,
        /// Port.
        port: u16,
    },
}

/// A service.
#[derive(Debug, Clone)]
pub struct Service {
    /// Name (or a generated one when the file has none).
    pub name: String,
    /// `http` or `https` (https upstreams are refused: no TLS build).
    pub protocol: String,
    /// The host as written.
    pub host: String,
    /// The port as written (ignored for upstream services).
    pub port: u16,
    /// Upstream path prefix (`path`), if any.
    pub path: Option<String>,
    /// Resolved destination.
    pub target: ServiceTarget,
    /// Retries after the first try on connection failures (default 5).
    pub retries: u32,
    /// Connect timeout (default 60 s).
    pub connect_timeout: Duration,
    /// Time between two writes (default 60 s).
    pub write_timeout: Duration,
    /// Time between two reads (default 60 s).
    pub read_timeout: Duration,
    /// Disabled services' routes are left out of the router.
    pub enabled: bool,
}

/// A route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Name (or a generated one).
    pub name: String,
    /// The service index, if any (none → 503 `no Service found with those values`).
    pub service: Option<usize>,
    /// Paths, prefix or regex.
    pub paths: Vec<PathPattern>,
    /// Methods, upper case; empty = any.
    pub methods: Vec<String>,
    /// Hosts; empty = any.
    pub hosts: Vec<String>,
    /// Header name (lower case) → accepted values.
    pub headers: Vec<(String, Vec<String>)>,
    /// Remove the matched part before proxying (default true).
    pub strip_path: bool,
    /// Send the client's Host upstream (default false).
    pub preserve_host: bool,
    /// Priority among regex routes.
    pub regex_priority: i64,
    /// Path joining rules.
    pub path_handling: PathHandling,
}

/// An upstream (a named pool of weighted targets).
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Name, as services' `host` refers to it.
    pub name: String,
    /// Selection algorithm.
    pub algorithm: Algorithm,
    /// What consistent hashing hashes.
    pub hash_on: HashOn,
    /// Host header override.
    pub host_header: Option<String>,
    /// Targets in file order.
    pub targets: Vec<Target>,
    /// Active and passive health checks (Kong's `healthchecks`).
    pub healthchecks: Healthchecks,
}

/// An upstream's `healthchecks` with Kong's defaults applied (all detectors off by default).
#[derive(Debug, Clone, PartialEq)]
pub struct Healthchecks {
    /// Probes sent by the gateway.
    pub active: ActiveHealthcheck,
    /// Verdicts taken from real traffic (a circuit breaker: can only mark targets unhealthy).
    pub passive: PassiveHealthcheck,
    /// Percentage of healthy weight below which the whole upstream counts as down (0 = off).
    pub threshold: f64,
}

/// `healthchecks.active`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveHealthcheck {
    /// `http` probes `GET http_path`; `tcp` only connects.
    pub kind: ProbeKind,
    /// Path probed (`http`), default `/`.
    pub http_path: String,
    /// Per-probe timeout, default 1 s.
    pub timeout: Duration,
    /// Probes of one upstream in flight at once, default 10.
    pub concurrency: usize,
    /// Extra request headers of each probe.
    pub headers: Vec<(String, String)>,
    /// Probing of healthy targets: `interval` (zero = off), `successes` unused here.
    pub healthy: HealthyRule,
    /// Probing of unhealthy targets and what counts as failure.
    pub unhealthy: UnhealthyRule,
}

impl ActiveHealthcheck {
    /// Whether any target is ever probed.
    pub fn enabled(&self) -> bool {
        !self.healthy.interval.is_zero() || !self.unhealthy.interval.is_zero()
    }
}

/// What an active probe does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// An HTTP GET whose status decides.
    Http,
    /// A TCP connect.
    Tcp,
}

/// `healthchecks.passive`.
#[derive(Debug, Clone, PartialEq)]
pub struct PassiveHealthcheck {
    /// Statuses counted as successes (they reset the failure counters).
    pub healthy: HealthyRule,
    /// Statuses and errors counted as failures.
    pub unhealthy: UnhealthyRule,
}

impl PassiveHealthcheck {
    /// Whether any failure counter can mark a target unhealthy.
    pub fn enabled(&self) -> bool {
        self.unhealthy.http_failures > 0
            || self.unhealthy.tcp_failures > 0
            || self.unhealthy.timeouts > 0
    }
}

/// The `healthy` half of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthyRule {
    /// Active only: how often a healthy target is probed (zero = never).
    pub interval: Duration,
    /// Statuses that count as a success.
    pub http_statuses: Vec<u16>,
    /// Successes in a row that make an unhealthy target healthy (0 = never).
    pub successes: u32,
}

/// The `unhealthy` half of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnhealthyRule {
    /// Active only: how often an unhealthy target is probed (zero = never).
    pub interval: Duration,
    /// Statuses that count as an HTTP failure.
    pub http_statuses: Vec<u16>,
    /// HTTP failures that make a target unhealthy (0 = never).
    pub http_failures: u32,
    /// Connection failures that make a target unhealthy (0 = never).
    pub tcp_failures: u32,
    /// Timeouts that make a target unhealthy (0 = never).
    pub timeouts: u32,
}

/// What consistent hashing hashes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashOn {
    /// Nothing: behaves as round robin.
    None,
    /// The client IP.
    Ip,
    /// A request header.
    Header(String),
    /// A cookie.
    Cookie(String),
    /// The request path.
    Path,
    /// A query argument.
    QueryArg(String),
}

/// A target of an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or IP literal.
    pub host: String,
    /// Port (default 8000).
    pub port: u16,
    /// 0..=65535; 0 receives no traffic.
    pub weight: u32,
}

impl Target {
    /// `host:port`.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Where a plugin instance applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PluginScope {
    /// Every request.
    Global,
    /// Requests to one service (index).
    Service(usize),
    /// Requests matching one route (index).
    Route(usize),
}

/// A plugin instance.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// Where it applies.
    pub scope: PluginScope,
    /// Its typed configuration.
    pub config: PluginConfig,
}

impl Plugin {
    /// The plugin's name as in the file.
    pub fn name(&self) -> &'static str {
        self.config.name()
    }
}

/// Typed configuration of each plugin we implement.
#[derive(Debug, Clone)]
pub enum PluginConfig {
    /// `apikey-auth-plugin`.
    ApiKeyAuth(ApiKeyAuthConfig),
}

impl PluginConfig {
    /// The plugin's name as in the file.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ApiKeyAuth(_) => API_KEY_AUTH_PLUGIN,
        }
    }
}

/// Name of the API-key plugin (the seed's Go plugin).
pub const API_KEY_AUTH_PLUGIN: &str = "apikey-auth-plugin";

/// Every plugin this gateway implements (admin `GET /`).
pub const IMPLEMENTED_PLUGINS: &[&str] = &[API_KEY_AUTH_PLUGIN];

/// `apikey-auth-plugin` settings (spec gateway.md section 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyAuthConfig {
    /// Verification endpoints, used round robin with failover.
    pub verification_urls: Vec<VerificationUrl>,
    /// How long a positive verdict is reused (default 30 s).
    pub cache_ttl: Duration,
    /// How long a negative verdict is reused (default 5 s).
    pub negative_cache_ttl: Duration,
    /// Per-call timeout (default 2 s).
    pub timeout: Duration,
}

/// One parsed verification URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationUrl {
    /// The URL as written.
    pub url: String,
}
