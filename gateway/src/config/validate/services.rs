//! `services` (with their nested routes and plugins): `url` or protocol/host/port/path, TLS to the
//! targets, the upstream or single host they go to, timeouts and retries.

use std::{collections::HashMap, net::IpAddr, time::Duration};

use serde_yaml::Value;

use super::{PendingPlugin, PendingRoute, TlsReferences};
use crate::{
    address::{is_hostname, parse_url},
    config::{
        model::{PluginScope, Service, ServiceTarget, UpstreamTls},
        raw::RawService,
    },
    validator::Validator,
};

/// Kong's default for connect/read/write timeouts.
const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Kong's default `retries`.
const DEFAULT_RETRIES: u32 = 5;

/// Where a service sends requests, as written (`url`, or the separate fields).
struct Address {
    protocol: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    path: Option<String>,
}

/// The services of a file, and what came nested in them.
pub(super) struct Services {
    /// In file order.
    pub(super) services: Vec<Service>,
    /// Name and id → index.
    pub(super) index: HashMap<String, usize>,
    /// Their nested routes, in file order.
    pub(super) routes: Vec<PendingRoute>,
    /// Their nested plugins.
    pub(super) plugins: Vec<PendingPlugin>,
}

impl Validator {
    /// Every service, with its nested routes and plugins.
    pub(super) fn services(
        &mut self,
        values: &[Value],
        upstreams: &HashMap<String, usize>,
        tls_references: &TlsReferences<'_>,
    ) -> Services {
        let mut out = Services {
            services: Vec::new(),
            index: HashMap::new(),
            routes: Vec::new(),
            plugins: Vec::new(),
        };
        for (i, value) in values.iter().enumerate() {
            let path = format!("services[{i}]");
            let Some(raw) = self.de::<RawService>(value, &path) else {
                continue;
            };
            let id = raw.id.clone();
            let nested_routes = raw.routes.clone();
            let nested_plugins = raw.plugins.clone();
            let Some(service) = self.service(raw, &path, upstreams, tls_references) else {
                continue;
            };
            if out.index.contains_key(&service.name) {
                self.error(
                    format!("{path}.name"),
                    format!("duplicate service name {:?}", service.name),
                );
                continue;
            }
            let index = out.services.len();
            out.index.insert(service.name.clone(), index);
            if let Some(id) = id {
                out.index.insert(id, index);
            }
            for (j, route_value) in nested_routes.iter().enumerate() {
                let route_path = format!("{path}.routes[{j}]");
                if let Some(pending) = self.route(route_value, &route_path, Some(index), None) {
                    out.routes.push(pending);
                }
            }
            for (j, plugin_value) in nested_plugins.into_iter().enumerate() {
                out.plugins.push(PendingPlugin {
                    path: format!("{path}.plugins[{j}]"),
                    value: plugin_value,
                    scope: PluginScope::Service(index),
                });
            }
            out.services.push(service);
        }
        out
    }

    fn service(
        &mut self,
        raw: RawService,
        path: &str,
        upstreams: &HashMap<String, usize>,
        tls_references: &TlsReferences<'_>,
    ) -> Option<Service> {
        let errors_before = self.errors.len();
        let address = self.service_address(&raw, path);
        let protocol = address.protocol.unwrap_or_else(|| "http".to_owned());
        let tls = self.service_tls(&raw, &protocol, path, tls_references);
        let Some(host) = address.host else {
            self.error(
                format!("{path}.host"),
                "required field missing (set url or host)",
            );
            return None;
        };
        let port = address.port.unwrap_or(80);
        if let Some(p) = &address.path
            && (!p.starts_with('/') || p.contains("//"))
        {
            self.error(
                format!("{path}.path"),
                format!("invalid path {p:?}: must start with / and contain no //"),
            );
        }
        let target = self.service_target(&host, port, upstreams, path)?;
        self.service_limits(&raw, path);
        let millis =
            |value: Option<u64>| Duration::from_millis(value.unwrap_or(DEFAULT_TIMEOUT_MS));
        let name = raw.name.unwrap_or_else(|| path.to_owned());
        (self.errors.len() == errors_before).then(|| Service {
            name,
            protocol,
            tls,
            port,
            path: address.path,
            target,
            retries: raw.retries.unwrap_or(DEFAULT_RETRIES),
            connect_timeout: millis(raw.connect_timeout),
            write_timeout: millis(raw.write_timeout),
            read_timeout: millis(raw.read_timeout),
            enabled: raw.enabled.unwrap_or(true),
        })
    }

    /// The service's address: `url`, or `protocol`, `host`, `port` and `path` (never both).
    fn service_address(&mut self, raw: &RawService, path: &str) -> Address {
        let mut address = Address {
            protocol: raw.protocol.clone(),
            host: raw.host.clone(),
            port: raw.port,
            path: raw.path.clone(),
        };
        let Some(url) = &raw.url else {
            return address;
        };
        if raw.host.is_some() || raw.port.is_some() || raw.protocol.is_some() || raw.path.is_some()
        {
            self.error(
                format!("{path}.url"),
                "url cannot be combined with protocol, host, port or path",
            );
        }
        match parse_url(url) {
            Some(parts) => {
                address = Address {
                    protocol: Some(parts.scheme),
                    host: Some(parts.host),
                    port: Some(parts.port),
                    path: parts.path,
                };
            }
            None => self.error(
                format!("{path}.url"),
                format!("invalid url {url:?}: expected http://host[:port][/path]"),
            ),
        }
        address
    }

    /// TLS to the targets of an `https` service; its fields are refused on an `http` one.
    fn service_tls(
        &mut self,
        raw: &RawService,
        protocol: &str,
        path: &str,
        tls_references: &TlsReferences<'_>,
    ) -> Option<UpstreamTls> {
        match protocol {
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
            "https" => Some(self.upstream_tls(raw, path, tls_references)),
            other => {
                self.error(
                    format!("{path}.protocol"),
                    format!("unsupported protocol {other:?}: expected http or https"),
                );
                None
            }
        }
    }

    /// The upstream named `host`, else `host` itself when it is a host name or an IP.
    fn service_target(
        &mut self,
        host: &str,
        port: u16,
        upstreams: &HashMap<String, usize>,
        path: &str,
    ) -> Option<ServiceTarget> {
        match upstreams.get(host) {
            Some(index) => Some(ServiceTarget::Upstream(*index)),
            None if is_hostname(host) || host.parse::<IpAddr>().is_ok() => {
                Some(ServiceTarget::Host {
                    host: host.to_owned(),
                    port,
                })
            }
            None => {
                self.error(
                    format!("{path}.host"),
                    format!("{host:?} is neither an upstream nor a valid host name or IP"),
                );
                None
            }
        }
    }

    /// Timeouts of at least 1 ms, `retries` within Kong's range.
    fn service_limits(&mut self, raw: &RawService, path: &str) {
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
    }
}
