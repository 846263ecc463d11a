//! What the gateway does with a request, decided before any upstream is called: the route (Kong's
//! matching on the normalised path), an https-only route's answer to a cleartext request (426 or
//! its redirect), the route's plugins' access phase, and the upstream URI
//! (`strip_path`, the service's path, `path_handling`, hidden query arguments). Either the
//! request goes to a service, or the gateway answers it itself.

use std::{borrow::Cow, net::IpAddr};

use http::{HeaderName, HeaderValue, header};
use pingora::http::RequestHeader;

use crate::{
    config::model::{Route, Service},
    plugins::{AccessRequest, Effects, Flow, key_auth::strip_query_args},
    responses::LocalResponse,
    responses::{GatewayError, RequestId},
    router::{escape_path, normalize_path, upstream_path},
    runtime::Runtime,
};

/// Largest single header field (name + value) accepted, as nginx's `large_client_header_buffers`.
const MAX_HEADER_FIELD_BYTES: usize = 16 * 1024;
/// Largest header block accepted.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Longest request target accepted (nginx's request line must fit one 8 KiB buffer: 414).
const MAX_TARGET_BYTES: usize = 8 * 1024;

/// A request on its way to a service.
pub struct Proxied {
    /// The matched route (index in the snapshot).
    pub route: usize,
    /// Its service (index in the snapshot).
    pub service: usize,
    /// The rewritten upstream URI (path and query), when it differs from the client's.
    pub upstream_uri: Option<String>,
    /// The prefix `strip_path` removed (`X-Forwarded-Prefix`).
    pub forwarded_prefix: Option<String>,
}

/// What [`decide`] decided.
pub enum Decision {
    /// Send the request to the route's service.
    Proxy(Proxied),
    /// Answer the request with this (no route, a plugin's exit, ...); `route` when one matched.
    Respond {
        /// The matched route, when the answer came from its plugins.
        route: Option<usize>,
        /// The answer.
        response: LocalResponse,
    },
}

/// Route matching, plugins and the upstream URI, for one request (over TLS when `https`)
/// against one snapshot; the plugins' decisions go to `effects`.
pub async fn decide(
    runtime: &Runtime,
    request: &RequestHeader,
    request_id: &RequestId,
    client_ip: Option<IpAddr>,
    https: bool,
    effects: &mut Effects,
) -> Decision {
    let answer = |route, error: GatewayError| Decision::Respond {
        route,
        response: error.response(request_id),
    };
    if let Some(error) = oversized(request) {
        return answer(None, error);
    }
    let raw_path = request.uri.path();
    let path = normalize_path(raw_path);
    let host = request
        .headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri.host());
    let Some((route_index, matched)) =
        runtime.find_route(request.method.as_str(), host, &path, &request.headers)
    else {
        return answer(None, GatewayError::NoRoute);
    };
    let route = runtime.route(route_index);
    let Some(service_index) = route.service else {
        return answer(Some(route_index), GatewayError::NoService);
    };
    if route.https_only && !https {
        let tls_port = runtime
            .config
            .gateway
            .proxy_listen_tls
            .map(|tls| tls.port());
        let response = https_required(route.https_redirect_status_code, host, request, tls_port);
        return Decision::Respond {
            route: Some(route_index),
            response,
        };
    }
    let service = &runtime.services[service_index].service;
    let chain = &runtime.route_plugins[route_index];
    if !chain.is_empty() {
        let access = AccessRequest {
            header: request,
            path: &path,
            matched_len: matched.matched_len,
            client_ip,
            route: &route.name,
            service: &service.name,
        };
        // Boxed: the plugins' futures would otherwise be part of every request's future, also
        // on routes without plugins, and moved with it.
        if let Flow::Respond(response) = Box::pin(chain.access(&access, effects)).await {
            return Decision::Respond {
                route: Some(route_index),
                response,
            };
        }
    }
    let (upstream_uri, forwarded_prefix) = upstream_uri(
        request,
        &path,
        matches!(path, Cow::Owned(_)),
        matched.matched_len,
        route,
        service,
        effects,
    );
    Decision::Proxy(Proxied {
        route: route_index,
        service: service_index,
        upstream_uri,
        forwarded_prefix,
    })
}

