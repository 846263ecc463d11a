//! The running configuration: one immutable snapshot ([`Runtime`]) built from a validated
//! [`Config`]: the compiled route table, per-service destinations with live balancers
//! ([`destinations`]), and each route's resolved plugin chain. Swapped whole on reload; each request
//! keeps the one it started with.
//!
//! Building resolves target host names (blocking DNS: done off the request path, at start and in the
//! reload service) and carries over the live state of every target that exists in the previous
//! snapshot too. Plugin instances are built here as well (one consumer/credential table shared by
//! every `key-auth`); an instance its plugin keeps (a `rate-limiting` whose config and scope are
//! unchanged) survives the reload with its counters and Redis connection. Building starts no task,
//! thread or connection.

use std::{net::SocketAddr, sync::Arc};

use crate::{
    config::{
        Config,
        model::{PluginScope, Route},
    },
    metrics::{RouteMetrics, metrics},
    plugins::{
        BuildContext, PluginChain, PluginInstance,
        credentials::{ConsumerRecord, Credentials},
    },
    router::{RouteMatch, RouteTable},
    tls::CertificateStore,
};

mod destinations;

use destinations::{CarriedTargets, build_service, build_upstream};
pub use destinations::{
    Destination, ServiceRuntime, UpstreamRuntime, has_host_names, resolve, resolve_names,
};

/// One immutable snapshot of everything a request needs.
#[derive(Debug)]
pub struct Runtime {
    /// The config it was built from (admin API, `GET /config`).
    pub config: Arc<Config>,
    /// Compiled routes of enabled services; see [`Runtime::find_route`].
    routes: RouteTable,
    /// Route-table index → index in `config.routes`.
    enabled_routes: Vec<usize>,
    /// Per service (indices match `config.services`).
    pub services: Vec<ServiceRuntime>,
    /// Per route: the plugins that run for it (route > service > global).
    pub route_plugins: Vec<PluginChain>,
    /// Upstreams by name (admin API, health checks).
    pub upstreams: Vec<Arc<UpstreamRuntime>>,
    /// Every plugin instance, so that the next snapshot can keep the ones that keep their state
    /// (rate-limiting counters) when their config and scope did not change.
    plugins: Vec<PluginInstance>,
    /// Per route: its latency histograms.
    pub route_metrics: Vec<RouteMetrics>,
    /// Every name lookup the build made, in [`resolve_names`] order (periodic re-resolution
    /// compares against it).
    pub resolved: Vec<Option<SocketAddr>>,
    /// The TLS listener's certificates by SNI (kept from the previous snapshot when unchanged).
    pub certificates: Arc<CertificateStore>,
}

impl Runtime {
    /// Builds a snapshot of `config`, reusing live target state and kept plugin instances from
    /// `previous`.
    pub fn build(config: Config, previous: Option<&Runtime>) -> Self {
        let config = Arc::new(config);
        let resolved = resolve_names(&config);
        let mut addresses = resolved.iter().copied();
        let carried = CarriedTargets::of(previous);
        let upstreams: Vec<Arc<UpstreamRuntime>> = config
            .upstreams
            .iter()
            .enumerate()
            .map(|(index, upstream)| {
                build_upstream(index, upstream, &mut addresses, &carried, &config)
            })
            .collect();
        let services = config
            .services
            .iter()
            .map(|service| build_service(service, &upstreams, &mut addresses, &carried, &config))
            .collect();
        let (routes, enabled_routes) = route_table(&config);
        let previous_plugins = previous.map_or(&[][..], |previous| &previous.plugins[..]);
        let (route_plugins, plugins) = plugin_chains(&config, previous_plugins);
        Self {
            certificates: certificates(&config, previous),
            route_metrics: route_metrics(&config),
            routes,
            enabled_routes,
            services,
            route_plugins,
            upstreams,
            resolved,
            plugins,
            config,
        }
    }

    /// The route matching a request: (index in `config.routes`, how much of the path matched).
    pub fn find_route(
        &self,
        method: &str,
        host: Option<&str>,
        path: &str,
        headers: &http::HeaderMap,
    ) -> Option<(usize, RouteMatch)> {
        let found = self.routes.find(method, host, path, headers)?;
        Some((self.enabled_routes[found.route], found))
    }

