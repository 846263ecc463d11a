//! Kong's traffic plugins through the real gateway and a real upstream: `cors`,
//! `request-size-limiting`, `correlation-id`, `ip-restriction`, `key-auth`, `response-transformer`,
//! and scope precedence.
//! The echo upstream reports the headers and path it received, so the tests see what went upstream.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Gateway, Upstream};

/// A service `svc` on `upstream` with route `api` (`/api`) and the given plugin list (YAML block,
/// indented for the top level), plus `extra` top-level YAML.
fn config(upstream: &Upstream, plugins: &str, extra: &str) -> String {
    format!(
        r#"_format_version: "3.0"
services:
  - name: svc
    url: http://{}
    routes:
      - {{name: api, paths: [/api]}}
plugins:
{plugins}{extra}"#,
        upstream.target()
    )
}

async fn body_json(response: reqwest::Response) -> serde_json::Value {
    response.json().await.unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

// === cors ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_is_answered_200_by_the_gateway_with_the_allow_headers() {
    // Arrange
    let upstream = Upstream::start("svc").await;
    let plugins = "  - name: cors\n    config: {origins: [http://app.example], methods: [GET, POST], max_age: 600, credentials: true}\n";
    let gateway = Gateway::start(&config(&upstream, plugins, ""));
    let client = reqwest::Client::new();

    // Act
    let response = client
        .request(reqwest::Method::OPTIONS, gateway.url("/api/orders"))
        .header("origin", "http://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "x-trace")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some("http://app.example")
    );
    assert_eq!(
        header(&response, "access-control-allow-methods"),
        Some("GET,POST")
    );
    assert_eq!(
        header(&response, "access-control-allow-headers"),
        Some("x-trace")
    );
    assert_eq!(header(&response, "access-control-max-age"), Some("600"));
    assert_eq!(
        header(&response, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(header(&response, "vary"), Some("Origin"));
    assert_eq!(header(&response, "content-length"), Some("0"));
    assert!(header(&response, "x-kong-request-id").is_some());
    assert_eq!(
        upstream.hits(),
        0,
        "the preflight never reached the upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_headers_go_on_proxied_responses_and_on_the_gateways_own_refusals() {
    let upstream = Upstream::start("svc").await;
    let plugins = "  - name: cors\n    config: {exposed_headers: [x-total]}\n";
    let gateway = Gateway::start(&config(&upstream, plugins, ""));
    let client = reqwest::Client::new();

    let response = client
        .get(gateway.url("/api/x"))
        .header("origin", "http://any.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        header(&response, "access-control-expose-headers"),
        Some("x-total")
    );

    // A route with cors and key-auth: key-auth's 401 carries the CORS headers too (cors runs first).
    let plugins = "  - name: cors\n  - name: key-auth\n";
    let gateway = Gateway::start(&config(&upstream, plugins, ""));
    let response = client
        .get(gateway.url("/api/x"))
        .header("origin", "http://any.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
}

// === request-size-limiting ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_over_the_limit_is_413_before_anything_is_proxied() {
    let upstream = Upstream::start("svc").await;
    let plugins = "  - name: request-size-limiting\n    config: {allowed_payload_size: 1, size_unit: kilobytes}\n";
    let gateway = Gateway::start(&config(&upstream, plugins, ""));
    let client = reqwest::Client::new();

    let response = client
        .post(gateway.url("/api/upload"))
        .body(vec![b'x'; 1025])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        header(&response, "content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"message":"Request size limit exceeded"}"#
    );
    assert_eq!(upstream.hits(), 0);

    let response = client
        .post(gateway.url("/api/upload"))
        .body(vec![b'x'; 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "exactly the limit is fine");
}

/// Sends a chunked POST of `chunks` × `chunk_size` bytes over a raw connection; returns the status
/// line and the body of the response.
async fn chunked_post(port: u16, path: &str, chunks: usize, chunk_size: usize) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{chunk_size:x}\r\n{}\r\n", "y".repeat(chunk_size));
    for _ in 0..chunks {
        // The gateway may answer and close before the whole body is sent: that is the point.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("the gateway answered within 10 s");
    if read.is_err() && response.is_empty() {
        panic!("connection failed before any response: {read:?}");
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.lines().next().unwrap_or_default().to_owned();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_is_counted_as_it_streams_and_refused_413_past_the_limit() {
    let upstream = Upstream::start("svc").await;
    let plugins = "  - name: request-size-limiting\n    config: {allowed_payload_size: 4, size_unit: kilobytes}\n";
    let gateway = Gateway::start(&config(&upstream, plugins, ""));

    let (status, body) = chunked_post(gateway.port, "/api/upload", 2, 1024).await;
    assert!(
        status.starts_with("HTTP/1.1 200"),
        "under the limit: {status}"
    );
    assert!(
        body.contains("\"body_bytes\":2048"),
        "the whole body went upstream: {body}"
    );

    let (status, body) = chunked_post(gateway.port, "/api/upload", 8, 1024).await;
    assert!(
        status.starts_with("HTTP/1.1 413"),
        "over the limit: {status}"
    );
    assert_eq!(body, r#"{"message":"Request size limit exceeded"}"#);
}

// === correlation-id ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correlation_id_is_made_sent_upstream_and_echoed_or_kept_from_the_client() {
    let upstream = Upstream::start("svc").await;
    let plugins =
        "  - name: correlation-id\n    config: {generator: uuid, echo_downstream: true}\n";
    let gateway = Gateway::start(&config(&upstream, plugins, ""));
    let client = reqwest::Client::new();

    let response = client.get(gateway.url("/api/x")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let echoed = header(&response, "kong-request-id").unwrap().to_owned();
    assert_eq!(echoed.len(), 36, "a UUID: {echoed}");
    let body = body_json(response).await;
    assert_eq!(
        body["headers"]["kong-request-id"], echoed,
        "the upstream got the same id"
    );

    let response = client
        .get(gateway.url("/api/x"))
        .header("Kong-Request-ID", "client-chosen-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&response, "kong-request-id"),
        Some("client-chosen-1")
    );
    let body = body_json(response).await;
    assert_eq!(body["headers"]["kong-request-id"], "client-chosen-1");
}

// === ip-restriction ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_restriction_denies_the_loopback_client_with_403_and_kong_body() {
    let upstream = Upstream::start("svc").await;
    let plugins = "  - name: ip-restriction\n    config: {deny: [127.0.0.0/8]}\n";
    let gateway = Gateway::start(&config(&upstream, plugins, ""));
    let client = reqwest::Client::new();

    let response = client.get(gateway.url("/api/x")).send().await.unwrap();

    assert_eq!(response.status(), 403);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"message":"IP address not allowed: 127.0.0.1"}"#
    );
    assert_eq!(upstream.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_restriction_allow_list_lets_loopback_in_only_when_it_covers_it() {
    let upstream = Upstream::start("svc").await;
    let client = reqwest::Client::new();

    let plugins = "  - name: ip-restriction\n    config: {allow: [127.0.0.1, '::1']}\n";
    let gateway = Gateway::start(&config(&upstream, plugins, ""));
    let response = client.get(gateway.url("/api/x")).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let plugins = "  - name: ip-restriction\n    config: {allow: [10.0.0.0/8], status: 401, message: members only}\n";
    let gateway = Gateway::start(&config(&upstream, plugins, ""));
    let response = client.get(gateway.url("/api/x")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"message":"members only"}"#
    );
}

// === key-auth ===

const CONSUMERS: &str = r#"consumers:
  - username: alice
    custom_id: cust-1
    keyauth_credentials:
      - key: alice-secret-key
  - username: guest
keyauth_credentials:
  - consumer: alice
    key: alice-second-key
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_auth_refuses_missing_and_unknown_keys_with_401_and_www_authenticate() {
    let upstream = Upstream::start("svc").await;
    let gateway = Gateway::start(&config(&upstream, "  - name: key-auth\n", CONSUMERS));
    let client = reqwest::Client::new();

    let cases = [
        (
            client.get(gateway.url("/api/x")),
            "No API key found in request",
        ),
        (
            client.get(gateway.url("/api/x")).header("apikey", "wrong"),
            "Unauthorized",
        ),
        (
            client.get(gateway.url("/api/x?apikey=wrong")),
            "Unauthorized",
        ),
    ];
    for (request, message) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{message}");
        assert_eq!(
            header(&response, "www-authenticate"),
            Some(r#"Key realm="kong""#)
        );
        assert_eq!(
            response.text().await.unwrap(),
            format!(r#"{{"message":"{message}"}}"#)
        );
    }
    assert_eq!(upstream.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_auth_sends_the_consumer_upstream_and_hides_the_key_when_asked() {
    let upstream = Upstream::start("svc").await;
    let plugins = "  - name: key-auth\n    config: {hide_credentials: true}\n";
    let gateway = Gateway::start(&config(&upstream, plugins, CONSUMERS));
    let client = reqwest::Client::new();

    // Key in a header; a forged consumer header is replaced.
    let response = client
        .get(gateway.url("/api/x"))
        .header("apikey", "alice-secret-key")
        .header("x-consumer-username", "mallory")
        .header("x-anonymous-consumer", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = body_json(response).await;
    let headers = &body["headers"];
    assert_eq!(headers["x-consumer-username"], "alice");
    assert_eq!(headers["x-consumer-custom-id"], "cust-1");
    assert_eq!(headers["x-consumer-id"].as_str().unwrap().len(), 36);
    assert!(headers["x-credential-identifier"].is_string());
    assert!(headers.get("x-anonymous-consumer").is_none());
    assert!(headers.get("apikey").is_none(), "hidden: {headers}");

    // Key in the query string: it leaves the upstream URI, the other arguments stay.
    let response = client
        .get(gateway.url("/api/items?page=2&apikey=alice-second-key&sort=asc"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = body_json(response).await;
    assert_eq!(body["path"], "/items?page=2&sort=asc");
    assert_eq!(body["headers"]["x-consumer-username"], "alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_auth_with_anonymous_lets_unauthenticated_requests_through_as_that_consumer() {
    let upstream = Upstream::start("svc").await;
    let plugins = "  - name: key-auth\n    config: {anonymous: guest, key_names: [x-api-token]}\n";
    let gateway = Gateway::start(&config(&upstream, plugins, CONSUMERS));
    let client = reqwest::Client::new();

    let response = client.get(gateway.url("/api/x")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body = body_json(response).await;
    assert_eq!(body["headers"]["x-consumer-username"], "guest");
    assert_eq!(body["headers"]["x-anonymous-consumer"], "true");

    let response = client
        .get(gateway.url("/api/x"))
        .header("x-api-token", "alice-secret-key")
        .send()
        .await
        .unwrap();
    let body = body_json(response).await;
    assert_eq!(body["headers"]["x-consumer-username"], "alice");
    assert_eq!(
        body["headers"]["x-api-token"], "alice-secret-key",
        "the key is forwarded unless hide_credentials"
    );
}

// === scopes ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_plugin_overrides_the_service_one_which_overrides_the_global_one() {
    let upstream = Upstream::start("svc").await;
    let text = format!(
        r#"_format_version: "3.0"
services:
  - name: svc
    url: http://{target}
    plugins:
      - name: ip-restriction
        config: {{deny: [127.0.0.0/8], status: 403}}
    routes:
      - name: open
        paths: [/open]
        plugins:
          - name: ip-restriction
            config: {{allow: [127.0.0.0/8]}}
      - name: closed
        paths: [/closed]
  - name: other
    url: http://{target}
    routes:
      - name: other
        paths: [/other]
plugins:
  - name: ip-restriction
    config: {{deny: [127.0.0.0/8], status: 418, message: global}}
"#,
        target = upstream.target()
    );
    let gateway = Gateway::start(&text);
    let client = reqwest::Client::new();

    for (path, status) in [("/open/x", 200), ("/closed/x", 403), ("/other/x", 418)] {
        let response = client.get(gateway.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
    }
}

// === response-transformer ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_transformer_rewrites_the_proxied_responses_headers_in_kongs_order() {
    // Arrange
    let upstream = Upstream::start("svc").await;
    let plugins = "  - name: response-transformer\n    config:\n      remove: {headers: [x-kong-proxy-latency]}\n      rename: {headers: ['x-kong-upstream-latency:x-upstream-ms']}\n      replace: {headers: ['content-type:application/vnd.api+json', 'x-absent:1']}\n      add: {headers: ['x-frame-options:DENY', 'content-type:text/plain']}\n      append: {headers: ['vary:Origin']}\n";
    let gateway = Gateway::start(&config(&upstream, plugins, ""));

    // Act
    let response = reqwest::get(gateway.url("/api/items")).await.unwrap();

    // Assert
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-kong-proxy-latency"), None, "removed");
    assert_eq!(
        header(&response, "x-kong-upstream-latency"),
        None,
        "renamed away"
    );
    assert!(
        header(&response, "x-upstream-ms").is_some_and(|ms| ms.parse::<u64>().is_ok()),
        "renamed with its value: {:?}",
        response.headers()
    );
    assert_eq!(
        header(&response, "content-type"),
        Some("application/vnd.api+json"),
        "replaced; add keeps a header the upstream sent"
    );
    assert_eq!(
        header(&response, "x-absent"),
        None,
        "replace needs the header"
    );
    assert_eq!(header(&response, "x-frame-options"), Some("DENY"));
    assert_eq!(header(&response, "vary"), Some("Origin"));
    assert!(header(&response, "x-kong-request-id").is_some());
    let body = body_json(response).await;
    assert_eq!(body["path"], "/items", "the body passes unchanged");
}
