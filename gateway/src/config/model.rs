//! The validated internal model: the only config type the rest of the crate sees. No serde, except
//! the document it came from ([`Config::source`], for the admin API's `GET /config`).
//!
//! References are resolved to indices (a route's service, a service's upstream); defaults are
//! applied; every value is in range. Built only by [`super::validate`].

use std::{fmt, net::SocketAddr, time::Duration};

use ipnet::IpNet;

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

/// A secret from the file (a key, a password): kept as written, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself; for the code that uses it, never for logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
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
    /// `protocols` has `https` and not `http`: a cleartext request is answered
    /// `https_redirect_status_code`.
    pub https_only: bool,
    /// 426 (`Please use HTTPS protocol`, Kong's default) or a redirect (301, 302, 307, 308).
    pub https_redirect_status_code: u16,
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

/// Typed configuration of each plugin we implement.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginConfig {
    /// `correlation-id`.
    CorrelationId(CorrelationIdConfig),
    /// `cors`.
    Cors(CorsConfig),
    /// `key-auth`.
    KeyAuth(KeyAuthConfig),
    /// `apikey-auth-plugin`.
    ApiKeyAuth(ApiKeyAuthConfig),
    /// `ip-restriction`.
    IpRestriction(IpRestrictionConfig),
    /// `request-size-limiting`.
    RequestSizeLimiting(RequestSizeLimitingConfig),
    /// `rate-limiting`.
    RateLimiting(RateLimitingConfig),
}

impl PluginConfig {
    /// The plugin's name as in the file.
    pub fn name(&self) -> &'static str {
        match self {
            Self::CorrelationId(_) => CORRELATION_ID_PLUGIN,
            Self::Cors(_) => CORS_PLUGIN,
            Self::KeyAuth(_) => KEY_AUTH_PLUGIN,
            Self::ApiKeyAuth(_) => API_KEY_AUTH_PLUGIN,
            Self::IpRestriction(_) => IP_RESTRICTION_PLUGIN,
            Self::RequestSizeLimiting(_) => REQUEST_SIZE_LIMITING_PLUGIN,
            Self::RateLimiting(_) => RATE_LIMITING_PLUGIN,
        }
    }
}

/// Name of the API-key plugin (the seed's Go plugin).
pub const API_KEY_AUTH_PLUGIN: &str = "apikey-auth-plugin";
/// Kong's `correlation-id`.
pub const CORRELATION_ID_PLUGIN: &str = "correlation-id";
/// Kong's `cors`.
pub const CORS_PLUGIN: &str = "cors";
/// Kong's `key-auth`.
pub const KEY_AUTH_PLUGIN: &str = "key-auth";
/// Kong's `ip-restriction`.
pub const IP_RESTRICTION_PLUGIN: &str = "ip-restriction";
/// Kong's `request-size-limiting`.
pub const REQUEST_SIZE_LIMITING_PLUGIN: &str = "request-size-limiting";
/// Kong's `rate-limiting`.
pub const RATE_LIMITING_PLUGIN: &str = "rate-limiting";

/// Every plugin name the gateway implements, in execution order (Kong's priorities).
pub const PLUGIN_NAMES: [&str; 7] = [
    CORRELATION_ID_PLUGIN,
    CORS_PLUGIN,
    KEY_AUTH_PLUGIN,
    API_KEY_AUTH_PLUGIN,
    IP_RESTRICTION_PLUGIN,
    REQUEST_SIZE_LIMITING_PLUGIN,
    RATE_LIMITING_PLUGIN,
];

/// `correlation-id` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationIdConfig {
    /// The header that carries the id (default `Kong-Request-ID`), lower case.
    pub header_name: String,
    /// How a missing id is made.
    pub generator: CorrelationIdGenerator,
    /// Also send the id back to the client (default false).
    pub echo_downstream: bool,
}

/// `correlation-id` `generator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationIdGenerator {
    /// A random UUID per request.
    Uuid,
    /// `<uuid>#<counter>`: one UUID per plugin instance and a counter (Kong's default).
    UuidCounter,
}

/// `cors` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsConfig {
    /// Allowed origins: `*`, exact origins or regexes; empty allows all.
    pub origins: Vec<String>,
    /// `Access-Control-Allow-Methods` of a preflight (Kong's list by default).
    pub methods: Vec<String>,
    /// `Access-Control-Allow-Headers`; empty echoes `Access-Control-Request-Headers`.
    pub headers: Vec<String>,
    /// `Access-Control-Expose-Headers`.
    pub exposed_headers: Vec<String>,
    /// `Access-Control-Allow-Credentials: true` (default false).
    pub credentials: bool,
    /// `Access-Control-Max-Age` in seconds.
    pub max_age: Option<u64>,
    /// Let preflights through to the upstream instead of answering them (default false).
    pub preflight_continue: bool,
    /// Answer `Access-Control-Request-Private-Network` (default false).
    pub private_network: bool,
    /// Add the CORS headers to responses to requests without `Origin` (default true).
    pub allow_origin_absent: bool,
}

