//! `routes` (nested in their service or top level): their service, paths (prefixes and regexes,
//! as the file's version reads them), methods, hosts, headers, protocols and path handling; the
//! route names and ids plugins refer to; the route table compiled once to catch bad regexes.

use std::collections::{BTreeMap, HashMap};

use serde_yaml::Value;

use super::{PendingPlugin, PendingRoute, lookup};
use crate::{
    address::{is_hostname, split_host_port},
    config::{
        model::{PathHandling, PathPattern, PluginScope, Route},
        raw::{EntityRef, RawRoute},
    },
    router::{RouteSpec, RouteTable},
    validator::Validator,
};

impl Validator {
    /// The top-level routes (each naming its service).
    pub(super) fn top_level_routes(
        &mut self,
        values: &[Value],
        services: &HashMap<String, usize>,
    ) -> Vec<PendingRoute> {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, value)| {
                self.route(value, &format!("routes[{i}]"), None, Some(services))
            })
            .collect()
    }

    /// Route names and ids → index (names must be unique); nested route plugins move to
    /// `plugins` with their route's index.
    pub(super) fn route_index(
        &mut self,
        routes: &mut [PendingRoute],
        plugins: &mut Vec<PendingPlugin>,
    ) -> HashMap<String, usize> {
        let mut route_index: HashMap<String, usize> = HashMap::new();
        for (index, pending) in routes.iter_mut().enumerate() {
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
            for (path, value) in pending.plugins.drain(..) {
                plugins.push(PendingPlugin {
                    path,
                    value,
                    scope: PluginScope::Route(index),
                });
            }
        }
        route_index
    }

    /// Compiles the routes once so that a bad regex is a config error, not a runtime one.
    pub(super) fn compile_routes(&mut self, routes: &[PendingRoute]) {
        let specs: Vec<RouteSpec> = routes.iter().map(|pending| pending.route.spec()).collect();
        let Err(problems) = RouteTable::build(&specs) else {
            return;
        };
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

    /// One route: nested in service `nested_in`, or top level naming one of `services`.
    pub(super) fn route(
        &mut self,
        value: &Value,
        path: &str,
        nested_in: Option<usize>,
        services: Option<&HashMap<String, usize>>,
    ) -> Option<PendingRoute> {
        let raw = self.de::<RawRoute>(value, path)?;
        let errors_before = self.errors.len();
        let service = self.route_service(nested_in, raw.service.as_ref(), services, path);
        let paths = self.route_paths(raw.paths.as_deref().unwrap_or_default(), path);
        let methods: Vec<String> = raw.methods.clone().unwrap_or_default();
        self.route_methods(&methods, path);
        let hosts = raw.hosts.clone().unwrap_or_default();
        self.route_hosts(&hosts, path);
        let headers = self.route_headers(raw.headers.clone().unwrap_or_default(), path);
        let (https_only, https_redirect_status_code) = self.route_protocols(&raw, path);
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
        let path_handling = self.path_handling(raw.path_handling.as_deref(), path);
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

    /// The route's service: the one it is nested in, else the one it names.
    fn route_service(
        &mut self,
        nested_in: Option<usize>,
        reference: Option<&EntityRef>,
        services: Option<&HashMap<String, usize>>,
        path: &str,
    ) -> Option<usize> {
        match (nested_in, reference, services) {
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
        }
    }

    fn route_paths(&mut self, raw: &[String], path: &str) -> Vec<PathPattern> {
        raw.iter()
            .enumerate()
            .filter_map(|(i, raw_path)| self.path_pattern(raw_path, &format!("{path}.paths[{i}]")))
            .collect()
    }

    fn route_methods(&mut self, methods: &[String], path: &str) {
        for (i, method) in methods.iter().enumerate() {
            if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
                self.error(
                    format!("{path}.methods[{i}]"),
                    format!("invalid method {method:?}: must be upper case"),
                );
            }
        }
    }

    fn route_hosts(&mut self, hosts: &[String], path: &str) {
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
    }

    /// Header conditions with lower-cased names.
    fn route_headers(
        &mut self,
        raw: BTreeMap<String, Vec<String>>,
        path: &str,
    ) -> Vec<(String, Vec<String>)> {
        let mut headers = Vec::new();
        for (name, values) in raw {
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
        headers
    }

    /// Whether the route takes HTTPS only, and the status that answers cleartext then.
    fn route_protocols(&mut self, raw: &RawRoute, path: &str) -> (bool, u16) {
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
        (https_only, https_redirect_status_code)
    }

    fn path_handling(&mut self, raw: Option<&str>, path: &str) -> PathHandling {
        match raw {
            None | Some("v0") => PathHandling::V0,
            Some("v1") => PathHandling::V1,
            Some(other) => {
                self.error(
                    format!("{path}.path_handling"),
                    format!("unknown path_handling {other:?}: expected v0 or v1"),
                );
                PathHandling::V0
            }
        }
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
}