    /// The route at `index` of `config.routes`.
    pub fn route(&self, index: usize) -> &Route {
        &self.config.routes[index]
    }
}

/// The route table of `config`'s enabled routes (a disabled service's routes are dropped: Kong
/// 3.x answers 404), and each table entry's index in `config.routes`.
fn route_table(config: &Config) -> (RouteTable, Vec<usize>) {
    let enabled_routes: Vec<usize> = (0..config.routes.len())
        .filter(|&index| route_enabled(&config.routes[index], config))
        .collect();
    let specs: Vec<_> = enabled_routes
        .iter()
        .map(|&index| config.routes[index].spec())
        .collect();
    let routes = RouteTable::build(&specs).unwrap_or_else(|errors| {
        // Validation compiled the same specs, so this cannot happen; never panic on it though.
        tracing::error!(?errors, "BUG: validated routes failed to compile");
        RouteTable::build(&[]).expect("BUG: an empty route table always builds")
    });
    (routes, enabled_routes)
}

/// Every plugin instance of `config` (kept from `previous` where its plugin keeps it), and each
/// route's chain of them.
fn plugin_chains(
    config: &Config,
    previous: &[PluginInstance],
) -> (Vec<PluginChain>, Vec<PluginInstance>) {
    let credentials = Arc::new(credentials(config));
    let instances: Vec<(PluginScope, PluginInstance)> = config
        .plugins
        .iter()
        .map(|plugin| {
            let (route, service) = match plugin.scope {
                PluginScope::Global => (None, None),
                PluginScope::Service(index) => (None, Some(config.services[index].name.as_str())),
                PluginScope::Route(index) => (Some(config.routes[index].name.as_str()), None),
            };
            let context = BuildContext {
                credentials: &credentials,
                route,
                service,
            };
            let instance = PluginInstance::build(&plugin.config, &context, previous);
            (plugin.scope, instance)
        })
        .collect();
    let chains = config
        .routes
        .iter()
        .enumerate()
        .map(|(index, route)| PluginChain::resolve(&instances, index, route.service))
        .collect();
    (
        chains,
        instances
            .into_iter()
            .map(|(_, instance)| instance)
            .collect(),
    )
}

/// Each route's latency histograms.
fn route_metrics(config: &Config) -> Vec<RouteMetrics> {
    config
        .routes
        .iter()
        .map(|route| {
            let service = route
                .service
                .map_or("", |index| config.services[index].name.as_str());
            metrics().route(service, &route.name)
        })
        .collect()
}

/// The TLS listener's certificates: `previous`'s when they did not change.
fn certificates(config: &Config, previous: Option<&Runtime>) -> Arc<CertificateStore> {
    match previous {
        Some(previous)
            if previous.config.certificates == config.certificates
                && previous.config.default_certificate == config.default_certificate =>
        {
            previous.certificates.clone()
        }
        _ => Arc::new(CertificateStore::build(config)),
    }
}

/// The consumers and key-auth credentials of `config`, as the plugins use them.
pub(crate) fn credentials(config: &Config) -> Credentials {
    let consumers = config
        .consumers
        .iter()
        .map(|consumer| {
            ConsumerRecord::new(
                &consumer.id,
                consumer.username.as_deref(),
                consumer.custom_id.as_deref(),
            )
        })
        .collect();
    let keys = config.keyauth_credentials.iter().map(|credential| {
        (
            credential.key.expose(),
            credential.id.as_str(),
            credential.consumer,
        )
    });
    Credentials::new(consumers, keys)
}

