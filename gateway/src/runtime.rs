//! The running configuration: one immutable snapshot ([`Runtime`]) built from a validated
//! [`Config`] — compiled route table, per-service destinations with live balancers, and each route's
//! resolved plugin chain. Swapped whole on reload; each request keeps the one it started with.
//!
//! Building resolves target host names (blocking DNS: done off the request path, at start and in the
//! reload service) and carries over the live state ([`TargetState`]: health, in-flight counts) of every
//! target that exists in the previous snapshot too. Plugin instances are built here as well (one
//! consumer/credential table shared by every `key-auth`); a `rate-limiting` instance whose config and
//! scope (by name) are unchanged is kept whole, so its counters and Redis connection survive the
//! reload. Building starts no task, thread or connection.

use std::{
    collections::HashMap,
    net::{SocketAddr, ToSocketAddrs},
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use http::HeaderValue;
use openssl::ssl::SslConnector;
use pingora::http::RequestHeader;

use crate::{
    balancer::{Algorithm, BalancedTarget, Balancer, TargetState},
    config::{
        Config,
        model::{HashOn, Healthchecks, PluginScope, Route, Service, ServiceTarget, url_host},
        validate::route_spec,
    },
    metrics::{RouteMetrics, metrics},
    plugins::{
        BuildContext, PluginChain, PluginInstance,
        credentials::{ConsumerRecord, Credentials},
    },
    router::{RouteMatch, RouteTable},
    tls::{self, CertificateStore, UpstreamTlsRuntime},
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

/// Resolves every target and service host name of `config`, in a fixed order: upstream targets
/// in file order, then single-host services. IP literals are included (they never change).
pub fn resolve_names(config: &Config) -> Vec<Option<SocketAddr>> {
    let targets = config
        .upstreams
        .iter()
        .flat_map(|upstream| upstream.targets.iter())
        .map(|target| resolve(&target.host, target.port));
    let services = config
        .services
        .iter()
        .filter_map(|service| match &service.target {
            ServiceTarget::Host { host, port } => Some(resolve(host, *port)),
            ServiceTarget::Upstream(_) => None,
        });
    targets.chain(services).collect()
}

/// Whether `config` names any host by name (not an IP literal), so that re-resolving can change it.
pub fn has_host_names(config: &Config) -> bool {
    let is_name = |host: &str| host.parse::<std::net::IpAddr>().is_err();
    config
        .upstreams
        .iter()
        .flat_map(|upstream| upstream.targets.iter())
        .any(|target| is_name(&target.host))
        || config.services.iter().any(
            |service| matches!(&service.target, ServiceTarget::Host { host, .. } if is_name(host)),
        )
}

/// What the proxy needs of a service.
#[derive(Debug)]
pub struct ServiceRuntime {
    /// The service config.
    pub service: Service,
    /// Where requests go.
    pub destination: Destination,
    /// TLS to the targets (`protocol: https`).
    pub tls: Option<UpstreamTlsRuntime>,
}

/// A service's destination.
#[derive(Debug)]
pub enum Destination {
    /// Balanced over an upstream's targets.
    Upstream(Arc<UpstreamRuntime>),
    /// One host; `None` when its name did not resolve (→ 503 `name resolution failed`).
    Single {
        /// The resolved target.
        target: Option<Arc<TargetState>>,
        /// The `Host` header sent upstream (`host[:port]`).
        host_header: HeaderValue,
    },
}

/// An upstream with its balancer.
#[derive(Debug)]
pub struct UpstreamRuntime {
    /// Name.
    pub name: String,
    /// What consistent hashing hashes on.
    pub hash_on: HashOn,
    /// The balancer over the resolved targets.
    pub balancer: Balancer,
    /// Per balancer target: the `Host` header to send (`host_header`, else `host[:port]`).
    pub host_headers: Vec<HeaderValue>,
    /// Per balancer target: `host:port` as configured (admin API).
    pub authorities: Vec<String>,
    /// Targets whose names did not resolve (`host:port`).
    pub unresolved: Vec<String>,
    /// Active and passive health checks.
    pub healthchecks: Healthchecks,
    /// Whether the proxy feeds passive checks (some failure limit is set).
    pub passive_checks: bool,
    /// The TLS client of `https` active probes.
    pub probe_tls: Option<Arc<SslConnector>>,
}

/// Resolves `host:port` to one socket address (IP literals need no DNS).
pub fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    if let Ok(ip) = host.parse() {
        return Some(SocketAddr::new(ip, port));
    }
    (host, port).to_socket_addrs().ok()?.next()
}

impl Runtime {
    /// Builds a snapshot of `config`, reusing live target state from `previous`.
    pub fn build(config: Config, previous: Option<&Runtime>) -> Self {
        let config = Arc::new(config);
        let resolved = resolve_names(&config);
        let mut addresses = resolved.iter().copied();
        let mut carried: HashMap<(String, SocketAddr), Arc<TargetState>> = HashMap::new();
        if let Some(previous) = previous {
            for upstream in &previous.upstreams {
                for target in upstream.balancer.targets() {
                    carried.insert(
                        (upstream.name.clone(), target.state.addr),
                        target.state.clone(),
                    );
                }
            }
            for service in &previous.services {
                if let Destination::Single {
                    target: Some(state),
                    ..
                } = &service.destination
                {
                    carried.insert(
                        (format!("service:{}", service.service.name), state.addr),
                        state.clone(),
                    );
                }
            }
        }
        let state_for = |owner: String, addr: SocketAddr| -> Arc<TargetState> {
            carried
                .get(&(owner, addr))
                .cloned()
                .unwrap_or_else(|| Arc::new(TargetState::new(addr)))
        };

        let upstreams: Vec<Arc<UpstreamRuntime>> = config
            .upstreams
            .iter()
            .enumerate()
            .map(|(index, upstream)| {
                let mut targets = Vec::new();
                let mut host_headers = Vec::new();
                let mut authorities = Vec::new();
                let mut unresolved = Vec::new();
                for target in &upstream.targets {
                    match addresses.next().flatten() {
                        Some(addr) => {
                            targets.push(BalancedTarget {
                                state: state_for(upstream.name.clone(), addr),
                                weight: target.weight,
                            });
                            host_headers.push(match &upstream.host_header {
                                Some(configured) => header_value(configured),
                                None => host_header(&target.host, target.port),
                            });
                            authorities.push(target.authority());
                        }
                        None => {
                            tracing::warn!(upstream = %upstream.name, target = %target.authority(), "target name does not resolve; it gets no traffic");
                            unresolved.push(target.authority());
                        }
                    }
                }
                if !upstream.healthchecks.enabled() {
                    // Nothing could ever heal a target left unhealthy by a check that is now gone.
                    for target in &targets {
                        target.state.healthy.store(true, Ordering::Relaxed);
                    }
                }
                Arc::new(UpstreamRuntime {
                    name: upstream.name.clone(),
                    hash_on: upstream.hash_on.clone(),
                    balancer: Balancer::new(upstream.algorithm, targets),
                    host_headers,
                    authorities,
                    unresolved,
                    passive_checks: upstream.healthchecks.passive.enabled(),
                    probe_tls: tls::probe_connector(index, &upstream.healthchecks.active, &config),
                    healthchecks: upstream.healthchecks.clone(),
                })
            })
            .collect();

        let services = config
            .services
            .iter()
            .map(|service| {
                let destination = match &service.target {
                    ServiceTarget::Upstream(index) => Destination::Upstream(upstreams[*index].clone()),
                    ServiceTarget::Host { host, port } => {
                        let target = addresses
                            .next()
                            .flatten()
                            .map(|addr| state_for(format!("service:{}", service.name), addr));
                        if target.is_none() {
                            tracing::warn!(service = %service.name, host = %host, "service host does not resolve; requests get 503 until it does");
                        }
                        Destination::Single {
                            target,
                            host_header: host_header(host, *port),
                        }
                    }
                };
                ServiceRuntime {
                    service: service.clone(),
                    destination,
                    tls: service
                        .tls
                        .as_ref()
                        .map(|tls| UpstreamTlsRuntime::build(tls, &config)),
                }
            })
            .collect();

        // Enabled routes only: a disabled service's routes are dropped (Kong 3.x → 404).
        let enabled_routes: Vec<usize> = (0..config.routes.len())
            .filter(|&index| route_enabled(&config.routes[index], &config))
            .collect();
        let specs: Vec<_> = enabled_routes
            .iter()
            .map(|&index| route_spec(&config.routes[index]))
            .collect();
        let routes = RouteTable::build(&specs).unwrap_or_else(|errors| {
            // Validation compiled the same specs, so this cannot happen; never panic on it though.
            tracing::error!(?errors, "BUG: validated routes failed to compile");
            RouteTable::build(&[]).expect("BUG: an empty route table always builds")
        });

        let credentials = Arc::new(credentials(&config));
        let previous_plugins = previous.map_or(&[][..], |previous| &previous.plugins[..]);
        let instances: Vec<(PluginScope, PluginInstance)> = config
            .plugins
            .iter()
            .map(|plugin| {
                let (route, service) = match plugin.scope {
                    PluginScope::Global => (None, None),
                    PluginScope::Service(index) => {
                        (None, Some(config.services[index].name.as_str()))
                    }
                    PluginScope::Route(index) => (Some(config.routes[index].name.as_str()), None),
                };
                let context = BuildContext {
                    credentials: &credentials,
                    route,
                    service,
                };
                let instance = PluginInstance::build(&plugin.config, &context, previous_plugins);
                (plugin.scope, instance)
            })
            .collect();
        let route_plugins = config
            .routes
            .iter()
            .enumerate()
            .map(|(index, route)| PluginChain::resolve(&instances, index, route.service))
            .collect();

        let route_metrics = config
            .routes
            .iter()
            .map(|route| {
                let service = route
                    .service
                    .map_or("", |index| config.services[index].name.as_str());
                metrics().route(service, &route.name)
            })
            .collect();

        let certificates = match previous {
            Some(previous)
                if previous.config.certificates == config.certificates
                    && previous.config.default_certificate == config.default_certificate =>
            {
                previous.certificates.clone()
            }
            _ => Arc::new(CertificateStore::build(&config)),
        };

        Self {
            certificates,
            config,
            routes,
            enabled_routes,
            services,
            route_plugins,
            upstreams,
            route_metrics,
            resolved,
            plugins: instances
                .into_iter()
                .map(|(_, instance)| instance)
                .collect(),
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

/// The consumers and key-auth credentials of `config`, as the plugins use them.
pub(crate) fn credentials(config: &Config) -> Credentials {
    let consumers = config
        .consumers
        .iter()
        .map(|consumer| {
            ConsumerRecord::new(
                &consumer.id,
                consumer.username.clone(),
                consumer.custom_id.clone(),
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

/// `host` or `host:port` when the port is not 80 (Kong's rule for plain HTTP); an IPv6 literal
/// in brackets.
fn host_header(host: &str, port: u16) -> HeaderValue {
    let host = url_host(host);
    if port == 80 {
        header_value(&host)
    } else {
        header_value(&format!("{host}:{port}"))
    }
}

/// A `Host` value the config validation already accepted (host names, IPs, `host_header`).
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("BUG: config validation admits only valid Host values")
}

impl UpstreamRuntime {
    /// Whether the healthy targets carry less than `healthchecks.threshold` percent of the total
    /// weight, which takes the whole upstream down (Kong's threshold; 0 = never).
    pub fn below_threshold(&self) -> bool {
        let threshold = self.healthchecks.threshold;
        if threshold <= 0.0 {
            return false;
        }
        let (healthy, total) =
            self.balancer
                .targets()
                .iter()
                .fold((0u64, 0u64), |(healthy, total), target| {
                    let weight = u64::from(target.weight);
                    let healthy_weight = if target.state.is_healthy() { weight } else { 0 };
                    (healthy + healthy_weight, total + weight)
                });
        total > 0 && (healthy as f64) * 100.0 < threshold * (total as f64)
    }

    /// The consistent-hashing key of a request, if the upstream hashes.
    pub fn hash_key<'a>(
        &self,
        request: &'a RequestHeader,
        client_ip: Option<&'a [u8]>,
    ) -> Option<&'a [u8]> {
        if self.balancer.algorithm() != Algorithm::ConsistentHashing {
            return None;
        }
        match &self.hash_on {
            HashOn::None => None,
            HashOn::Ip => client_ip,
            HashOn::Path => Some(request.uri.path().as_bytes()),
            HashOn::Header(name) => request
                .headers
                .get(name.as_str())
                .map(|value| value.as_bytes()),
            HashOn::Cookie(name) => request
                .headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(';'))
                .find_map(|pair| {
                    let (key, value) = pair.trim().split_once('=')?;
                    (key == name).then_some(value.as_bytes())
                }),
            HashOn::QueryArg(name) => request.uri.query().and_then(|query| {
                query.split('&').find_map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (key == name).then_some(value.as_bytes())
                })
            }),
        }
    }
}

/// How long an idle pooled upstream connection may be reused.
pub fn idle_timeout(config: &Config) -> Duration {
    config.gateway.upstream_idle_timeout
}

#[cfg(test)]
mod tests {
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
