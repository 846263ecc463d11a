//! A route's plugins: [`PluginChain`] resolves which instances run for a route (Kong's precedence:
//! the route's instance beats its service's, which beats the global one; one instance per plugin
//! name), orders them by Kong's priorities and runs their access phases.

use std::cmp::Reverse;

use super::{
    effects::Effects,
    plugin::{AccessRequest, Flow},
    table::PluginInstance,
};
use crate::config::model::PluginScope;

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

    #[cfg(test)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::plugins::{
        correlation_id::{self, CorrelationIdConfig, CorrelationIdGenerator},
        ip_restriction::{self, IpRestrictionConfig},
    };

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
}
