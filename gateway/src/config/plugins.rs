//! Each plugin's `config` block → its typed model config, with Kong 3.x's defaults. Unknown fields
//! and invalid values are reported with their full path (`plugins[0].config.minute`); a config with
//! any problem yields `None`.

use std::{collections::HashMap, net::IpAddr, time::Duration};

use ipnet::IpNet;
use serde_yaml::Value;

use super::{
    model::{
        API_KEY_AUTH_PLUGIN, ApiKeyAuthConfig, CORRELATION_ID_PLUGIN, CORS_PLUGIN,
        CorrelationIdConfig, CorrelationIdGenerator, CorsConfig, IP_RESTRICTION_PLUGIN,
        IpRestrictionConfig, KEY_AUTH_PLUGIN, KeyAuthConfig, LimitBy, PLUGIN_NAMES, PluginConfig,
        RATE_LIMITING_PLUGIN, REQUEST_SIZE_LIMITING_PLUGIN, RateLimitPolicy, RateLimitingConfig,
        RateWindow, RedisSettings, RequestSizeLimitingConfig, Secret, SizeUnit, VerificationUrl,
    },
    raw::{
        RawApiKeyAuthConfig, RawCorrelationIdConfig, RawCorsConfig, RawIpRestrictionConfig,
        RawKeyAuthConfig, RawRateLimitingConfig, RawRedisConfig, RawRequestSizeLimitingConfig,
    },
    validate::{Validator, parse_url},
};

/// Kong's default `cors` methods.
const CORS_METHODS: [&str; 9] = [
    "GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT",
];
/// Kong's default `correlation-id` header.
const DEFAULT_CORRELATION_HEADER: &str = "Kong-Request-ID";
/// Kong's default `rate-limiting` refusal message.
const DEFAULT_RATE_LIMIT_MESSAGE: &str = "API rate limit exceeded";
/// Kong's default Redis timeout (ms).
const DEFAULT_REDIS_TIMEOUT_MS: u64 = 2000;

impl Validator {
    /// The typed config of plugin `name` (`config` at `path`, the name at `name_path`);
    /// `consumers` resolves key-auth's `anonymous`.
    pub(super) fn plugin_config(
        &mut self,
        name: &str,
        value: &Value,
        path: &str,
        name_path: &str,
        consumers: &HashMap<String, usize>,
    ) -> Option<PluginConfig> {
        match name {
            CORRELATION_ID_PLUGIN => self
                .correlation_id_config(value, path)
                .map(PluginConfig::CorrelationId),
            CORS_PLUGIN => self.cors_config(value, path).map(PluginConfig::Cors),
            KEY_AUTH_PLUGIN => self
                .key_auth_config(value, path, consumers)
                .map(PluginConfig::KeyAuth),
            API_KEY_AUTH_PLUGIN => self
                .api_key_config(value, path)
                .map(PluginConfig::ApiKeyAuth),
            IP_RESTRICTION_PLUGIN => self
                .ip_restriction_config(value, path)
                .map(PluginConfig::IpRestriction),
            REQUEST_SIZE_LIMITING_PLUGIN => self
                .request_size_config(value, path)
                .map(PluginConfig::RequestSizeLimiting),
            RATE_LIMITING_PLUGIN => self
                .rate_limiting_config(value, path)
                .map(PluginConfig::RateLimiting),
            "" => {
                self.error(name_path, "required field missing");
                None
            }
            other => {
                self.error(
                    name_path,
                    format!(
                        "unknown plugin {other:?}: this gateway implements {}",
                        PLUGIN_NAMES.join(", ")
                    ),
                );
                None
            }
        }
    }

    fn api_key_config(&mut self, value: &Value, path: &str) -> Option<ApiKeyAuthConfig> {
        let raw = self.de::<RawApiKeyAuthConfig>(value, path)?;
        let urls = raw.verification_urls.unwrap_or_default();
        if urls.is_empty() {
            self.error(
                format!("{path}.verification_urls"),
                "needs at least one URL",
            );
            return None;
        }
        let errors_before = self.errors.len();
        let mut verification_urls = Vec::new();
        for (i, url) in urls.into_iter().enumerate() {
            match parse_url(&url) {
                Some(parts) if parts.scheme == "http" => {
                    verification_urls.push(VerificationUrl { url })
                }
                _ => self.error(
                    format!("{path}.verification_urls[{i}]"),
                    format!("invalid URL {url:?}: expected http://host[:port]/path"),
                ),
            }
        }
        if raw.timeout == Some(0) {
            self.error(format!("{path}.timeout"), "must be at least 1");
        }
        (self.errors.len() == errors_before).then(|| ApiKeyAuthConfig {
            verification_urls,
            cache_ttl: Duration::from_secs(raw.cache_ttl.unwrap_or(30)),
            negative_cache_ttl: Duration::from_secs(raw.negative_cache_ttl.unwrap_or(5)),
            timeout: Duration::from_millis(raw.timeout.unwrap_or(2000)),
        })
    }

