//! The admin API (spec gateway.md section 5): a Kong-compatible, read-mostly subset on its own
//! listener (`_gateway.admin_listen`, loopback by default), served by axum inside a Pingora
//! background service.
//!
//! Read endpoints render the *current* snapshot in Kong's shapes (`{"data": [...], "next": null}`);
//! `POST /config` validates a whole new document and swaps it in through the [`Reloader`], or
//! answers 400 with every field error and changes nothing. Secrets (key-auth keys, passwords) are
//! redacted in every output (certificate keys included: [`certificates`]). Writes to single
//! entities get Kong's DB-less 405.
//!
//! Every request first passes [`guard`]: no cross-site browser requests, no foreign `Host`
//! (DNS rebinding), the admin token when one is set; `POST /config` takes only JSON or YAML.

use std::{net::SocketAddr, sync::Arc};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use axum::{
    Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use pingora::{server::ShutdownWatch, services::background::BackgroundService};
use serde_json::{Value as Json, json};
use serde_yaml::Value as Yaml;

mod certificates;
mod guard;

use crate::{
    config::{
        self, Config, ConfigErrors,
        model::{Healthchecks, PathPattern, ProbeKind, ServiceTarget},
    },
    health::{self, Health},
    metrics::metrics,
    reload::{ReloadSource, Reloader},
    runtime::{Runtime, UpstreamRuntime},
};

/// Shown instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// What the handlers share.
#[derive(Clone)]
struct AdminState {
    /// The address the admin listener is bound to (the `Host` check's reference).
    listen: SocketAddr,
    state: Arc<ArcSwap<Runtime>>,
    reloader: Arc<Reloader>,
    node_id: String,
}

/// The admin listener as a Pingora background service.
pub struct AdminService {
    listen: SocketAddr,
    state: AdminState,
}

impl AdminService {
    /// An admin API on `listen` over the snapshots in `state`, reloading through `reloader`.
    pub fn new(listen: SocketAddr, state: Arc<ArcSwap<Runtime>>, reloader: Arc<Reloader>) -> Self {
        Self {
            listen,
            state: AdminState {
                listen,
                state,
                reloader,
                node_id: uuid::Uuid::new_v4().to_string(),
            },
        }
    }
}

#[async_trait]
impl BackgroundService for AdminService {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let listener = match tokio::net::TcpListener::bind(self.listen).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::error!(listen = %self.listen, error = %err, "cannot open the admin listener; the admin API is off");
                return;
            }
        };
        tracing::info!(listen = %self.listen, "admin API listening");
        let app = router(self.state.clone());
        let stopped = async move {
            let _ = shutdown.changed().await;
        };
        if let Err(err) = axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(error = %err, "admin API stopped");
        }
    }
}

fn router(state: AdminState) -> Router {
    Router::new()
        .route("/", get(node_info))
        .route("/status", get(status))
        .route("/metrics", get(prometheus))
        .route("/config", get(get_config).post(post_config))
        .route("/services", get(services).fallback(unsupported))
        .route("/services/{name}", get(service).fallback(unsupported))
        .route("/services/{name}/routes", get(service_routes))
        .route("/routes", get(routes).fallback(unsupported))
        .route("/routes/{name}", get(route).fallback(unsupported))
        .route("/upstreams", get(upstreams).fallback(unsupported))
        .route("/upstreams/{name}", get(upstream).fallback(unsupported))
        .route(
            "/upstreams/{name}/targets",
            get(targets).fallback(unsupported),
        )
        .route("/upstreams/{name}/health", get(upstream_health))
        .route("/plugins", get(plugins).fallback(unsupported))
        .route(
            "/certificates",
            get(certificates::certificates).fallback(unsupported),
        )
        .route(
            "/certificates/{id}",
            get(certificates::certificate).fallback(unsupported),
        )
        .route("/snis", get(certificates::all_snis).fallback(unsupported))
        .route("/snis/{name}", get(certificates::sni).fallback(unsupported))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::admin_guard,
        ))
        .with_state(state)
}

/// A JSON response.
fn reply(status: StatusCode, body: Json) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: Json) -> Response {
    reply(StatusCode::OK, body)
}

