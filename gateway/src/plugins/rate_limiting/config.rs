//! `rate-limiting`'s `config` block: Kong's fields (the nested `redis` block and the flat `redis_*`
//! fields of older files), its defaults, and the typed [`RateLimitingConfig`].

use std::time::Duration;

use serde::Deserialize;
use serde_yaml::Value;

use crate::{secret::Secret, validator::Validator};

/// Kong's default `rate-limiting` refusal message.
const DEFAULT_RATE_LIMIT_MESSAGE: &str = "API rate limit exceeded";

/// Kong's default Redis timeout (ms).
const DEFAULT_REDIS_TIMEOUT_MS: u64 = 2000;

/// `config` of `rate-limiting`: Kong 3.x's fields, the flat `redis_*` ones and the nested `redis`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimitingConfig {
    second: Option<i64>,
    minute: Option<i64>,
    hour: Option<i64>,
    day: Option<i64>,
    month: Option<i64>,
    year: Option<i64>,
    limit_by: Option<String>,
    header_name: Option<String>,
    path: Option<String>,
    policy: Option<String>,
    fault_tolerant: Option<bool>,
    hide_client_headers: Option<bool>,
    error_code: Option<u16>,
    error_message: Option<String>,
    sync_rate: Option<f64>,
    redis_host: Option<String>,
    redis_port: Option<u16>,
    redis_username: Option<String>,
    redis_password: Option<Secret>,
    redis_database: Option<i64>,
    redis_timeout: Option<u64>,
    redis_ssl: Option<bool>,
    /// Accepted and unused: TLS to Redis is refused (`ssl`).
    #[serde(rename = "redis_ssl_verify")]
    _redis_ssl_verify: Option<bool>,
    /// Accepted and unused, as `redis_ssl_verify`.
    #[serde(rename = "redis_server_name")]
    _redis_server_name: Option<String>,
    redis: Option<RawRedisConfig>,
}

/// `config.redis` of `rate-limiting` (Kong 3.x's shared Redis block).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedisConfig {
    host: Option<String>,
    port: Option<u16>,
    username: Option<String>,
    password: Option<Secret>,
    database: Option<i64>,
    timeout: Option<u64>,
    connect_timeout: Option<u64>,
    send_timeout: Option<u64>,
    read_timeout: Option<u64>,
    ssl: Option<bool>,
    /// Accepted and unused: TLS to Redis is refused (`ssl`).
    #[serde(rename = "ssl_verify")]
    _ssl_verify: Option<bool>,
    /// Accepted and unused, as `ssl_verify`.
    #[serde(rename = "server_name")]
    _server_name: Option<String>,
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

impl Validator {
    pub(super) fn rate_limiting_config(
        &mut self,
        value: &Value,
        path: &str,
    ) -> Option<RateLimitingConfig> {
        let raw = self.de::<RawRateLimitingConfig>(value, path)?;
        let errors_before = self.errors.len();
        let limits = self.rate_limits(&raw, path);
        let limit_by = self.limit_by(&raw, path);
        if let Some(rate) = raw.sync_rate
            && rate != -1.0
        {
            self.error(
                format!("{path}.sync_rate"),
                "only -1 (counters updated on every request) is supported",
            );
        }
        let policy = self.policy(&raw, path);
        let error_code = raw.error_code.unwrap_or(429);
        self.status(error_code, &format!("{path}.error_code"));
        (self.errors.len() == errors_before).then(|| RateLimitingConfig {
            limits,
            limit_by,
            policy,
            fault_tolerant: raw.fault_tolerant.unwrap_or(true),
            hide_client_headers: raw.hide_client_headers.unwrap_or(false),
            error_code,
            error_message: raw
                .error_message
                .unwrap_or_else(|| DEFAULT_RATE_LIMIT_MESSAGE.to_owned()),
        })
    }

    /// The configured windows with their limits, shortest first; at least one, and a longer
    /// window never allows fewer requests than a shorter one (Kong).
    fn rate_limits(&mut self, raw: &RawRateLimitingConfig, path: &str) -> Vec<(RateWindow, u32)> {
        let errors_before = self.errors.len();
        let mut limits: Vec<(RateWindow, u32)> = Vec::new();
        let configured = [
            raw.second, raw.minute, raw.hour, raw.day, raw.month, raw.year,
        ];
        for (window, value) in RateWindow::ALL.into_iter().zip(configured) {
            let Some(value) = value else { continue };
            match u32::try_from(value) {
                Ok(limit) if limit > 0 => limits.push((window, limit)),
                _ if value <= 0 => self.error(
                    format!("{path}.{}", window.name()),
                    format!("must be greater than 0, got {value}"),
                ),
                _ => self.error(
                    format!("{path}.{}", window.name()),
                    format!("{value} is too large (at most {})", u32::MAX),
                ),
            }
        }
        if limits.is_empty() && self.errors.len() == errors_before {
            self.error(
                path.to_owned(),
                "at least one of second, minute, hour, day, month or year must be set",
            );
        }
        // Kong: a longer window may not allow fewer requests than a shorter one.
        for pair in limits.windows(2) {
            let ((shorter, short_limit), (longer, long_limit)) = (pair[0], pair[1]);
            if long_limit < short_limit {
                self.error(
                    format!("{path}.{}", longer.name()),
                    format!(
                        "the limit for {} ({long_limit}) cannot be lower than the limit for {} ({short_limit})",
                        longer.name(),
                        shorter.name()
                    ),
                );
            }
        }
        limits
    }

