//! The admin API's Kong JSON: entities of the running snapshot in Kong's shapes (services, routes,
//! upstreams with their health checks, targets' health, plugins with their scope), Kong's 400 body
//! for a refused document, and the redaction of secrets in every document shown.

use std::net::SocketAddr;

use serde_json::{Value as Json, json};
use serde_yaml::Value as Yaml;

use crate::{
    config::{
        ConfigErrors,
        model::{
            Algorithm, Config, Healthchecks, PathHandling, PathPattern, ProbeKind, ServiceTarget,
        },
    },
    health::{self, Health},
    runtime::{Runtime, UpstreamRuntime},
};

/// Shown instead of a secret.
pub const REDACTED: &str = "<redacted>";

pub(super) fn summary(config: &Config) -> Json {
    json!({
        "services": config.services.len(),
        "routes": config.routes.len(),
        "upstreams": config.upstreams.len(),
        "plugins": config.plugins.len(),
    })
}

/// Kong's 400 body for a refused document.
pub(super) fn invalid_config(errors: &ConfigErrors, flatten: bool) -> Json {
    let mut fields = serde_json::Map::new();
    for error in &errors.errors {
        let key = if error.path.is_empty() {
            "@entity".to_owned()
        } else {
            error.path.clone()
        };
        fields.insert(key, Json::String(error.message.clone()));
    }
    let details: Vec<String> = errors.errors.iter().map(ToString::to_string).collect();
    let mut body = json!({
        "code": 14,
        "name": "invalid declarative configuration",
        "message": format!("declarative config is invalid: {}", details.join("; ")),
        "fields": fields,
    });
    if flatten {
        body["flattened_errors"] = errors
            .errors
            .iter()
            .map(|error| {
                json!({
                    "type": "field",
                    "field": error.path,
                    "line": error.line,
                    "message": error.message,
                })
            })
            .collect();
    }
    body
}

/// Replaces secrets in a document with [`REDACTED`]: credential and certificate keys and anything
/// named like a password, secret or token.
pub fn redact(value: &mut Yaml, in_credential: bool) {
    match value {
        Yaml::Mapping(map) => {
            for (key, child) in map.iter_mut() {
                let name = key.as_str().unwrap_or_default().to_ascii_lowercase();
                let secret = (in_credential && (name == "key" || name == "key_alt"))
                    || ["password", "secret", "token"]
                        .iter()
                        .any(|word| name.contains(word));
                if secret && !child.is_null() {
                    *child = Yaml::String(REDACTED.to_owned());
                } else {
                    redact(
                        child,
                        name == "keyauth_credentials" || name == "certificates",
                    );
                }
            }
        }
        Yaml::Sequence(items) => {
            for item in items {
                redact(item, in_credential);
            }
        }
        Yaml::Tagged(tagged) => redact(&mut tagged.value, in_credential),
        _ => {}
    }
}

pub(super) fn yaml_to_json(value: &Yaml) -> Json {
    serde_json::to_value(value).unwrap_or(Json::Null)
}

pub(super) fn service_json(runtime: &Runtime, index: usize) -> Json {
    let service = &runtime.config.services[index];
    let host = match &service.target {
        ServiceTarget::Upstream(upstream) => runtime.config.upstreams[*upstream].name.clone(),
        ServiceTarget::Host { host, .. } => host.clone(),
    };
    json!({
        "id": service.name,
        "name": service.name,
        "protocol": service.protocol,
        "host": host,
        "port": service.port,
        "path": service.path,
        "retries": service.retries,
        "connect_timeout": service.connect_timeout.as_millis() as u64,
        "write_timeout": service.write_timeout.as_millis() as u64,
        "read_timeout": service.read_timeout.as_millis() as u64,
        "enabled": service.enabled,
    })
}