fn list(data: Vec<Json>) -> Response {
    ok(json!({ "data": data, "next": null }))
}

fn not_found_response() -> Response {
    reply(StatusCode::NOT_FOUND, json!({ "message": "Not found" }))
}

async fn not_found() -> Response {
    not_found_response()
}

/// Kong's DB-less answer to entity writes.
async fn unsupported(uri: axum::http::Uri) -> Response {
    let entity = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    reply(
        StatusCode::METHOD_NOT_ALLOWED,
        json!({
            "code": 12,
            "name": "operation unsupported",
            "message": format!("cannot create '{entity}' entities when not using a database; POST /config or edit the file"),
        }),
    )
}

async fn node_info(State(admin): State<AdminState>) -> Response {
    let runtime = admin.state.load();
    let config = &runtime.config;
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default();
    let mut enabled: Vec<&str> = config.plugins.iter().map(|plugin| plugin.name()).collect();
    enabled.sort_unstable();
    enabled.dedup();
    ok(json!({
        "tagline": "Welcome to the gateway",
        "version": env!("CARGO_PKG_VERSION"),
        "hostname": hostname,
        "node_id": admin.node_id,
        "plugins": {
            "available_on_server": crate::plugins::PLUGIN_NAMES,
            "enabled_in_cluster": enabled,
        },
        "configuration": {
            "config_file": admin.reloader.path().display().to_string(),
            "proxy_listen": config.gateway.proxy_listen.to_string(),
            "admin_listen": config.gateway.admin_listen.to_string(),
            "threads": config.gateway.threads,
            "database": "off",
            "_format_version": config.format_version,
            "services": config.services.len(),
            "routes": config.routes.len(),
            "upstreams": config.upstreams.len(),
            "plugins": config.plugins.len(),
        },
        "pid": std::process::id(),
    }))
}

async fn status(State(admin): State<AdminState>) -> Response {
    let reload = admin.reloader.status();
    ok(json!({
        "server": {
            // Pingora does not expose connection counts; requests in flight stand in for them.
            "connections_active": metrics().in_flight(),
            "total_requests": metrics().total_requests(),
        },
        "reload": reload,
        "database": { "reachable": true },
    }))
}

async fn prometheus(State(admin): State<AdminState>) -> Response {
    let runtime = admin.state.load();
    let reload = admin.reloader.status();
    let metrics = metrics();
    metrics.set_reloads(reload.count - reload.failed, reload.failed);
    let rows = health_rows(&runtime);
    metrics.set_target_health(rows.iter().map(|row| {
        (
            row.upstream.as_str(),
            row.target.as_str(),
            row.address.as_str(),
            row.health.metric_name(),
        )
    }));
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics.render(),
    )
        .into_response()
}

async fn get_config(State(admin): State<AdminState>) -> Response {
    let runtime = admin.state.load();
    let mut document = runtime.config.source.0.clone();
    redact(&mut document, false);
    match serde_yaml::to_string(&document) {
        Ok(text) => ok(json!({ "config": text })),
        Err(err) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "message": format!("cannot render the config: {err}") }),
        ),
    }
}

#[derive(serde::Deserialize)]
struct ConfigQuery {
    flatten_errors: Option<String>,
}

async fn post_config(
    State(admin): State<AdminState>,
    Query(query): Query<ConfigQuery>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    if !is_config_media_type(headers.get(header::CONTENT_TYPE)) {
        return reply(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            json!({ "message": "send the configuration as application/json or application/yaml (Content-Type)" }),
        );
    }
    let Some(text) = config_text(&body) else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({ "message": "expected a declarative configuration" }),
        );
    };
    let parsed = config::parse(&text, "admin API");
    let summary = parsed.as_ref().ok().map(summary);
    match admin.reloader.apply(parsed, ReloadSource::Admin).await {
        Ok(()) => reply(
            StatusCode::CREATED,
            json!({ "message": "configuration applied", "summary": summary }),
        ),
        Err(errors) => {
            let flatten = query
                .flatten_errors
                .as_deref()
                .is_some_and(|value| matches!(value, "1" | "true" | "on" | "yes"));
            reply(StatusCode::BAD_REQUEST, invalid_config(&errors, flatten))
        }
    }
}

