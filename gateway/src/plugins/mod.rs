//! Plugins: built once per snapshot from the typed config, resolved per route into a
//! [`PluginChain`] (Kong's precedence: a route's instance beats its service's, which beats the
//! global one; one instance per plugin name), ordered by Kong's priorities and run by the engine
//! when it has matched a route (`engine/decide.rs`).
//!
//! The interface: each plugin has an access phase that sees an [`AccessRequest`] (the header, the
//! normalised path, the client IP, route and service) and records what it wants changed in the
//! request's [`Effects`] (upstream headers, hidden query arguments, response headers for the client,
//! the consumer, the correlation id, a body limit). It returns [`Flow::Continue`] or
//! [`Flow::Respond`] with a [`LocalResponse`]; the first plugin that answers ends the chain. The
//! engine applies the effects to the upstream request, to the client's answer (proxied or its
//! own), and to the request body as it streams ([`BodyLimit`]).
//!
//! Execution order (Kong's `PRIORITY`, highest first):
//! - [`correlation_id`] (100001): `correlation-id`.
//! - [`cors`] (2000): `cors`.
//! - [`key_auth`] (1250): `key-auth` with the file's consumers and credentials.
//! - [`api_key`] (1000): `apikey-auth-plugin`, the seed's API-key check against the auth replicas.
//! - [`ip_restriction`] (990): `ip-restriction`.
//! - [`request_size`] (951): `request-size-limiting`.
//! - [`rate_limiting`] (910): `rate-limiting`, local (governor) or Redis.

use std::{cmp::Reverse, net::IpAddr, sync::Arc};

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use pingora::http::RequestHeader;

use crate::config::model::{PLUGIN_NAMES, PluginScope};

pub mod api_key;
pub mod correlation_id;
pub mod cors;
pub mod effects;
pub mod ip_restriction;
pub mod key_auth;
pub mod rate_limiting;
pub mod request_size;

pub use effects::{Authenticated, BodyLimit, Effects};

/// What the access phase of a plugin sees of a request.
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    /// The client's request header.
    pub header: &'a RequestHeader,
    /// The normalised path (what routing matched).
    pub path: &'a str,
    /// How many bytes at the start of `path` the route's path matched (0: a route without paths).
    pub matched_len: usize,
    /// The client's address, when it has one (not a Unix socket).
    pub client_ip: Option<IpAddr>,
    /// The matched route's name.
    pub route: &'a str,
    /// The route's service's name.
    pub service: &'a str,
}

#[cfg(test)]
impl<'a> AccessRequest<'a> {
    /// A request to path `/` of route `r` of service `s` (plugin unit tests).
    pub fn for_test(header: &'a RequestHeader, client_ip: Option<IpAddr>) -> Self {
        Self {
            header,
            path: "/",
            matched_len: 0,
            client_ip,
            route: "r",
            service: "s",
        }
    }
}

/// A request header with `headers` appended in order (plugin unit tests).
#[cfg(test)]
pub fn test_header(method: &str, uri: &str, headers: &[(&'static str, &str)]) -> RequestHeader {
    let mut header = RequestHeader::build(method, uri.as_bytes(), None).unwrap();
    for (name, value) in headers {
        header.append_header(*name, *value).unwrap();
    }
    header
}

/// A live plugin instance.
#[derive(Debug, Clone)]
pub enum PluginInstance {
    /// `correlation-id`.
    CorrelationId(Arc<correlation_id::CorrelationId>),
    /// `cors`.
    Cors(Arc<cors::Cors>),
    /// `key-auth`.
    KeyAuth(Arc<key_auth::KeyAuth>),
    /// `apikey-auth-plugin`.
    ApiKeyAuth(Arc<api_key::ApiKeyAuth>),
    /// `ip-restriction`.
    IpRestriction(Arc<ip_restriction::IpRestriction>),
    /// `request-size-limiting`.
    RequestSizeLimiting(Arc<request_size::RequestSizeLimiting>),
    /// `rate-limiting`.
    RateLimiting(Arc<rate_limiting::RateLimiting>),
}

impl PluginInstance {
    /// The plugin's name as in the file.
    pub fn name(&self) -> &'static str {
        PLUGIN_NAMES[self.rank()]
    }

    /// Kong's `PRIORITY`: higher runs first.
    pub fn priority(&self) -> u32 {
        match self {
            Self::CorrelationId(_) => 100_001,
            Self::Cors(_) => 2000,
            Self::KeyAuth(_) => 1250,
            Self::ApiKeyAuth(_) => 1000,
            Self::IpRestriction(_) => 990,
            Self::RequestSizeLimiting(_) => 951,
            Self::RateLimiting(_) => 910,
        }
    }

    /// Position in [`PLUGIN_NAMES`] (which lists the plugins in priority order).
    fn rank(&self) -> usize {
        match self {
            Self::CorrelationId(_) => 0,
            Self::Cors(_) => 1,
            Self::KeyAuth(_) => 2,
            Self::ApiKeyAuth(_) => 3,
            Self::IpRestriction(_) => 4,
            Self::RequestSizeLimiting(_) => 5,
            Self::RateLimiting(_) => 6,
        }
    }

    /// Runs the access phase.
    async fn access(&self, request: &AccessRequest<'_>, effects: &mut Effects) -> Flow {
        match self {
            Self::CorrelationId(plugin) => plugin.access(request, effects),
            Self::Cors(plugin) => plugin.access(request, effects),
            Self::KeyAuth(plugin) => plugin.access(request, effects),
            Self::ApiKeyAuth(plugin) => {
                let after_prefix = request.path.get(request.matched_len..).unwrap_or("");
                plugin
                    .access(request.header, request.path, after_prefix)
                    .await
            }
            Self::IpRestriction(plugin) => plugin.access(request),
            Self::RequestSizeLimiting(plugin) => plugin.access(request, effects),
            Self::RateLimiting(plugin) => plugin.access(request, effects).await,
        }
    }
}

/// What a plugin decided.
#[derive(Debug)]
pub enum Flow {
    /// Go on to the next plugin / the upstream.
    Continue,
    /// Answer the client with this response; the upstream is not called.
    Respond(LocalResponse),
}

/// A response the gateway writes itself.
#[derive(Debug, Clone)]
pub struct LocalResponse {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Bytes,
    /// `Content-Type`, if there is a body to describe.
    pub content_type: Option<&'static str>,
    /// Extra headers (`WWW-Authenticate`, `Retry-After`, CORS preflight headers, ...), applied
    /// after the request's [`Effects`].
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl LocalResponse {
    /// A JSON response.
    pub fn json(status: u16, body: Bytes) -> Self {
        Self {
            status,
            body,
            content_type: Some(crate::responses::JSON),
            headers: Vec::new(),
        }
    }

    /// An empty response (a CORS preflight answer).
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            body: Bytes::new(),
            content_type: None,
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The value of header `name`, if set (tests).
    pub fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value)
    }
}