pub(super) fn route_json(runtime: &Runtime, index: usize) -> Json {
    let route = &runtime.config.routes[index];
    let paths: Vec<String> = route
        .paths
        .iter()
        .map(|path| match path {
            PathPattern::Prefix(prefix) => prefix.clone(),
            PathPattern::Regex(regex) => format!("~{regex}"),
        })
        .collect();
    let headers: serde_json::Map<String, Json> = route
        .headers
        .iter()
        .map(|(name, values)| (name.clone(), json!(values)))
        .collect();
    json!({
        "id": route.name,
        "name": route.name,
        "service": route.service.map(|index| json!({ "id": runtime.config.services[index].name })),
        "paths": paths,
        "methods": if route.methods.is_empty() { Json::Null } else { json!(route.methods) },
        "hosts": if route.hosts.is_empty() { Json::Null } else { json!(route.hosts) },
        "headers": if headers.is_empty() { Json::Null } else { Json::Object(headers) },
        "protocols": ["http", "https"],
        "strip_path": route.strip_path,
        "preserve_host": route.preserve_host,
        "regex_priority": route.regex_priority,
        "path_handling": match route.path_handling {
            PathHandling::V0 => "v0",
            PathHandling::V1 => "v1",
        },
    })
}

fn healthchecks_json(checks: &Healthchecks) -> Json {
    let active = &checks.active;
    let passive = &checks.passive;
    json!({
        "threshold": checks.threshold,
        "active": {
            "type": match active.kind {
                ProbeKind::Http => "http",
                ProbeKind::Https => "https",
                ProbeKind::Tcp => "tcp",
            },
            "http_path": active.http_path,
            "https_sni": active.https_sni,
            "https_verify_certificate": active.https_verify_certificate,
            "timeout": active.timeout.as_secs_f64(),
            "concurrency": active.concurrency,
            "healthy": {
                "interval": active.healthy.interval.as_secs_f64(),
                "successes": active.healthy.successes,
                "http_statuses": active.healthy.http_statuses,
            },
            "unhealthy": {
                "interval": active.unhealthy.interval.as_secs_f64(),
                "http_failures": active.unhealthy.http_failures,
                "tcp_failures": active.unhealthy.tcp_failures,
                "timeouts": active.unhealthy.timeouts,
                "http_statuses": active.unhealthy.http_statuses,
            },
        },
        "passive": {
            "healthy": {
                "successes": passive.healthy.successes,
                "http_statuses": passive.healthy.http_statuses,
            },
            "unhealthy": {
                "http_failures": passive.unhealthy.http_failures,
                "tcp_failures": passive.unhealthy.tcp_failures,
                "timeouts": passive.unhealthy.timeouts,
                "http_statuses": passive.unhealthy.http_statuses,
            },
        },
    })
}

pub(super) fn upstream_json(runtime: &Runtime, index: usize) -> Json {
    let upstream = &runtime.config.upstreams[index];
    json!({
        "id": upstream.name,
        "name": upstream.name,
        "algorithm": match upstream.algorithm {
            Algorithm::RoundRobin => "round-robin",
            Algorithm::LeastConnections => "least-connections",
            Algorithm::ConsistentHashing => "consistent-hashing",
        },
        "host_header": upstream.host_header,
        "healthchecks": healthchecks_json(&upstream.healthchecks),
    })
}

/// One target's health, for `/upstreams/{name}/health` and the metrics.
pub(super) struct HealthRow {
    pub(super) upstream: String,
    pub(super) target: String,
    pub(super) address: String,
    pub(super) weight: u32,
    pub(super) health: Health,
}

pub(super) fn upstream_health_rows(upstream: &UpstreamRuntime) -> Vec<HealthRow> {
    let mut rows: Vec<HealthRow> = upstream
        .balancer
        .targets()
        .iter()
        .zip(&upstream.authorities)
        .map(|(target, authority)| HealthRow {
            upstream: upstream.name.clone(),
            target: authority.clone(),
            address: target.state.addr.to_string(),
            weight: target.weight,
            health: health::health_of(&target.state, &upstream.healthchecks),
        })
        .collect();
    rows.extend(upstream.unresolved.iter().map(|authority| HealthRow {
        upstream: upstream.name.clone(),
        target: authority.clone(),
        address: String::new(),
        weight: 0,
        health: Health::DnsError,
    }));
    rows
}