/// JSON or YAML: the types a browser cannot send to another site without asking first (a form or
/// `text/plain` can be sent by any page).
fn is_config_media_type(content_type: Option<&axum::http::HeaderValue>) -> bool {
    let Some(essence) = content_type
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
    else {
        return false;
    };
    let essence = essence.trim();
    [
        "application/json",
        "application/yaml",
        "application/x-yaml",
        "text/yaml",
        "text/x-yaml",
    ]
    .iter()
    .any(|allowed| essence.eq_ignore_ascii_case(allowed))
}

/// The document in a `POST /config` body: the raw YAML/JSON text, or a JSON object
/// `{"config": "<text>"}` as Kong also accepts.
fn config_text(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(Json::Object(object)) = serde_json::from_str::<Json>(text)
        && object.len() == 1
        && let Some(Json::String(inner)) = object.get("config")
    {
        return Some(inner.clone());
    }
    Some(text.to_owned())
}

fn summary(config: &Config) -> Json {
    json!({
        "services": config.services.len(),
        "routes": config.routes.len(),
        "upstreams": config.upstreams.len(),
        "plugins": config.plugins.len(),
    })
}

/// Kong's 400 body for a refused document.
fn invalid_config(errors: &ConfigErrors, flatten: bool) -> Json {
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

fn yaml_to_json(value: &Yaml) -> Json {
    serde_json::to_value(value).unwrap_or(Json::Null)
}

fn service_json(runtime: &Runtime, index: usize) -> Json {
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

fn route_json(runtime: &Runtime, index: usize) -> Json {
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
            config::model::PathHandling::V0 => "v0",
            config::model::PathHandling::V1 => "v1",
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

fn upstream_json(runtime: &Runtime, index: usize) -> Json {
    let upstream = &runtime.config.upstreams[index];
    json!({
        "id": upstream.name,
        "name": upstream.name,
        "algorithm": match upstream.algorithm {
            config::model::Algorithm::RoundRobin => "round-robin",
            config::model::Algorithm::LeastConnections => "least-connections",
            config::model::Algorithm::ConsistentHashing => "consistent-hashing",
        },
        "host_header": upstream.host_header,
        "healthchecks": healthchecks_json(&upstream.healthchecks),
    })
}

/// The index of the entity named `wanted`.
fn find<'a>(mut names: impl Iterator<Item = &'a str>, wanted: &str) -> Option<usize> {
    names.position(|name| name == wanted)
}

/// The entity named `wanted` rendered by `render`, or Kong's 404.
fn by_name<'a>(
    names: impl Iterator<Item = &'a str>,
    wanted: &str,
    render: impl FnOnce(usize) -> Json,
) -> Response {
    find(names, wanted).map_or_else(not_found_response, |index| ok(render(index)))
}

async fn services(State(admin): State<AdminState>) -> Response {
    let runtime = admin.state.load();
    list(
        (0..runtime.config.services.len())
            .map(|index| service_json(&runtime, index))
            .collect(),
    )
}

async fn service(State(admin): State<AdminState>, Path(name): Path<String>) -> Response {
    let runtime = admin.state.load();
    by_name(
        runtime.config.services.iter().map(|s| s.name.as_str()),
        &name,
        |index| service_json(&runtime, index),
    )
}

async fn service_routes(State(admin): State<AdminState>, Path(name): Path<String>) -> Response {
    let runtime = admin.state.load();
    let Some(service) = find(
        runtime.config.services.iter().map(|s| s.name.as_str()),
        &name,
    ) else {
        return not_found_response();
    };
    list(
        (0..runtime.config.routes.len())
            .filter(|&index| runtime.config.routes[index].service == Some(service))
            .map(|index| route_json(&runtime, index))
            .collect(),
    )
}

async fn routes(State(admin): State<AdminState>) -> Response {
    let runtime = admin.state.load();
    list(
        (0..runtime.config.routes.len())
            .map(|index| route_json(&runtime, index))
            .collect(),
    )
}

async fn route(State(admin): State<AdminState>, Path(name): Path<String>) -> Response {
    let runtime = admin.state.load();
    by_name(
        runtime.config.routes.iter().map(|r| r.name.as_str()),
        &name,
        |index| route_json(&runtime, index),
    )
}

async fn upstreams(State(admin): State<AdminState>) -> Response {
    let runtime = admin.state.load();
    list(
        (0..runtime.config.upstreams.len())
            .map(|index| upstream_json(&runtime, index))
            .collect(),
    )
}

async fn upstream(State(admin): State<AdminState>, Path(name): Path<String>) -> Response {
    let runtime = admin.state.load();
    by_name(
        runtime.config.upstreams.iter().map(|u| u.name.as_str()),
        &name,
        |index| upstream_json(&runtime, index),
    )
}

async fn targets(State(admin): State<AdminState>, Path(name): Path<String>) -> Response {
    let runtime = admin.state.load();
    let Some(index) = find(
        runtime.config.upstreams.iter().map(|u| u.name.as_str()),
        &name,
    ) else {
        return not_found_response();
    };
    let upstream = &runtime.config.upstreams[index];
    list(
        upstream
            .targets
            .iter()
            .map(|target| {
                json!({
                    "id": target.authority(),
                    "target": target.authority(),
                    "weight": target.weight,
                    "upstream": { "id": upstream.name },
                })
            })
            .collect(),
    )
}

/// One target's health, for `/upstreams/{name}/health` and the metrics.
struct HealthRow {
    upstream: String,
    target: String,
    address: String,
    weight: u32,
    health: Health,
}

fn upstream_health_rows(upstream: &UpstreamRuntime) -> Vec<HealthRow> {
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

fn health_rows(runtime: &Runtime) -> Vec<HealthRow> {
    runtime
        .upstreams
        .iter()
        .flat_map(|upstream| upstream_health_rows(upstream))
        .collect()
}

#[derive(serde::Deserialize)]
struct HealthQuery {
    balancer_health: Option<String>,
}

async fn upstream_health(
    State(admin): State<AdminState>,
    Path(name): Path<String>,
    Query(query): Query<HealthQuery>,
) -> Response {
    let runtime = admin.state.load();
    let Some(upstream) = runtime.upstreams.iter().find(|u| u.name == name) else {
        return not_found_response();
    };
    let rows = upstream_health_rows(upstream);
    if query.balancer_health.is_some() {
        let any_healthy = rows
            .iter()
            .any(|row| matches!(row.health, Health::Healthy | Health::HealthchecksOff));
        let healthy = any_healthy && !upstream.below_threshold();
        return ok(json!({
            "data": {
                "id": upstream.name,
                "health": if healthy { "HEALTHY" } else { "UNHEALTHY" },
            },
            "next": null,
            "node_id": admin.node_id,
        }));
    }
    let data: Vec<Json> = rows
        .iter()
        .map(|row| {
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
        })
        .collect();
    ok(json!({ "data": data, "next": null, "node_id": admin.node_id }))
}

/// Every plugin entry of the running document, with its scope and redacted config.
async fn plugins(State(admin): State<AdminState>) -> Response {
    let runtime = admin.state.load();
    let mut document = runtime.config.source.0.clone();
    redact(&mut document, false);
    let mut found = Vec::new();
    collect_plugins(&document, None, None, &mut found);
    list(found)
}

fn collect_plugins(value: &Yaml, service: Option<&str>, route: Option<&str>, out: &mut Vec<Json>) {
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
    fn config_bodies_are_raw_documents_or_kongs_wrapper() {
        assert_eq!(config_text(b"  "), None);
        assert_eq!(
            config_text(b"_format_version: \"3.0\"").as_deref(),
            Some("_format_version: \"3.0\"")
        );
        assert_eq!(
            config_text(br#"{"config": "_format_version: '3.0'"}"#).as_deref(),
            Some("_format_version: '3.0'")
        );
        let json_document = r#"{"_format_version": "3.0", "services": []}"#;
        assert_eq!(
            config_text(json_document.as_bytes()).as_deref(),
            Some(json_document)
        );
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
