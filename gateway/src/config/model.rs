//! The validated internal model: the only config type the rest of the crate sees. No serde, except
//! the document it came from ([`Config::source`], for the admin API's `GET /config`).
//!
//! References are resolved to indices (a route's service, a service's upstream); defaults are
//! applied; every value is in range. Built only by [`super::validate`].

use std::{fmt, net::SocketAddr, time::Duration};

pub use crate::{plugins::table::PluginConfig, secret::Secret};

pub use crate::balancer::Algorithm;
pub use crate::router::{PathHandling, PathPattern, RouteSpec};

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
    pub source: Document,
    /// Consumers in file order (key-auth identities).
    pub consumers: Vec<Consumer>,
    /// `keyauth_credentials`, nested and top level, in file order; keys are unique.
    pub keyauth_credentials: Vec<KeyAuthCredential>,
    /// `certificates` in file order, with every SNI that names them.
    pub certificates: Vec<Certificate>,
    /// Index in `certificates` of the one served to clients whose SNI names none
    /// (`_gateway.default_certificate`, else the first).
    pub default_certificate: Option<usize>,
    /// What is valid but probably not meant (an expired certificate): logged, not refused.
    pub warnings: Vec<super::ConfigError>,
}

/// How the gateway speaks TLS to an `https` service's targets (Kong's service TLS fields).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct UpstreamTls {
    /// Verify the upstream's certificate and name (`tls_verify`, default false as Kong).
    pub verify: bool,
    /// `tls_verify_depth` as written (accepted, not enforced: Pingora's connector has no setting).
    pub verify_depth: Option<u32>,
    /// PEMs of the `ca_certificates` the upstream's chain must reach; empty: the system's store.
    pub ca_certificates: Vec<String>,
    /// Index in `certificates` of the client certificate (mTLS).
    pub client_certificate: Option<usize>,
}

/// A certificate and its key (and an alternative pair of another key type), as PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// `id` as written, else derived from its position.
    pub id: String,
    /// The PEM chain: the leaf first, then intermediates.
    pub cert: String,
    /// The leaf's private key (PEM).
    pub key: Secret,
    /// A second chain and key of another key type (e.g. ECDSA beside RSA).
    pub alt: Option<(String, Secret)>,
    /// Lowercase SNIs it serves: exact names, `*.example.com` or `example.*`; unique in the file.
    pub snis: Vec<String>,
}

/// The parsed document a config came from. It holds secrets as written, so `Debug` shows none of
/// it; the admin API redacts it before showing it.
#[derive(Clone, Default)]
pub struct Document(pub serde_yaml::Value);

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Document { .. }")
    }
}

/// A consumer (Kong's `consumers[]`): who a key-auth credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// `id` as written, or a UUID derived from the username/custom_id (stable across reloads).
    pub id: String,
    /// `username`; at least one of `username` and `custom_id` is set.
    pub username: Option<String>,
    /// `custom_id`.
    pub custom_id: Option<String>,
}

/// A key-auth credential (Kong's `keyauth_credentials[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAuthCredential {
    /// `id` as written, or a UUID derived from its consumer and position (never from the key).
    pub id: String,
    /// Index in [`Config::consumers`].
    pub consumer: usize,
    /// The API key; redacted in `Debug`.
    pub key: Secret,
}

/// The environment variable that sets the admin token (it wins over `_gateway.admin_token`).
pub const ADMIN_TOKEN_ENV: &str = "GATEWAY_ADMIN_TOKEN";

/// `_gateway`: listeners and process settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    /// Proxy listener, default `0.0.0.0:8000`.
    pub proxy_listen: SocketAddr,
    /// TLS proxy listener (as Kong's `proxy_listen ... ssl`); none by default.
    pub proxy_listen_tls: Option<SocketAddr>,
    /// Admin listener, default `127.0.0.1:8001`.
    pub admin_listen: SocketAddr,
    /// The token every admin request must carry in `Kong-Admin-Token`: `GATEWAY_ADMIN_TOKEN`
    /// when set, else `_gateway.admin_token`; required when the admin listener is not loopback.
    pub admin_token: Option<Secret>,
    /// Worker threads of the proxy service, default: number of cores.
    pub threads: usize,
    /// Idle upstream connections kept in the pool, default 512 (Kong's); 0 turns upstream
    /// keepalive off, as in Kong.
    pub upstream_keepalive_pool_size: usize,
    /// How long an idle pooled upstream connection is kept (below the upstreams' keepalive).
    pub upstream_idle_timeout: Duration,
    /// How long a client may take to send the next piece of its request body (nginx's
    /// `client_body_timeout`, default 60 s); then it gets 408 and the target is not blamed.
    pub client_body_timeout: Duration,
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
    /// `http` or `https`.
    pub protocol: String,
    /// TLS to the upstream (`protocol: https`).
    pub tls: Option<UpstreamTls>,
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
    /// `protocols` has `https` and not `http`: a cleartext request is answered
    /// `https_redirect_status_code`.
    pub https_only: bool,
    /// 426 (`Please use HTTPS protocol`, Kong's default) or a redirect (301, 302, 307, 308).
    pub https_redirect_status_code: u16,
}

impl Route {
    /// The router's view of this route.
    pub fn spec(&self) -> RouteSpec {
        RouteSpec {
            paths: self.paths.clone(),
            methods: self.methods.clone(),
            hosts: self.hosts.clone(),
            headers: self.headers.clone(),
            regex_priority: self.regex_priority,
        }
    }
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

impl Healthchecks {
    /// Whether these checks can ever change a target's health.
    pub fn enabled(&self) -> bool {
        self.active.enabled() || self.passive.enabled()
    }
}

/// `healthchecks.active`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveHealthcheck {
    /// `http` and `https` probe `GET http_path`; `tcp` only connects.
    pub kind: ProbeKind,
    /// `https` probes: the SNI (and verified name) sent, else the target's host.
    pub https_sni: Option<String>,
    /// `https` probes: whether the target's certificate must verify (Kong's default: yes), against
    /// the system's CAs and the config's `ca_certificates`.
    pub https_verify_certificate: bool,
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
    /// The same over TLS.
    Https,
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
    /// `host:port`, an IPv6 literal in brackets (`[::1]:8080`).
    pub fn authority(&self) -> String {
        format!("{}:{}", url_host(&self.host), self.port)
    }
}

/// A host as it is written in a URL's authority and a `Host` header: an IPv6 literal (the only
/// host with a colon) in brackets, anything else as it is.
pub fn url_host(host: &str) -> std::borrow::Cow<'_, str> {
    if host.contains(':') {
        format!("[{host}]").into()
    } else {
        host.into()
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