/// `key-auth` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAuthConfig {
    /// Header / query-argument names that carry the key (default `[apikey]`), lower case.
    pub key_names: Vec<String>,
    /// Look in the headers (default true).
    pub key_in_header: bool,
    /// Look in the query string (default true).
    pub key_in_query: bool,
    /// Remove the key from the upstream request (default false).
    pub hide_credentials: bool,
    /// Consumer (index in [`Config::consumers`]) used when authentication fails, instead of 401.
    pub anonymous: Option<usize>,
    /// Authenticate `OPTIONS` requests too (default true).
    pub run_on_preflight: bool,
    /// `realm` of `WWW-Authenticate: Key realm="…"` (default `kong`).
    pub realm: String,
}

/// `ip-restriction` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRestrictionConfig {
    /// Allowed networks; empty = everyone not denied.
    pub allow: Vec<IpNet>,
    /// Denied networks, checked first.
    pub deny: Vec<IpNet>,
    /// Status of a refusal (default 403).
    pub status: u16,
    /// Message of a refusal (default `IP address not allowed: <client ip>`).
    pub message: Option<String>,
}

/// `request-size-limiting` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSizeLimitingConfig {
    /// `allowed_payload_size` in `size_unit`s (default 128).
    pub allowed_payload_size: u64,
    /// `size_unit` (default megabytes).
    pub size_unit: SizeUnit,
    /// Refuse requests without `Content-Length` with 411 (default false).
    pub require_content_length: bool,
}

impl RequestSizeLimitingConfig {
    /// The limit in bytes (validation made sure it fits).
    pub fn limit_bytes(&self) -> u64 {
        self.allowed_payload_size
            .saturating_mul(self.size_unit.bytes())
    }
}

/// `size_unit` of `request-size-limiting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeUnit {
    /// 1.
    Bytes,
    /// 1024.
    Kilobytes,
    /// 1024 × 1024.
    Megabytes,
}

impl SizeUnit {
    /// Bytes per unit.
    pub fn bytes(self) -> u64 {
        match self {
            Self::Bytes => 1,
            Self::Kilobytes => 1024,
            Self::Megabytes => 1024 * 1024,
        }
    }
}

/// `rate-limiting` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitingConfig {
    /// The configured windows and their limits, shortest window first.
    pub limits: Vec<(RateWindow, u32)>,
    /// Whose requests are counted together.
    pub limit_by: LimitBy,
    /// Where the counters live.
    pub policy: RateLimitPolicy,
    /// When the counter store fails: true lets requests through, false answers 500 (default true).
    pub fault_tolerant: bool,
    /// Do not send the rate-limit headers (default false).
    pub hide_client_headers: bool,
    /// Status of a refusal (default 429).
    pub error_code: u16,
    /// Message of a refusal (default `API rate limit exceeded`).
    pub error_message: String,
}

/// A rate-limiting window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RateWindow {
    /// One second.
    Second,
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One day.
    Day,
    /// A calendar month (30 days for the local policy).
    Month,
    /// A calendar year (365 days for the local policy).
    Year,
}

impl RateWindow {
    /// All windows, shortest first.
    pub const ALL: [Self; 6] = [
        Self::Second,
        Self::Minute,
        Self::Hour,
        Self::Day,
        Self::Month,
        Self::Year,
    ];

    /// The config field and Kong's counter-key period name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Second => "second",
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Month => "month",
            Self::Year => "year",
        }
    }

    /// Nominal length in seconds (Kong's `EXPIRATION` table: a month is 30 days, a year 365).
    pub fn seconds(self) -> u64 {
        match self {
            Self::Second => 1,
            Self::Minute => 60,
            Self::Hour => 3_600,
            Self::Day => 86_400,
            Self::Month => 2_592_000,
            Self::Year => 31_536_000,
        }
    }
}

/// `limit_by` of `rate-limiting`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitBy {
    /// The authenticated consumer, else the credential, else the client IP (Kong's default).
    Consumer,
    /// The authenticated credential, else the client IP.
    Credential,
    /// The client IP.
    Ip,
    /// The service (everyone together).
    Service,
    /// The value of a request header (lower-case name), else the client IP.
    Header(String),
    /// The request path when it equals this one, else the client IP.
    Path(String),
}

/// `policy` of `rate-limiting`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateLimitPolicy {
    /// Counters in this process (governor).
    Local,
    /// Fixed-window counters in Redis, shared by every gateway process using it.
    Redis(RedisSettings),
}

/// Where the `redis` policy keeps its counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// Host name or IP.
    pub host: String,
    /// Port (default 6379).
    pub port: u16,
    /// ACL user name.
    pub username: Option<String>,
    /// Password; redacted in `Debug`.
    pub password: Option<Secret>,
    /// Database number (default 0).
    pub database: i64,
    /// Deadline of one counter update, connecting included (default 2000 ms).
    pub timeout: Duration,
}

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