/// The upstream URI (path and query) when it differs from the client's: `strip_path`, the
/// service's path, `path_handling`, a normalised path, hidden query arguments; and the prefix
/// `strip_path` removed (`X-Forwarded-Prefix`). `normalised`: `path` differs from the client's.
fn upstream_uri(
    request: &RequestHeader,
    path: &str,
    normalised: bool,
    matched_len: usize,
    route: &Route,
    service: &Service,
    effects: &Effects,
) -> (Option<String>, Option<String>) {
    // key-auth's hide_credentials: the key leaves the query string.
    let query: Option<Cow<'_, str>> = match request.uri.query() {
        Some(query) if !effects.hidden_query_args().is_empty() => {
            Some(strip_query_args(query, effects.hidden_query_args()))
                .filter(|query| !query.is_empty())
                .map(Cow::Owned)
        }
        query => query.map(Cow::Borrowed),
    };
    let query_changed = query.as_deref() != request.uri.query();
    if !(route.strip_path || service.path.is_some() || normalised || query_changed) {
        return (None, None);
    }
    let upstream = upstream_path(
        service.path.as_deref(),
        path,
        route.strip_path,
        matched_len,
        route.path_handling,
    );
    let mut uri = escape_path(&upstream).into_owned();
    if let Some(query) = &query {
        uri.push('?');
        uri.push_str(query);
    }
    let prefix = (route.strip_path && matched_len > 0).then(|| path[..matched_len].to_owned());
    (Some(uri), prefix)
}

/// Kong's answer to a cleartext request on an https-only route: 426 `Please use HTTPS protocol`
/// with `Upgrade: TLS/1.2, HTTP/1.1`, or the route's redirect to the same URI on https (to the
/// TLS listener's port when it is not 443; Kong always drops the port).
fn https_required(
    status: u16,
    host: Option<&str>,
    request: &RequestHeader,
    tls_port: Option<u16>,
) -> LocalResponse {
    let host_name = host.map(|host| match host.rsplit_once(':') {
        // `name:port` or `[v6]:port`, not a bare IPv6 address.
        Some((name, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            name
        }
        _ => host,
    });
    let location = host_name.filter(|_| status != 426).and_then(|name| {
        let port = tls_port
            .filter(|port| *port != 443)
            .map(|port| format!(":{port}"))
            .unwrap_or_default();
        let target = request
            .uri
            .path_and_query()
            .map_or("/", |path_and_query| path_and_query.as_str());
        HeaderValue::from_str(&format!("https://{name}{port}{target}")).ok()
    });
    match location {
        Some(location) => {
            let mut response = LocalResponse::empty(status);
            response.headers.push((header::LOCATION, location));
            response
        }
        None => {
            let mut response = crate::responses::plugin_error(426, "Please use HTTPS protocol");
            response.headers.push((
                HeaderName::from_static("upgrade"),
                HeaderValue::from_static("TLS/1.2, HTTP/1.1"),
            ));
            response
        }
    }
}

/// nginx's answer to a request target or header block over its buffers (414, 400), if due.
fn oversized(request: &RequestHeader) -> Option<GatewayError> {
    if request.raw_path().len() > MAX_TARGET_BYTES {
        Some(GatewayError::UriTooLong)
    } else if headers_too_large(request) {
        Some(GatewayError::HeaderTooLarge)
    } else {
        None
    }
}

/// Whether one header field or the whole block exceeds nginx-like limits.
fn headers_too_large(request: &RequestHeader) -> bool {
    let mut total = request
        .uri
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    for (name, value) in &request.headers {
        let field = name.as_str().len() + value.len();
        if field > MAX_HEADER_FIELD_BYTES {
            return true;
        }
        total += field;
    }
    total > MAX_HEADER_BYTES
}
