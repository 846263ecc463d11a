//! Raw file → [`Config`]: applies Kong's defaults, resolves references and collects *every* problem
//! with its path (`services[1].routes[0].paths[0]`); lines are attached by the caller.

use std::{
    collections::{HashMap, HashSet},
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use serde_yaml::Value;

use super::{
    ConfigError,
    healthchecks::{self, RawHealthchecks},
    model::{
        ADMIN_TOKEN_ENV, Algorithm, Config, Document, GatewaySettings, HashOn, Healthchecks,
        PathHandling, PathPattern, Plugin, PluginScope, Route, Secret, Service, ServiceTarget,
        Target, Upstream,
    },
    raw::{
        EntityRef, RawFile, RawGateway, RawPlugin, RawRoute, RawService, RawTarget, RawUpstream,
    },
};
use crate::{
    access_log::Destination,
    address::{is_hostname, parse_url, split_host_port},
    plugins::{PLUGIN_NAMES, ParseContext, PluginConfig},
    router::{RouteSpec, RouteTable},
    validator::Validator,
};

/// Kong's default for connect/read/write timeouts.
const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Kong's default `retries`.
const DEFAULT_RETRIES: u32 = 5;
/// `_gateway.client_body_timeout` when unset: nginx's `client_body_timeout`.
const DEFAULT_CLIENT_BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// Kong's default target port.
const DEFAULT_TARGET_PORT: u16 = 8000;
/// Kong's default target weight.
const DEFAULT_WEIGHT: u32 = 100;
/// Largest allowed target weight.
const MAX_WEIGHT: i64 = 65_535;

/// Validates the parsed document `value`; `Err` holds every problem found.
pub fn validate(value: Value) -> Result<Config, Vec<ConfigError>> {
    let mut v = Validator::default();
    let Some(file) = v.de::<RawFile>(&value, "") else {
        return Err(v.errors);
    };
    let mut config = v.file(file);
    config.source = Document(value);
    if v.errors.is_empty() {
        Ok(config)
    } else {
        Err(v.errors)
    }
}

/// What a service's TLS may refer to: certificates (client certificates) and CA certificates, by id.
pub(super) struct TlsReferences<'a> {
    pub(super) certificates: HashMap<String, usize>,
    /// id → PEM.
    pub(super) ca_certificates: &'a HashMap<String, String>,
}

/// What a plugin may refer to: services, routes and consumers by name or id.
struct References<'a> {
    services: &'a HashMap<String, usize>,
    routes: &'a HashMap<String, usize>,
    consumers: &'a HashMap<String, usize>,
}

/// A route waiting for its plugins, with where it was written.
struct PendingRoute {
    path: String,
    route: Route,
    id: Option<String>,
    plugins: Vec<(String, Value)>,
}

