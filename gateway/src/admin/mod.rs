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

mod certificates;
mod guard;
mod kong_json;

use kong_json::{
    collect_plugins, health_rows, invalid_config, redact, route_json, service_json, summary,
    target_health_json, upstream_health_rows, upstream_json,
};

use crate::{
    config,
    health::Health,
    metrics::metrics,
    reload::{ReloadSource, Reloader},
    runtime::Runtime,
};

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
    let data: Vec<Json> = rows.iter().map(target_health_json).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
