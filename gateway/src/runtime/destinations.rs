//! Where a snapshot's requests go: each upstream with its balancer over the resolved targets
//! ([`UpstreamRuntime`]), each service's [`Destination`], and the name resolution they are built
//! from. Building carries over the live state ([`TargetState`]: health, in-flight counts) of every
//! target that exists in the previous snapshot too ([`CarriedTargets`]).

use std::{
    collections::HashMap,
    net::{SocketAddr, ToSocketAddrs},
    sync::{Arc, atomic::Ordering},
};

use http::HeaderValue;
use openssl::ssl::SslConnector;
use pingora::http::RequestHeader;

use super::Runtime;
use crate::{
    balancer::{Algorithm, BalancedTarget, Balancer, TargetState},
    config::{
        Config,
        model::{HashOn, Healthchecks, Service, ServiceTarget, Upstream, url_host},
    },
    tls::{self, UpstreamTlsRuntime},
};

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

/// Resolves `host:port` to one socket address (IP literals need no DNS).
pub fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    if let Ok(ip) = host.parse() {
        return Some(SocketAddr::new(ip, port));
    }
    (host, port).to_socket_addrs().ok()?.next()
}

/// The target states of the snapshot being replaced, by owner (an upstream's name, or
/// `service:<name>` for a single-host service) and address.
pub(super) struct CarriedTargets(HashMap<(String, SocketAddr), Arc<TargetState>>);

impl CarriedTargets {
    /// The target states of `previous`.
    pub(super) fn of(previous: Option<&Runtime>) -> Self {
        let mut carried = HashMap::new();
        let Some(previous) = previous else {
            return Self(carried);
        };
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
                carried.insert((service_owner(&service.service), state.addr), state.clone());
            }
        }
        Self(carried)
    }

    /// The carried state of `owner`'s target at `addr`, else a fresh one.
    fn state_for(&self, owner: String, addr: SocketAddr) -> Arc<TargetState> {
        self.0
            .get(&(owner, addr))
            .cloned()
            .unwrap_or_else(|| Arc::new(TargetState::new(addr)))
    }
}

/// The owner name of a single-host service's target.
fn service_owner(service: &Service) -> String {
    format!("service:{}", service.name)
}

/// The upstream `upstream` (at `index` of `config.upstreams`), its targets at the next of
/// `addresses` (in [`resolve_names`] order).
pub(super) fn build_upstream(
    index: usize,
    upstream: &Upstream,
    addresses: &mut impl Iterator<Item = Option<SocketAddr>>,
    carried: &CarriedTargets,
    config: &Config,
) -> Arc<UpstreamRuntime> {
    let mut targets = Vec::new();
    let mut host_headers = Vec::new();
    let mut authorities = Vec::new();
    let mut unresolved = Vec::new();
    for target in &upstream.targets {
        let Some(addr) = addresses.next().flatten() else {
            tracing::warn!(upstream = %upstream.name, target = %target.authority(), "target name does not resolve; it gets no traffic");
            unresolved.push(target.authority());
            continue;
        };
        targets.push(BalancedTarget {
            state: carried.state_for(upstream.name.clone(), addr),
            weight: target.weight,
        });
        host_headers.push(match &upstream.host_header {
            Some(configured) => header_value(configured),
            None => host_header(&target.host, target.port),
        });
        authorities.push(target.authority());
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
        probe_tls: tls::probe_connector(index, &upstream.healthchecks.active, config),
        healthchecks: upstream.healthchecks.clone(),
    })
}

/// What the proxy needs of `service`: its upstream among `upstreams`, or its host at the next of
/// `addresses`.
pub(super) fn build_service(
    service: &Service,
    upstreams: &[Arc<UpstreamRuntime>],
    addresses: &mut impl Iterator<Item = Option<SocketAddr>>,
    carried: &CarriedTargets,
    config: &Config,
) -> ServiceRuntime {
    let destination = match &service.target {
        ServiceTarget::Upstream(index) => Destination::Upstream(upstreams[*index].clone()),
        ServiceTarget::Host { host, port } => {
            let target = addresses
                .next()
                .flatten()
                .map(|addr| carried.state_for(service_owner(service), addr));
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
            .map(|tls| UpstreamTlsRuntime::build(tls, config)),
    }
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