fn route_enabled(route: &Route, config: &Config) -> bool {
    route
        .service
        .is_none_or(|service| config.services[service].enabled)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use crate::config;

    fn config_with(targets: &[&str]) -> Config {
        let targets: String = targets
            .iter()
            .map(|t| format!("      - target: \"{t}\"\n"))
            .collect();
        let text = format!(
            "_format_version: \"3.0\"\nservices:\n  - name: s\n    url: http://pool\n    routes: [{{paths: [/s]}}]\nupstreams:\n  - name: pool\n    healthchecks: {{passive: {{unhealthy: {{tcp_failures: 1}}}}}}\n    targets:\n{targets}"
        );
        config::parse(&text, "test").unwrap()
    }

    #[test]
    fn rebuilding_keeps_the_live_state_of_targets_present_in_both_configs() {
        let first = Runtime::build(config_with(&["127.0.0.1:9001", "127.0.0.1:9002"]), None);
        let kept = first.upstreams[0].balancer.targets()[0].state.clone();
        kept.healthy
            .store(false, std::sync::atomic::Ordering::Relaxed);

        let second = Runtime::build(
            config_with(&["127.0.0.1:9001", "127.0.0.1:9003"]),
            Some(&first),
        );

        let targets = second.upstreams[0].balancer.targets();
        assert!(
            Arc::ptr_eq(&targets[0].state, &kept),
            "9001 keeps its state"
        );
        assert!(!targets[0].state.is_healthy(), "and so its health");
        assert!(
            targets[1].state.is_healthy(),
            "9003 is new and starts healthy"
        );
    }

    #[test]
    fn removing_every_health_check_heals_targets_nothing_could_heal_any_more() {
        let first = Runtime::build(config_with(&["127.0.0.1:9001"]), None);
        let state = first.upstreams[0].balancer.targets()[0].state.clone();
        state
            .healthy
            .store(false, std::sync::atomic::Ordering::Relaxed);
        let text = "_format_version: \"3.0\"\nservices:\n  - name: s\n    url: http://pool\nupstreams:\n  - name: pool\n    targets: [{target: \"127.0.0.1:9001\"}]\n";
        let second = Runtime::build(config::parse(text, "test").unwrap(), Some(&first));
        assert!(Arc::ptr_eq(
            &second.upstreams[0].balancer.targets()[0].state,
            &state
        ));
        assert!(state.is_healthy());
    }

    #[test]
    fn re_resolving_an_unchanged_config_finds_no_change() {
        let text = "_format_version: \"3.0\"\nservices:\n  - name: a\n    url: http://pool\n  - name: b\n    url: http://localhost:9009\n  - name: c\n    url: http://no-such-host.invalid:1\nupstreams:\n  - name: pool\n    targets: [{target: \"localhost:9001\"}, {target: \"127.0.0.1:9002\"}]\n";
        let config = config::parse(text, "test").unwrap();
        assert!(has_host_names(&config));
        let runtime = Runtime::build(config, None);
        assert_eq!(
            runtime.resolved.len(),
            4,
            "2 targets and 2 single-host services"
        );
        assert_eq!(resolve_names(&runtime.config), runtime.resolved);
        assert_eq!(
            runtime.resolved[3], None,
            "the .invalid name does not resolve"
        );
        assert!(!has_host_names(&config_with(&["127.0.0.1:1"])));
    }

    #[test]
    fn an_ipv6_target_or_service_host_is_sent_in_brackets() {
        let runtime = Runtime::build(config_with(&["[::1]:9001", "127.0.0.1:80"]), None);
        let upstream = &runtime.upstreams[0];
        assert_eq!(upstream.host_headers[0], "[::1]:9001");
        assert_eq!(upstream.authorities[0], "[::1]:9001");
        assert_eq!(upstream.host_headers[1], "127.0.0.1", "port 80 is left out");

        let text = "_format_version: \"3.0\"\nservices:\n  - name: a\n    url: http://[::1]:9009\n  - name: b\n    url: http://[::1]\n";
        let runtime = Runtime::build(config::parse(text, "test").unwrap(), None);
        let hosts: Vec<&HeaderValue> = runtime
            .services
            .iter()
            .map(|service| match &service.destination {
                Destination::Single { host_header, .. } => host_header,
                Destination::Upstream(_) => panic!("a single host"),
            })
            .collect();
        assert_eq!(hosts, ["[::1]:9009", "[::1]"]);
    }
}
