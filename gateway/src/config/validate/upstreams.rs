//! `upstreams` and `targets` (nested in their upstream or top level): names, algorithms, hashing,
//! health checks, target addresses and weights.

use std::{collections::HashMap, net::IpAddr};

use serde_yaml::Value;

use super::lookup;
use crate::{
    address::{is_hostname, split_host_port},
    config::{
        healthchecks::{self, RawHealthchecks},
        model::{Algorithm, HashOn, Healthchecks, Target, Upstream},
        raw::{RawTarget, RawUpstream},
    },
    validator::Validator,
};

/// Kong's default target port.
const DEFAULT_TARGET_PORT: u16 = 8000;
/// Kong's default target weight.
const DEFAULT_WEIGHT: u32 = 100;
/// Largest allowed target weight.
const MAX_WEIGHT: i64 = 65_535;

impl Validator {
    /// Every upstream with its nested targets and the top-level `targets`; the index maps each
    /// upstream's name and id to its position.
    pub(super) fn upstreams(
        &mut self,
        values: &[Value],
        targets: &[Value],
    ) -> (Vec<Upstream>, HashMap<String, usize>) {
        let mut upstreams = Vec::new();
        let mut upstream_index: HashMap<String, usize> = HashMap::new();
        for (i, value) in values.iter().enumerate() {
            let path = format!("upstreams[{i}]");
            let Some((upstream, id)) = self.upstream(value, &path) else {
                continue;
            };
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
        for (i, value) in targets.iter().enumerate() {
            self.top_level_target(
                value,
                &format!("targets[{i}]"),
                &upstream_index,
                &mut upstreams,
            );
        }
        (upstreams, upstream_index)
    }

    /// A top-level target, added to the upstream it names.
    fn top_level_target(
        &mut self,
        value: &Value,
        path: &str,
        upstream_index: &HashMap<String, usize>,
        upstreams: &mut [Upstream],
    ) {
        let Some(raw) = self.de::<RawTarget>(value, path) else {
            return;
        };
        let Some(reference) = raw.upstream.clone() else {
            self.error(format!("{path}.upstream"), "required field missing");
            return;
        };
        match lookup(upstream_index, &reference) {
            Some(index) => {
                if let Some(target) = self.target(raw, path) {
                    self.add_target(&mut upstreams[index], target, path);
                }
            }
            None => self.error(
                format!("{path}.upstream"),
                format!("unknown upstream {:?}", reference.keys()),
            ),
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
        let algorithm = self.algorithm(raw.algorithm.as_deref(), &hash_on, path);
        if let Some(slots) = raw.slots
            && !(10..=65_536).contains(&slots)
        {
            self.error(
                format!("{path}.slots"),
                format!("{slots} is out of range 10..65536"),
            );
        }
        let healthchecks = self.upstream_healthchecks(raw.healthchecks.as_ref(), path);
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

    /// `algorithm`, consistent hashing when unset and `hash_on` is.
    fn algorithm(&mut self, raw: Option<&str>, hash_on: &HashOn, path: &str) -> Algorithm {
        match raw {
            None if *hash_on != HashOn::None => Algorithm::ConsistentHashing,
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
        }
    }

    /// `healthchecks`, Kong's defaults when unset.
    fn upstream_healthchecks(&mut self, value: Option<&Value>, path: &str) -> Healthchecks {
        match value {
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
        }
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
}