    fn correlation_id_config(&mut self, value: &Value, path: &str) -> Option<CorrelationIdConfig> {
        let raw = self.de::<RawCorrelationIdConfig>(value, path)?;
        let errors_before = self.errors.len();
        let header_name = self.header_name(
            raw.header_name
                .as_deref()
                .unwrap_or(DEFAULT_CORRELATION_HEADER),
            &format!("{path}.header_name"),
        );
        let generator = match raw.generator.as_deref() {
            None | Some("uuid#counter") => CorrelationIdGenerator::UuidCounter,
            Some("uuid") => CorrelationIdGenerator::Uuid,
            Some("tracker") => {
                self.error(
                    format!("{path}.generator"),
                    "generator \"tracker\" is not supported: use uuid or uuid#counter",
                );
                CorrelationIdGenerator::Uuid
            }
            Some(other) => {
                self.error(
                    format!("{path}.generator"),
                    format!("unknown generator {other:?}: expected uuid or uuid#counter"),
                );
                CorrelationIdGenerator::Uuid
            }
        };
        (self.errors.len() == errors_before).then(|| CorrelationIdConfig {
            header_name: header_name.unwrap_or_default(),
            generator,
            echo_downstream: raw.echo_downstream.unwrap_or(false),
        })
    }

    fn cors_config(&mut self, value: &Value, path: &str) -> Option<CorsConfig> {
        let raw = self.de::<RawCorsConfig>(value, path)?;
        let errors_before = self.errors.len();
        let origins = raw.origins.unwrap_or_default();
        for (i, origin) in origins.iter().enumerate() {
            if origin != "*" && regex::Regex::new(&format!("^(?:{origin})$")).is_err() {
                self.error(
                    format!("{path}.origins[{i}]"),
                    format!("{origin:?} is not a valid regex"),
                );
            }
        }
        let methods = match raw.methods {
            Some(methods) => {
                for (i, method) in methods.iter().enumerate() {
                    if !CORS_METHODS.contains(&method.as_str()) {
                        self.error(
                            format!("{path}.methods[{i}]"),
                            format!(
                                "expected one of: {}, got {method:?}",
                                CORS_METHODS.join(", ")
                            ),
                        );
                    }
                }
                methods
            }
            None => CORS_METHODS.iter().map(|m| (*m).to_owned()).collect(),
        };
        let headers = raw.headers.unwrap_or_default();
        let exposed_headers = raw.exposed_headers.unwrap_or_default();
        for (field, values) in [("headers", &headers), ("exposed_headers", &exposed_headers)] {
            for (i, value) in values.iter().enumerate() {
                if http::HeaderValue::from_str(value).is_err() || value.contains(',') {
                    self.error(
                        format!("{path}.{field}[{i}]"),
                        format!("{value:?} is not a valid header name"),
                    );
                }
            }
        }
        (self.errors.len() == errors_before).then(|| CorsConfig {
            origins,
            methods,
            headers,
            exposed_headers,
            credentials: raw.credentials.unwrap_or(false),
            max_age: raw.max_age,
            preflight_continue: raw.preflight_continue.unwrap_or(false),
            private_network: raw.private_network.unwrap_or(false),
            allow_origin_absent: raw.allow_origin_absent.unwrap_or(true),
        })
    }

    fn key_auth_config(
        &mut self,
        value: &Value,
        path: &str,
        consumers: &HashMap<String, usize>,
    ) -> Option<KeyAuthConfig> {
        let raw = self.de::<RawKeyAuthConfig>(value, path)?;
        let errors_before = self.errors.len();
        let names = raw.key_names.unwrap_or_else(|| vec!["apikey".to_owned()]);
        if names.is_empty() {
            self.error(format!("{path}.key_names"), "needs at least one name");
        }
        let key_names: Vec<String> = names
            .iter()
            .enumerate()
            .filter_map(|(i, name)| self.header_name(name, &format!("{path}.key_names[{i}]")))
            .collect();
        if raw.key_in_body == Some(true) {
            self.error(
                format!("{path}.key_in_body"),
                "key_in_body is not supported: send the key in a header or the query string",
            );
        }
        let anonymous = match raw.anonymous.as_deref() {
            None | Some("") => None,
            Some(name) => match consumers.get(name) {
                Some(index) => Some(*index),
                None => {
                    self.error(
                        format!("{path}.anonymous"),
                        format!("unknown consumer {name:?}: expected a consumer's username or id"),
                    );
                    None
                }
            },
        };
        let realm = raw.realm.unwrap_or_else(|| "kong".to_owned());
        if realm.contains('"') || http::HeaderValue::from_str(&realm).is_err() {
            self.error(
                format!("{path}.realm"),
                "must be printable text without double quotes",
            );
        }
        (self.errors.len() == errors_before).then(|| KeyAuthConfig {
            key_names,
            key_in_header: raw.key_in_header.unwrap_or(true),
            key_in_query: raw.key_in_query.unwrap_or(true),
            hide_credentials: raw.hide_credentials.unwrap_or(false),
            anonymous,
            run_on_preflight: raw.run_on_preflight.unwrap_or(true),
            realm,
        })
    }