    /// `limit_by`, with the `header_name` or `path` it needs.
    fn limit_by(&mut self, raw: &RawRateLimitingConfig, path: &str) -> LimitBy {
        match raw.limit_by.as_deref() {
            None | Some("consumer") => LimitBy::Consumer,
            Some("credential") => LimitBy::Credential,
            Some("ip") => LimitBy::Ip,
            Some("service") => LimitBy::Service,
            Some("header") => match raw.header_name.as_deref() {
                Some(name) => LimitBy::Header(
                    self.header_name(name, &format!("{path}.header_name"))
                        .unwrap_or_default(),
                ),
                None => {
                    self.error(
                        format!("{path}.header_name"),
                        "required when limit_by is header",
                    );
                    LimitBy::Ip
                }
            },
            Some("path") => match raw.path.as_deref() {
                Some(p) if p.starts_with('/') => LimitBy::Path(p.to_owned()),
                Some(p) => {
                    self.error(
                        format!("{path}.path"),
                        format!("invalid path {p:?}: must start with /"),
                    );
                    LimitBy::Ip
                }
                None => {
                    self.error(format!("{path}.path"), "required when limit_by is path");
                    LimitBy::Ip
                }
            },
            Some(other) => {
                self.error(
                    format!("{path}.limit_by"),
                    format!(
                        "expected one of: consumer, credential, ip, service, header, path, got {other:?}"
                    ),
                );
                LimitBy::Ip
            }
        }
    }

    /// `policy`: local counters, or Redis with its settings.
    fn policy(&mut self, raw: &RawRateLimitingConfig, path: &str) -> RateLimitPolicy {
        match raw.policy.as_deref() {
            None | Some("local") => RateLimitPolicy::Local,
            Some("redis") => self
                .redis_settings(raw, path)
                .map_or(RateLimitPolicy::Local, RateLimitPolicy::Redis),
            Some("cluster") => {
                self.error(
                    format!("{path}.policy"),
                    "policy \"cluster\" needs Kong's database: use local or redis",
                );
                RateLimitPolicy::Local
            }
            Some(other) => {
                self.error(
                    format!("{path}.policy"),
                    format!("expected one of: local, redis, got {other:?}"),
                );
                RateLimitPolicy::Local
            }
        }
    }

    /// Redis settings from the nested `redis` block and/or the flat `redis_*` fields (Kong keeps
    /// both forms; a file exported by Kong 3.x may carry both with equal values).
    fn redis_settings(&mut self, raw: &RawRateLimitingConfig, path: &str) -> Option<RedisSettings> {
        let errors_before = self.errors.len();
        let empty = RawRedisConfig::default();
        let nested = raw.redis.as_ref().unwrap_or(&empty);
        let host = self.merge(path, "host", raw.redis_host.clone(), nested.host.clone());
        let port = self.merge(path, "port", raw.redis_port, nested.port);
        let username = self.merge(
            path,
            "username",
            raw.redis_username.clone(),
            nested.username.clone(),
        );
        let password = self.merge(
            path,
            "password",
            raw.redis_password.as_ref().map(|p| p.expose().to_owned()),
            nested.password.as_ref().map(|p| p.expose().to_owned()),
        );
        let database = self.merge(path, "database", raw.redis_database, nested.database);
        let timeout = self.merge(path, "timeout", raw.redis_timeout, nested.timeout);
        let ssl = self.merge(path, "ssl", raw.redis_ssl, nested.ssl);
        if ssl == Some(true) {
            self.error(
                format!("{path}.redis.ssl"),
                "TLS to Redis is not supported by this build",
            );
        }
        let Some(host) = host.filter(|host| !host.is_empty()) else {
            self.error(
                format!("{path}.redis.host"),
                "required when policy is redis (redis.host or redis_host)",
            );
            return None;
        };
        let port = port.unwrap_or(6379);
        if port == 0 {
            self.error(format!("{path}.redis.port"), "must be between 1 and 65535");
        }
        let database = database.unwrap_or(0);
        if database < 0 {
            self.error(
                format!("{path}.redis.database"),
                format!("must be 0 or more, got {database}"),
            );
        }
        // One deadline per counter update: `timeout`, else the longest of Kong 3.x's split
        // timeouts, else Kong's 2000 ms.
        let split = [
            nested.connect_timeout,
            nested.send_timeout,
            nested.read_timeout,
        ]
        .into_iter()
        .flatten()
        .max();
        let timeout_ms = timeout.or(split).unwrap_or(DEFAULT_REDIS_TIMEOUT_MS);
        if timeout_ms == 0 {
            self.error(format!("{path}.redis.timeout"), "must be at least 1");
        }
        (self.errors.len() == errors_before).then(|| RedisSettings {
            host,
            port,
            username: username.filter(|name| !name.is_empty()),
            password: password.filter(|p| !p.is_empty()).map(Secret::new),
            database,
            timeout: Duration::from_millis(timeout_ms),
        })
    }

    /// `redis_<field>` and `redis.<field>`: either, or both when equal.
    fn merge<T: PartialEq>(
        &mut self,
        path: &str,
        field: &str,
        flat: Option<T>,
        nested: Option<T>,
    ) -> Option<T> {
        match (flat, nested) {
            (Some(flat), Some(nested)) if flat != nested => {
                self.error(
                    format!("{path}.redis_{field}"),
                    format!("conflicts with {path}.redis.{field}: set one of them"),
                );
                None
            }
            (flat, nested) => nested.or(flat),
        }
    }
}