impl Validator {
    fn file(&mut self, file: RawFile) -> Config {
        match file.format_version.as_deref() {
            Some(version @ ("1.1" | "2.1" | "3.0")) => self.format_version = version.to_owned(),
            Some(other) => self.error(
                "_format_version",
                format!("unsupported version {other:?}: expected \"1.1\", \"2.1\" or \"3.0\""),
            ),
            None => self.error("_format_version", "required field missing"),
        }
        let gateway = self.gateway(file.gateway.as_ref());
        let gateway_default_certificate = file
            .gateway
            .as_ref()
            .and_then(|value| value.get("default_certificate"))
            .and_then(Value::as_str)
            .map(str::to_owned);

        // Upstreams first: services refer to them by name.
        let mut upstreams = Vec::new();
        let mut upstream_index: HashMap<String, usize> = HashMap::new();
        for (i, value) in file.upstreams.iter().enumerate() {
            let path = format!("upstreams[{i}]");
            if let Some((upstream, id)) = self.upstream(value, &path) {
                if upstream_index.contains_key(&upstream.name) {
                    self.error(
                        format!("{path}.name"),
                        format!("duplicate upstream name {:?}", upstream.name),
                    );
                    continue;
                }
                upstream_index.insert(upstream.name.clone(), upstreams.len());
                if let Some(id) = id {
                    upstream_index.insert(id, upstreams.len());
                }
                upstreams.push(upstream);
            }
        }
        for (i, value) in file.targets.iter().enumerate() {
            let path = format!("targets[{i}]");
            let Some(raw) = self.de::<RawTarget>(value, &path) else {
                continue;
            };
            let Some(reference) = raw.upstream.clone() else {
                self.error(format!("{path}.upstream"), "required field missing");
                continue;
            };
            match lookup(&upstream_index, &reference) {
                Some(index) => {
                    if let Some(target) = self.target(raw, &path) {
                        self.add_target(&mut upstreams[index], target, &path);
                    }
                }
                None => self.error(
                    format!("{path}.upstream"),
                    format!("unknown upstream {:?}", reference.keys()),
                ),
            }
        }

        // Certificates before services: a service's TLS refers to them.
        let certificates = self.certificates(
            &file.certificates,
            &file.snis,
            gateway_default_certificate.as_deref(),
            gateway.proxy_listen_tls.is_some(),
        );
        let ca_certificates = self.ca_certificates(&file.ca_certificates);
        let tls_references = TlsReferences {
            certificates: certificates
                .certificates
                .iter()
                .enumerate()
                .map(|(index, certificate)| (certificate.id.clone(), index))
                .collect(),
            ca_certificates: &ca_certificates,
        };

        // Services, with their nested routes and plugins.
        let mut services = Vec::new();
        let mut service_index: HashMap<String, usize> = HashMap::new();
        let mut routes: Vec<PendingRoute> = Vec::new();
        let mut plugin_values: Vec<(String, Value, PluginScope)> = Vec::new();
        for (i, value) in file.services.iter().enumerate() {
            let path = format!("services[{i}]");
            let Some(raw) = self.de::<RawService>(value, &path) else {
                continue;
            };
            let id = raw.id.clone();
            let nested_routes = raw.routes.clone();
            let nested_plugins = raw.plugins.clone();
            let Some(service) = self.service(raw, &path, &upstream_index, &tls_references) else {
                continue;
            };
            if service_index.contains_key(&service.name) {
                self.error(
                    format!("{path}.name"),
                    format!("duplicate service name {:?}", service.name),
                );
                continue;
            }
            let index = services.len();
            service_index.insert(service.name.clone(), index);
            if let Some(id) = id {
                service_index.insert(id, index);
            }
            for (j, route_value) in nested_routes.iter().enumerate() {
                let route_path = format!("{path}.routes[{j}]");
                if let Some(pending) = self.route(route_value, &route_path, Some(index), None) {
                    routes.push(pending);
                }
            }
            for (j, plugin_value) in nested_plugins.into_iter().enumerate() {
                plugin_values.push((
                    format!("{path}.plugins[{j}]"),
                    plugin_value,
                    PluginScope::Service(index),
                ));
            }
            services.push(service);
        }
        for (i, value) in file.routes.iter().enumerate() {
            let path = format!("routes[{i}]");
            if let Some(pending) = self.route(value, &path, None, Some(&service_index)) {
                routes.push(pending);
            }
        }

        // Route names must be unique; nested route plugins get their route's index.
        let mut route_index: HashMap<String, usize> = HashMap::new();
        for (index, pending) in routes.iter().enumerate() {
            if route_index
                .insert(pending.route.name.clone(), index)
                .is_some()
            {
                let path = format!("{}.name", pending.path);
                let name = pending.route.name.clone();
                self.error(path, format!("duplicate route name {name:?}"));
            }
            if let Some(id) = &pending.id {
                route_index.insert(id.clone(), index);
            }
        }
        for (index, pending) in routes.iter_mut().enumerate() {
            for (path, value) in pending.plugins.drain(..) {
                plugin_values.push((path, value, PluginScope::Route(index)));
            }
        }
        for (i, value) in file.plugins.iter().enumerate() {
            plugin_values.push((format!("plugins[{i}]"), value.clone(), PluginScope::Global));
        }
        let consumers = self.consumers(&file.consumers, &file.keyauth_credentials);

        let mut plugins = Vec::new();
        let mut seen_scopes: HashSet<(PluginScope, &'static str)> = HashSet::new();
        for (path, value, scope) in plugin_values {
            let references = References {
                services: &service_index,
                routes: &route_index,
                consumers: &consumers.index,
            };
            if let Some(plugin) = self.plugin(&value, &path, scope, &references) {
                if !seen_scopes.insert((plugin.scope, plugin.name())) {
                    self.error(
                        format!("{path}.name"),
                        format!(
                            "plugin {:?} is configured twice for the same scope",
                            plugin.name()
                        ),
                    );
                    continue;
                }
                plugins.push(plugin);
            }
        }

        // Compile the routes once here so that a bad regex is a config error, not a runtime one.
        let specs: Vec<RouteSpec> = routes.iter().map(|pending| pending.route.spec()).collect();
        if let Err(problems) = RouteTable::build(&specs) {
            for problem in problems {
                let route = &routes[problem.route].path;
                let path = if problem.message.starts_with("hosts:") {
                    format!("{route}.hosts[{}]", problem.path)
                } else if problem.message.starts_with("headers:") {
                    format!("{route}.headers")
                } else {
                    format!("{route}.paths[{}]", problem.path)
                };
                self.error(path, problem.message);
            }
        }

        Config {
            format_version: self.format_version.clone(),
            gateway,
            services,
            routes: routes.into_iter().map(|pending| pending.route).collect(),
            upstreams,
            plugins,
            source: Document::default(),
            consumers: consumers.consumers,
            keyauth_credentials: consumers.credentials,
            certificates: certificates.certificates,
            default_certificate: certificates.default,
            warnings: std::mem::take(&mut self.warnings),
        }
    }

    fn gateway(&mut self, value: Option<&Value>) -> GatewaySettings {
        let raw = value
            .and_then(|value| self.de::<RawGateway>(value, "_gateway"))
            .unwrap_or_default();
        let mut listen = |field: &str, raw: Option<String>, default: &str| -> SocketAddr {
            let text = raw.unwrap_or_else(|| default.to_owned());
            text.parse().unwrap_or_else(|_| {
                self.error(
                    format!("_gateway.{field}"),
                    format!("invalid listen address {text:?}: expected ip:port"),
                );
                default
                    .parse()
                    .expect("BUG: default listen addresses parse")
            })
        };
        let proxy_listen = listen("proxy_listen", raw.proxy_listen, "0.0.0.0:8000");
        let proxy_listen_tls = raw
            .proxy_listen_tls
            .map(|text| listen("proxy_listen_tls", Some(text), "0.0.0.0:8443"));
        let admin_listen = listen("admin_listen", raw.admin_listen, "127.0.0.1:8001");
        let admin_token = self.admin_token(raw.admin_token, admin_listen);
        let threads = raw.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        if threads == 0 {
            self.error("_gateway.threads", "must be at least 1");
        }
        let access_log = match raw.access_log.as_deref().map(Destination::parse) {
            None => Destination::Stdout,
            Some(Ok(destination)) => destination,
            Some(Err(message)) => {
                self.error("_gateway.access_log", message);
                Destination::Stdout
            }
        };
        let client_body_timeout = match raw.client_body_timeout {
            Some(0) => {
                self.error(
                    "_gateway.client_body_timeout",
                    "must be at least 1 (seconds)",
                );
                DEFAULT_CLIENT_BODY_TIMEOUT
            }
            Some(seconds) => Duration::from_secs(seconds),
            None => DEFAULT_CLIENT_BODY_TIMEOUT,
        };
        GatewaySettings {
            access_log,
            dns_refresh: Duration::from_secs(raw.dns_refresh.unwrap_or(30)),
            proxy_listen,
            proxy_listen_tls,
            admin_listen,
            admin_token,
            threads: threads.max(1),
            upstream_keepalive_pool_size: raw.upstream_keepalive_pool_size.unwrap_or(512),
            upstream_idle_timeout: Duration::from_secs(raw.upstream_idle_timeout.unwrap_or(30)),
            client_body_timeout,
        }
    }

    /// The admin token: `GATEWAY_ADMIN_TOKEN` when set, else `_gateway.admin_token`. An admin
    /// listener that other machines can reach without one is refused.
    fn admin_token(
        &mut self,
        from_file: Option<String>,
        admin_listen: SocketAddr,
    ) -> Option<Secret> {
        let from_env = std::env::var(ADMIN_TOKEN_ENV).ok();
        let (token, field) = match (from_env, from_file) {
            (Some(token), _) => (Some(token), ADMIN_TOKEN_ENV),
            (None, token) => (token, "_gateway.admin_token"),
        };
        match token {
            Some(token) if token.trim().is_empty() => {
                let path = if field == ADMIN_TOKEN_ENV {
                    "_gateway.admin_token"
                } else {
                    field
                };
                self.error(
                    path,
                    format!("{field} is empty: set a token or leave it out"),
                );
                None
            }
            Some(token) => Some(Secret::new(token)),
            None if !admin_listen.ip().is_loopback() => {
                self.error(
                    "_gateway.admin_listen",
                    format!(
                        "the admin API on {admin_listen} is reachable from other machines and needs a token: \
                         set _gateway.admin_token or {ADMIN_TOKEN_ENV} (sent as Kong-Admin-Token), \
                         or listen on 127.0.0.1"
                    ),
                );
                None
            }
            None => None,
        }
    }

    fn upstream(&mut self, value: &Value, path: &str) -> Option<(Upstream, Option<String>)> {
        let raw = self.de::<RawUpstream>(value, path)?;
        let name = match raw.name.clone() {
            Some(name) if is_hostname(&name) && name.parse::<IpAddr>().is_err() => name,
            Some(name) => {
                self.error(
                    format!("{path}.name"),
                    format!("invalid upstream name {name:?}: must be a hostname (no IP, no port)"),
                );
                return None;
            }
            None => {
                self.error(format!("{path}.name"), "required field missing");
                return None;
            }
        };
        let hash_on = self.hash_on(&raw, path);
        let algorithm = match raw.algorithm.as_deref() {
            None if hash_on != HashOn::None => Algorithm::ConsistentHashing,
            None | Some("round-robin") => Algorithm::RoundRobin,
            Some("least-connections") => Algorithm::LeastConnections,
            Some("consistent-hashing") => Algorithm::ConsistentHashing,
            Some("latency") => {
                self.error(
                    format!("{path}.algorithm"),
                    "algorithm \"latency\" is not supported",
                );
                Algorithm::RoundRobin
            }
            Some(other) => {
                self.error(
                    format!("{path}.algorithm"),
                    format!("unknown algorithm {other:?}: expected round-robin, least-connections or consistent-hashing"),
                );
                Algorithm::RoundRobin
            }
        };
        if let Some(slots) = raw.slots
            && !(10..=65_536).contains(&slots)
        {
            self.error(
                format!("{path}.slots"),
                format!("{slots} is out of range 10..65536"),
            );
        }
        let healthchecks = match &raw.healthchecks {
            Some(value) => {
                let checks_path = format!("{path}.healthchecks");
                match self.de::<RawHealthchecks>(value, &checks_path) {
                    Some(checks) => {
                        healthchecks::build(checks, &checks_path, &mut |at, message| {
                            self.error(at, message)
                        })
                    }
                    None => Healthchecks::default(),
                }
            }
            None => Healthchecks::default(),
        };
        if let Some(host_header) = &raw.host_header
            && (host_header.is_empty() || http::HeaderValue::from_str(host_header).is_err())
        {
            self.error(
                format!("{path}.host_header"),
                format!("{host_header:?} is not a valid Host header value"),
            );
        }
        let mut upstream = Upstream {
            name,
            algorithm,
            hash_on,
            host_header: raw.host_header,
            targets: Vec::new(),
            healthchecks,
        };
        for (i, target_value) in raw.targets.iter().enumerate() {
            let target_path = format!("{path}.targets[{i}]");
            if let Some(raw_target) = self.de::<RawTarget>(target_value, &target_path) {
                if raw_target.upstream.is_some() {
                    self.error(
                        format!("{target_path}.upstream"),
                        "a nested target cannot name an upstream",
                    );
                }
                if let Some(target) = self.target(raw_target, &target_path) {
                    self.add_target(&mut upstream, target, &target_path);
                }
            }
        }
        Some((upstream, raw.id))
    }

    fn hash_on(&mut self, raw: &RawUpstream, path: &str) -> HashOn {
        let mut required = |field: &str, value: &Option<String>| -> String {
            value.clone().unwrap_or_else(|| {
                self.error(format!("{path}.{field}"), "required when hashing on it");
                String::new()
            })
        };
        match raw.hash_on.as_deref() {
            None | Some("none") => HashOn::None,
            Some("ip" | "consumer") => HashOn::Ip,
            Some("path") => HashOn::Path,
            Some("header") => {
                HashOn::Header(required("hash_on_header", &raw.hash_on_header).to_ascii_lowercase())
            }
            Some("cookie") => HashOn::Cookie(required("hash_on_cookie", &raw.hash_on_cookie)),
            Some("query_arg") => {
                HashOn::QueryArg(required("hash_on_query_arg", &raw.hash_on_query_arg))
            }
            Some(other) => {
                self.error(
                    format!("{path}.hash_on"),
                    format!("unknown hash_on {other:?}: expected none, ip, header, cookie, path or query_arg"),
                );
                HashOn::None
            }
        }
    }

    fn target(&mut self, raw: RawTarget, path: &str) -> Option<Target> {
        let Some(text) = raw.target else {
            self.error(format!("{path}.target"), "required field missing");
            return None;
        };
        let Some((host, port)) = split_host_port(&text, DEFAULT_TARGET_PORT) else {
            self.error(
                format!("{path}.target"),
                format!("invalid target {text:?}: expected host[:port]"),
            );
            return None;
        };
        // As for a service's host: the runtime sends it as the `Host` header.
        if !is_hostname(&host) && host.parse::<IpAddr>().is_err() {
            self.error(
                format!("{path}.target"),
                format!("invalid target {text:?}: {host:?} is not a host name or IP"),
            );
            return None;
        }
        let weight = match raw.weight {
            None => DEFAULT_WEIGHT,
            Some(weight) if (0..=MAX_WEIGHT).contains(&weight) => {
                u32::try_from(weight).expect("BUG: range-checked weight fits u32")
            }
            Some(weight) => {
                self.error(
                    format!("{path}.weight"),
                    format!("{weight} is out of range 0..65535"),
                );
                return None;
            }
        };
        Some(Target { host, port, weight })
    }

    fn add_target(&mut self, upstream: &mut Upstream, target: Target, path: &str) {
        if upstream
            .targets
            .iter()
            .any(|existing| existing.host == target.host && existing.port == target.port)
        {
            self.error(
                format!("{path}.target"),
                format!(
                    "duplicate target {} in upstream {:?}",
                    target.authority(),
                    upstream.name
                ),
            );
        } else {
            upstream.targets.push(target);
        }
    }

    fn service(
        &mut self,
        raw: RawService,
        path: &str,
        upstreams: &HashMap<String, usize>,
        tls_references: &TlsReferences<'_>,
    ) -> Option<Service> {
        let errors_before = self.errors.len();
        let (mut protocol, mut host, mut port, mut service_path) = (
            raw.protocol.clone(),
            raw.host.clone(),
            raw.port,
            raw.path.clone(),
        );
        if let Some(url) = &raw.url {
            if raw.host.is_some()
                || raw.port.is_some()
                || raw.protocol.is_some()
                || raw.path.is_some()
            {
                self.error(
                    format!("{path}.url"),
                    "url cannot be combined with protocol, host, port or path",
                );
            }
            match parse_url(url) {
                Some(parts) => {
                    protocol = Some(parts.scheme);
                    host = Some(parts.host);
                    port = Some(parts.port);
                    service_path = parts.path;
                }
                None => self.error(
                    format!("{path}.url"),
                    format!("invalid url {url:?}: expected http://host[:port][/path]"),
                ),
            }
        }
        let protocol = protocol.unwrap_or_else(|| "http".to_owned());
        let tls = match protocol.as_str() {
            "http" => {
                for (field, set) in [
                    ("tls_verify", raw.tls_verify.is_some()),
                    ("tls_verify_depth", raw.tls_verify_depth.is_some()),
                    ("ca_certificates", raw.ca_certificates.is_some()),
                    ("client_certificate", raw.client_certificate.is_some()),
                ] {
                    if set {
                        self.error(format!("{path}.{field}"), "only valid with protocol https");
                    }
                }
                None
            }
            "https" => Some(self.upstream_tls(&raw, path, tls_references)),
            other => {
                self.error(
                    format!("{path}.protocol"),
                    format!("unsupported protocol {other:?}: expected http or https"),
                );
                None
            }
        };
        let Some(host) = host else {
            self.error(
                format!("{path}.host"),
                "required field missing (set url or host)",
            );
            return None;
        };
        let port = port.unwrap_or(80);
        if let Some(p) = &service_path
            && (!p.starts_with('/') || p.contains("//"))
        {
            self.error(
                format!("{path}.path"),
                format!("invalid path {p:?}: must start with / and contain no //"),
            );
        }
        let target = match upstreams.get(&host) {
            Some(index) => ServiceTarget::Upstream(*index),
            None if is_hostname(&host) || host.parse::<IpAddr>().is_ok() => ServiceTarget::Host {
                host: host.clone(),
                port,
            },
            None => {
                self.error(
                    format!("{path}.host"),
                    format!("{host:?} is neither an upstream nor a valid host name or IP"),
                );
                return None;
            }
        };
        let millis =
            |value: Option<u64>| Duration::from_millis(value.unwrap_or(DEFAULT_TIMEOUT_MS));
        for (field, value) in [
            ("connect_timeout", raw.connect_timeout),
            ("read_timeout", raw.read_timeout),
            ("write_timeout", raw.write_timeout),
        ] {
            if let Some(0) = value {
                self.error(format!("{path}.{field}"), "must be at least 1 millisecond");
            }
        }
        if let Some(retries) = raw.retries
            && retries > 32_767
        {
            self.error(
                format!("{path}.retries"),
                format!("{retries} is out of range 0..32767"),
            );
        }
        let name = raw.name.unwrap_or_else(|| path.to_owned());
        (self.errors.len() == errors_before).then(|| Service {
            name,
            protocol,
            tls,
            host,
            port,
            path: service_path,
            target,
            retries: raw.retries.unwrap_or(DEFAULT_RETRIES),
            connect_timeout: millis(raw.connect_timeout),
            write_timeout: millis(raw.write_timeout),
            read_timeout: millis(raw.read_timeout),
            enabled: raw.enabled.unwrap_or(true),
        })
    }

    fn route(
        &mut self,
        value: &Value,
        path: &str,
        nested_in: Option<usize>,
        services: Option<&HashMap<String, usize>>,
    ) -> Option<PendingRoute> {
        let raw = self.de::<RawRoute>(value, path)?;
        let errors_before = self.errors.len();
        let service = match (nested_in, &raw.service, services) {
            (Some(index), None, _) => Some(index),
            (Some(_), Some(_), _) => {
                self.error(
                    format!("{path}.service"),
                    "a nested route cannot name a service",
                );
                None
            }
            (None, Some(reference), Some(services)) => match lookup(services, reference) {
                Some(index) => Some(index),
                None => {
                    self.error(
                        format!("{path}.service"),
                        format!("unknown service {:?}", reference.keys()),
                    );
                    None
                }
            },
            (None, _, _) => None,
        };
        let mut paths = Vec::new();
        for (i, raw_path) in raw
            .paths
            .clone()
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            if let Some(pattern) = self.path_pattern(&raw_path, &format!("{path}.paths[{i}]")) {
                paths.push(pattern);
            }
        }
        let methods: Vec<String> = raw.methods.clone().unwrap_or_default();
        for (i, method) in methods.iter().enumerate() {
            if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
                self.error(
                    format!("{path}.methods[{i}]"),
                    format!("invalid method {method:?}: must be upper case"),
                );
            }
        }
        let hosts = raw.hosts.clone().unwrap_or_default();
        for (i, host) in hosts.iter().enumerate() {
            let (name, _) = split_host_port(host, 0).unwrap_or_default();
            let wildcards = name.matches('*').count();
            let wildcard_ok = wildcards == 0
                || (wildcards == 1 && (name.starts_with("*.") || name.ends_with(".*")));
            if name.is_empty() || !wildcard_ok || !is_hostname(&name.replace('*', "x")) {
                self.error(
                    format!("{path}.hosts[{i}]"),
                    format!("invalid host {host:?}: one `*` at most, as the first or last label"),
                );
            }
        }
        let mut headers = Vec::new();
        for (name, values) in raw.headers.clone().unwrap_or_default() {
            if name.eq_ignore_ascii_case("host") {
                self.error(
                    format!("{path}.headers.{name}"),
                    "use hosts to match the Host header",
                );
            } else if values.is_empty() {
                self.error(format!("{path}.headers.{name}"), "needs at least one value");
            }
            headers.push((name.to_ascii_lowercase(), values));
        }
        if let Some(protocols) = &raw.protocols {
            for (i, protocol) in protocols.iter().enumerate() {
                if !matches!(protocol.as_str(), "http" | "https") {
                    self.error(
                        format!("{path}.protocols[{i}]"),
                        format!("unsupported protocol {protocol:?}: expected http or https"),
                    );
                }
            }
            if protocols.is_empty() {
                self.error(format!("{path}.protocols"), "needs at least one protocol");
            }
        }
        let https_only = raw.protocols.as_ref().is_some_and(|protocols| {
            protocols.iter().any(|p| p == "https") && !protocols.iter().any(|p| p == "http")
        });
        let https_redirect_status_code = raw.https_redirect_status_code.unwrap_or(426);
        if !matches!(https_redirect_status_code, 426 | 301 | 302 | 307 | 308) {
            self.error(
                format!("{path}.https_redirect_status_code"),
                format!("{https_redirect_status_code} is not one of 426, 301, 302, 307 or 308"),
            );
        }
        if paths.is_empty()
            && methods.is_empty()
            && hosts.is_empty()
            && headers.is_empty()
            && raw.paths.is_none()
        {
            self.error(
                path.to_owned(),
                "must set at least one of paths, methods, hosts or headers",
            );
        }
        let path_handling = match raw.path_handling.as_deref() {
            None | Some("v0") => PathHandling::V0,
            Some("v1") => PathHandling::V1,
            Some(other) => {
                self.error(
                    format!("{path}.path_handling"),
                    format!("unknown path_handling {other:?}: expected v0 or v1"),
                );
                PathHandling::V0
            }
        };
        if self.errors.len() != errors_before {
            return None;
        }
        let plugins = raw
            .plugins
            .iter()
            .enumerate()
            .map(|(i, value)| (format!("{path}.plugins[{i}]"), value.clone()))
            .collect();
        Some(PendingRoute {
            path: path.to_owned(),
            id: raw.id,
            route: Route {
                name: raw.name.unwrap_or_else(|| path.to_owned()),
                service,
                paths,
                methods,
                hosts,
                headers,
                strip_path: raw.strip_path.unwrap_or(true),
                preserve_host: raw.preserve_host.unwrap_or(false),
                regex_priority: raw.regex_priority.unwrap_or(0),
                path_handling,
                https_only,
                https_redirect_status_code,
            },
            plugins,
        })
    }

    /// A route path: `~…` is a regex in every version; in 1.1/2.1 files a path with characters
    /// outside `[a-zA-Z0-9.\-_~/%]` is a regex too (Kong's 2.x → 3.0 migration).
    fn path_pattern(&mut self, raw: &str, path: &str) -> Option<PathPattern> {
        if let Some(regex) = raw.strip_prefix('~') {
            return Some(PathPattern::Regex(regex.to_owned()));
        }
        if !raw.starts_with('/') {
            self.error(
                path,
                format!("invalid path {raw:?}: must start with / (or ~ for a regex)"),
            );
            return None;
        }
        let legacy = self.format_version != "3.0";
        let plain = raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-~/%".contains(&b));
        if legacy && !plain {
            return Some(PathPattern::Regex(raw.to_owned()));
        }
        if raw.contains("//") {
            self.error(path, format!("invalid path {raw:?}: empty segment (//)"));
            return None;
        }
        Some(PathPattern::Prefix(raw.to_owned()))
    }

    fn plugin(
        &mut self,
        value: &Value,
        path: &str,
        scope: PluginScope,
        references: &References<'_>,
    ) -> Option<Plugin> {
        let (services, routes) = (references.services, references.routes);
        let raw = self.de::<RawPlugin>(value, path)?;
        let mut scope = scope;
        if raw.consumer.is_some() {
            self.error(
                format!("{path}.consumer"),
                "consumer-scoped plugins are not supported",
            );
            return None;
        }
        match (scope, &raw.service, &raw.route) {
            (PluginScope::Global, Some(_), Some(_)) => {
                self.error(
                    path.to_owned(),
                    "a plugin scoped to both a service and a route is not supported",
                );
                return None;
            }
            (PluginScope::Global, Some(reference), None) => match lookup(services, reference) {
                Some(index) => scope = PluginScope::Service(index),
                None => {
                    self.error(
                        format!("{path}.service"),
                        format!("unknown service {:?}", reference.keys()),
                    );
                    return None;
                }
            },
            (PluginScope::Global, None, Some(reference)) => match lookup(routes, reference) {
                Some(index) => scope = PluginScope::Route(index),
                None => {
                    self.error(
                        format!("{path}.route"),
                        format!("unknown route {:?}", reference.keys()),
                    );
                    return None;
                }
            },
            (_, None, None) => {}
            _ => {
                self.error(
                    path.to_owned(),
                    "a nested plugin cannot name a service or route",
                );
                return None;
            }
        }
        if raw.enabled == Some(false) {
            return None;
        }
        let name = raw.name.clone().unwrap_or_default();
        let config_value = raw
            .config
            .clone()
            .unwrap_or(Value::Mapping(Default::default()));
        let config_path = format!("{path}.config");
        let name_path = format!("{path}.name");
        let context = ParseContext {
            consumers: references.consumers,
        };
        let config = match PluginConfig::parse(&name, self, &config_value, &config_path, &context) {
            Some(config) => config?,
            None if name.is_empty() => {
                self.error(name_path, "required field missing");
                return None;
            }
            None => {
                self.error(
                    name_path,
                    format!(
                        "unknown plugin {name:?}: this gateway implements {}",
                        PLUGIN_NAMES.join(", ")
                    ),
                );
                return None;
            }
        };
        Some(Plugin { scope, config })
    }
}

/// The index an entity reference names, if any.
pub(super) fn lookup(index: &HashMap<String, usize>, reference: &EntityRef) -> Option<usize> {
    reference
        .keys()
        .into_iter()
        .find_map(|key| index.get(key).copied())
}
