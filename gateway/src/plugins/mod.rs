//! Plugins: built once per snapshot from the typed config, resolved per route into a
//! [`PluginChain`] (Kong's precedence: a route's instance beats its service's, which beats the
//! global one; one instance per plugin name), and run in the proxy's `request_filter`.
//!
//! - [`api_key`]: `apikey-auth-plugin`, the seed's API-key check against the auth replicas.

use std::sync::Arc;

use bytes::Bytes;
use pingora::http::RequestHeader;

use crate::config::model::PluginScope;

pub mod api_key;

/// A live plugin instance.
#[derive(Debug, Clone)]
pub enum PluginInstance {
    /// `apikey-auth-plugin`.
    ApiKeyAuth(Arc<api_key::ApiKeyAuth>),
}

impl PluginInstance {
    fn name(&self) -> &'static str {
        match self {
            Self::ApiKeyAuth(_) => crate::config::model::API_KEY_AUTH_PLUGIN,
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
    /// `Content-Type`.
    pub content_type: &'static str,
}

/// The plugins that run for one route, in order.
#[derive(Debug, Clone, Default)]
pub struct PluginChain {
    plugins: Vec<PluginInstance>,
}

impl PluginChain {
    /// The chain of route `route` (of service `service`) from all configured `instances`.
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
        Self { plugins }
    }

    /// Whether no plugin runs.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// Runs the access phase of every plugin; the first that answers ends the chain.
    pub async fn access(&self, request: &RequestHeader, path: &str) -> Flow {
        for plugin in &self.plugins {
            let flow = match plugin {
                PluginInstance::ApiKeyAuth(plugin) => plugin.access(request, path).await,
            };
            if let Flow::Respond(response) = flow {
                return Flow::Respond(response);
            }
        }
        Flow::Continue
    }
}