pub(super) fn health_rows(runtime: &Runtime) -> Vec<HealthRow> {
    runtime
        .upstreams
        .iter()
        .flat_map(|upstream| upstream_health_rows(upstream))
        .collect()
}

/// One target's row of `/upstreams/{name}/health`.
pub(super) fn target_health_json(row: &HealthRow) -> Json {
    let (ip, port) = row
        .address
        .parse::<SocketAddr>()
        .map(|addr| (Json::from(addr.ip().to_string()), Json::from(addr.port())))
        .unwrap_or((Json::Null, Json::Null));
    json!({
        "id": row.target,
        "target": row.target,
        "weight": row.weight,
        "upstream": { "id": row.upstream },
        "health": row.health.admin_name(),
        "data": {
            "addresses": [{
                "ip": ip,
                "port": port,
                "health": row.health.admin_name(),
                "weight": row.weight,
            }],
        },
    })
}

/// Every plugin entry of `value` (a document, a service or a route), with its scope.
pub(super) fn collect_plugins(
    value: &Yaml,
    service: Option<&str>,
    route: Option<&str>,
    out: &mut Vec<Json>,
) {
    let name_of = |entity: &Yaml| -> Option<String> {
        entity
            .get("name")
            .or_else(|| entity.get("id"))
            .and_then(Yaml::as_str)
            .map(str::to_owned)
    };
    if let Some(Yaml::Sequence(plugins)) = value.get("plugins") {
        for plugin in plugins {
            let mut entry = yaml_to_json(plugin);
            if let Json::Object(object) = &mut entry {
                object.entry("enabled").or_insert(Json::Bool(true));
                object.entry("config").or_insert(json!({}));
                if let Some(service) = service {
                    object.insert("service".into(), json!({ "id": service }));
                }
                if let Some(route) = route {
                    object.insert("route".into(), json!({ "id": route }));
                }
                for scope in ["service", "route", "consumer"] {
                    if let Some(Json::String(name)) = object.get(scope).cloned() {
                        object.insert(scope.into(), json!({ "id": name }));
                    }
                    object.entry(scope).or_insert(Json::Null);
                }
            }
            out.push(entry);
        }
    }
    for (collection, is_service) in [("services", true), ("routes", false)] {
        if let Some(Yaml::Sequence(entities)) = value.get(collection) {
            for entity in entities {
                let name = name_of(entity);
                if is_service {
                    collect_plugins(entity, name.as_deref(), None, out);
                } else {
                    collect_plugins(entity, service, name.as_deref(), out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_credential_keys_and_passwords_only() {
        let mut document: Yaml = serde_yaml::from_str(
            "consumers:\n  - username: ann\n    keyauth_credentials:\n      - key: s3cret\nkeyauth_credentials:\n  - key: other\n    consumer: ann\nplugins:\n  - name: rate-limiting\n    config: {minute: 10, redis_password: pw, key_names: [apikey]}\n",
        )
        .unwrap();
        redact(&mut document, false);
        let text = serde_yaml::to_string(&document).unwrap();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(!text.contains("other"), "{text}");
        assert!(!text.contains(": pw"), "{text}");
        assert!(text.contains("minute: 10"));
        assert!(text.contains("apikey"), "key_names are not secret: {text}");
        assert_eq!(text.matches(REDACTED).count(), 3, "{text}");
    }

    #[test]
    fn plugins_are_listed_with_their_scope() {
        let document: Yaml = serde_yaml::from_str(
            "plugins:\n  - name: cors\nservices:\n  - name: blog\n    plugins: [{name: key-auth}]\n    routes:\n      - name: read\n        plugins: [{name: rate-limiting, config: {minute: 5}}]\n",
        )
        .unwrap();
        let mut found = Vec::new();
        collect_plugins(&document, None, None, &mut found);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0]["name"], "cors");
        assert_eq!(found[0]["service"], Json::Null);
        assert_eq!(found[1]["service"]["id"], "blog");
        assert_eq!(found[2]["route"]["id"], "read");
        assert_eq!(found[2]["service"]["id"], "blog");
        assert_eq!(found[2]["config"]["minute"], 5);
        assert_eq!(found[2]["enabled"], true);
    }
}