    fn ip_restriction_config(&mut self, value: &Value, path: &str) -> Option<IpRestrictionConfig> {
        let raw = self.de::<RawIpRestrictionConfig>(value, path)?;
        let errors_before = self.errors.len();
        let allow = self.networks(raw.allow.unwrap_or_default(), &format!("{path}.allow"));
        let deny = self.networks(raw.deny.unwrap_or_default(), &format!("{path}.deny"));
        if self.errors.len() == errors_before && allow.is_empty() && deny.is_empty() {
            self.error(
                path.to_owned(),
                "at least one of allow or deny must be non-empty",
            );
        }
        let status = raw.status.unwrap_or(403);
        self.status(status, &format!("{path}.status"));
        (self.errors.len() == errors_before).then_some(IpRestrictionConfig {
            allow,
            deny,
            status,
            message: raw.message,
        })
    }

    /// IPs and CIDRs (v4 and v6); a bare IP is a single-address network.
    fn networks(&mut self, raw: Vec<String>, path: &str) -> Vec<IpNet> {
        let mut networks = Vec::new();
        for (i, text) in raw.iter().enumerate() {
            let parsed = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from));
            match parsed {
                Ok(network) => networks.push(network.trunc()),
                Err(_) => self.error(
                    format!("{path}[{i}]"),
                    format!("invalid ip or cidr range: {text:?}"),
                ),
            }
        }
        networks
    }

    fn request_size_config(
        &mut self,
        value: &Value,
        path: &str,
    ) -> Option<RequestSizeLimitingConfig> {
        let raw = self.de::<RawRequestSizeLimitingConfig>(value, path)?;
        let errors_before = self.errors.len();
        let size_unit = match raw.size_unit.as_deref() {
            None | Some("megabytes") => SizeUnit::Megabytes,
            Some("kilobytes") => SizeUnit::Kilobytes,
            Some("bytes") => SizeUnit::Bytes,
            Some(other) => {
                self.error(
                    format!("{path}.size_unit"),
                    format!("expected one of: megabytes, kilobytes, bytes, got {other:?}"),
                );
                SizeUnit::Megabytes
            }
        };
        let allowed_payload_size = raw.allowed_payload_size.unwrap_or(128);
        if allowed_payload_size
            .checked_mul(size_unit.bytes())
            .is_none()
        {
            self.error(
                format!("{path}.allowed_payload_size"),
                format!("{allowed_payload_size} {size_unit:?} is too large"),
            );
        }
        (self.errors.len() == errors_before).then(|| RequestSizeLimitingConfig {
            allowed_payload_size,
            size_unit,
            require_content_length: raw.require_content_length.unwrap_or(false),
        })
    }

    fn rate_limiting_config(&mut self, value: &Value, path: &str) -> Option<RateLimitingConfig> {
        let raw = self.de::<RawRateLimitingConfig>(value, path)?;
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
        let limit_by = match raw.limit_by.as_deref() {
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
        };
        if let Some(rate) = raw.sync_rate
            && rate != -1.0
        {
            self.error(
                format!("{path}.sync_rate"),
                "only -1 (counters updated on every request) is supported",
            );
        }
        let policy = match raw.policy.as_deref() {
            None | Some("local") => RateLimitPolicy::Local,
            Some("redis") => self
                .redis_settings(&raw, path)
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
        };
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

    /// Redis settings from the nested `redis` block and/or the flat `redis_*` fields (Kong keeps
    /// both forms; a file exported by Kong 3.x may carry both with equal values).
    fn redis_settings(&mut self, raw: &RawRateLimitingConfig, path: &str) -> Option<RedisSettings> {
        let errors_before = self.errors.len();
        let empty = RawRedisConfig {
            host: None,
            port: None,
            username: None,
            password: None,
            database: None,
            timeout: None,
            connect_timeout: None,
            send_timeout: None,
            read_timeout: None,
            ssl: None,
            ssl_verify: None,
            server_name: None,
        };
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
            raw.redis_password.as_ref().map(|p| p.0.clone()),
            nested.password.as_ref().map(|p| p.0.clone()),
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

    /// A header name (an HTTP token), lower-cased.
    fn header_name(&mut self, raw: &str, path: &str) -> Option<String> {
        match http::HeaderName::from_bytes(raw.as_bytes()) {
            Ok(name) => Some(name.as_str().to_owned()),
            Err(_) => {
                self.error(path, format!("{raw:?} is not a valid header name"));
                None
            }
        }
    }

    /// An HTTP status a plugin may answer with.
    fn status(&mut self, status: u16, path: &str) {
        if !(100..=599).contains(&status) {
            self.error(path, format!("{status} is not an HTTP status (100..599)"));
        }
    }
}

#[cfg(test)]
mod tests;
