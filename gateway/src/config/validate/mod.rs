//! Raw file → [`Config`]: applies Kong's defaults, resolves references and collects *every* problem
//! with its path (`services[1].routes[0].paths[0]`); lines are attached by the caller.
//!
//! One module per entity: [`gateway`] (`_gateway`, `_format_version`), [`upstreams`] (and
//! targets), [`services`], [`routes`], [`plugins`]; certificates and consumers are read by
//! `config::tls` and `config::consumers`. [`validate`] reads them in the order references need:
//! upstreams before the services that name them, certificates before services' TLS, routes before
//! the plugins scoped to them.

use std::collections::HashMap;

use serde_yaml::Value;

use super::{
    ConfigError,
    model::{Config, Document, PluginScope, Route},
    raw::{EntityRef, RawFile},
};
use crate::validator::Validator;

mod gateway;
mod plugins;
mod routes;
mod services;
mod upstreams;

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

/// A plugin waiting for the routes it may name, with where it was written and its scope so far.
struct PendingPlugin {
    path: String,
    value: Value,
    scope: PluginScope,
}

impl Validator {
    fn file(&mut self, file: RawFile) -> Config {
        self.format_version(file.format_version.as_deref());
        let gateway = self.gateway(file.gateway.as_ref());
        // Upstreams first: services refer to them by name.
        let (upstreams, upstream_index) = self.upstreams(&file.upstreams, &file.targets);
        // Certificates before services: a service's TLS refers to them.
        let default_certificate = file
            .gateway
            .as_ref()
            .and_then(|value| value.get("default_certificate"))
            .and_then(Value::as_str);
        let certificates = self.certificates(
            &file.certificates,
            &file.snis,
            default_certificate,
            gateway.proxy_listen_tls.is_some(),
        );
        let ca_certificates = self.ca_certificates(&file.ca_certificates);
        let tls_references = TlsReferences {
            certificates: (certificates.certificates.iter().enumerate())
                .map(|(index, certificate)| (certificate.id.clone(), index))
                .collect(),
            ca_certificates: &ca_certificates,
        };
        let services = self.services(&file.services, &upstream_index, &tls_references);
        let mut routes = services.routes;
        routes.extend(self.top_level_routes(&file.routes, &services.index));
        let mut pending_plugins = services.plugins;
        let route_index = self.route_index(&mut routes, &mut pending_plugins);
        pending_plugins.extend(
            file.plugins
                .iter()
                .enumerate()
                .map(|(i, value)| PendingPlugin {
                    path: format!("plugins[{i}]"),
                    value: value.clone(),
                    scope: PluginScope::Global,
                }),
        );
        let consumers = self.consumers(&file.consumers, &file.keyauth_credentials);
        let references = References {
            services: &services.index,
            routes: &route_index,
            consumers: &consumers.index,
        };
        let plugins = self.plugins(pending_plugins, &references);
        self.compile_routes(&routes);
        Config {
            format_version: self.format_version.clone(),
            gateway,
            services: services.services,
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
}

/// The index an entity reference names, if any.
pub(super) fn lookup(index: &HashMap<String, usize>, reference: &EntityRef) -> Option<usize> {
    reference
        .keys()
        .into_iter()
        .find_map(|key| index.get(key).copied())
}