/// The plugins that run for one route, in execution order.
#[derive(Debug, Clone, Default)]
pub struct PluginChain {
    plugins: Vec<PluginInstance>,
}

impl PluginChain {
    /// The chain of route `route` (of service `service`) from all configured `instances`: the most
    /// specific instance of each plugin, sorted by priority (highest first).
    pub fn resolve(
        instances: &[(PluginScope, PluginInstance)],
        route: usize,
        service: Option<usize>,
    ) -> Self {
        let mut plugins: Vec<PluginInstance> = Vec::new();
        let scopes = [
            Some(PluginScope::Route(route)),
            service.map(PluginScope::Service),
            Some(PluginScope::Global),
        ];
        for scope in scopes.into_iter().flatten() {
            for (instance_scope, instance) in instances {
                if *instance_scope == scope && !plugins.iter().any(|p| p.name() == instance.name())
                {
                    plugins.push(instance.clone());
                }
            }
        }
        plugins.sort_by_key(|plugin| Reverse(plugin.priority()));
        Self { plugins }
    }

    /// Whether no plugin runs.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// The plugins' names in execution order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.plugins.iter().map(PluginInstance::name)
    }

    /// Runs the access phase of every plugin; the first that answers ends the chain.
    pub async fn access(&self, request: &AccessRequest<'_>, effects: &mut Effects) -> Flow {
        for plugin in &self.plugins {
            if let Flow::Respond(response) = plugin.access(request, effects).await {
                return Flow::Respond(response);
            }
        }
        Flow::Continue
    }
}

/// A header value from text the config validated (or a number); `None` only for bytes that cannot
/// be in a header, which validation rules out.
pub(crate) fn header_value(text: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{CorrelationIdConfig, CorrelationIdGenerator, IpRestrictionConfig};

    fn correlation() -> PluginInstance {
        PluginInstance::CorrelationId(Arc::new(correlation_id::CorrelationId::new(
            CorrelationIdConfig {
                header_name: "kong-request-id".into(),
                generator: CorrelationIdGenerator::Uuid,
                echo_downstream: false,
            },
        )))
    }

    fn ip_restriction(status: u16) -> PluginInstance {
        PluginInstance::IpRestriction(Arc::new(ip_restriction::IpRestriction::new(
            IpRestrictionConfig {
                allow: Vec::new(),
                deny: vec!["10.0.0.0/8".parse().unwrap()],
                status,
                message: None,
            },
        )))
    }

    #[test]
    fn chains_prefer_route_over_service_over_global_and_run_by_priority() {
        let instances = vec![
            (PluginScope::Global, ip_restriction(401)),
            (PluginScope::Service(0), ip_restriction(402)),
            (PluginScope::Route(0), ip_restriction(403)),
            (PluginScope::Global, correlation()),
        ];

        let chain = PluginChain::resolve(&instances, 0, Some(0));
        assert_eq!(
            chain.names().collect::<Vec<_>>(),
            ["correlation-id", "ip-restriction"],
            "correlation-id (100001) before ip-restriction (990), one instance each"
        );
        let PluginInstance::IpRestriction(chosen) = &chain.plugins[1] else {
            panic!("expected ip-restriction")
        };
        assert_eq!(chosen.status(), 403, "the route's instance wins");

        let chain = PluginChain::resolve(&instances, 1, Some(0));
        let PluginInstance::IpRestriction(chosen) = &chain.plugins[1] else {
            panic!("expected ip-restriction")
        };
        assert_eq!(chosen.status(), 402, "then the service's");

        let chain = PluginChain::resolve(&instances, 1, Some(1));
        let PluginInstance::IpRestriction(chosen) = &chain.plugins[1] else {
            panic!("expected ip-restriction")
        };
        assert_eq!(chosen.status(), 401, "then the global one");
    }

    #[test]
    fn plugin_names_follow_priorities() {
        let instances = [correlation(), ip_restriction(403)];
        for instance in instances {
            assert_eq!(PLUGIN_NAMES[instance.rank()], instance.name());
        }
    }
}
