//! Routing through the real gateway: Kong's strip_path, forwarded headers, its own answers, and the
//! seed's Kong files.

use crate::helpers::{FakeAuth, Gateway, Upstream, fixture, get_json, run_check};

fn two_services(auth: &Upstream, blog: &Upstream) -> String {
    format!(
        r#"_format_version: "3.0"
services:
  - name: auth
    url: http://{auth}
    routes: [{{name: auth, paths: [/auth]}}]
  - name: blog
    url: http://{blog}/v1
    routes: [{{name: blog, paths: [/blog]}}]
  - name: off
    url: http://{blog}
    enabled: false
    routes: [{{name: off, paths: [/off]}}]
  - name: nowhere
    url: http://no-such-host.invalid:8000
    routes: [{{name: nowhere, paths: [/nowhere]}}]
routes:
  - name: orphan
    paths: [/orphan]
"#,
        auth = auth.target(),
        blog = blog.target()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_routed_by_prefix_with_strip_path_and_forwarded_headers() {
    // Arrange
    let auth = Upstream::start("auth").await;
    let blog = Upstream::start("blog").await;
    let gateway = Gateway::start(&two_services(&auth, &blog));
    let client = reqwest::Client::new();

    // Act
    let response = client
        .get(gateway.url("/auth/signin/basic?next=%2Fhome"))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert!(headers["via"].to_str().unwrap().starts_with("1.1 gateway/"));
    assert!(headers.contains_key("x-kong-upstream-latency"));
    assert!(headers.contains_key("x-kong-proxy-latency"));
    let request_id = headers["x-kong-request-id"].to_str().unwrap().to_owned();
    assert_eq!(request_id.len(), 32);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["upstream"], "auth");
    assert_eq!(
        body["path"], "/signin/basic?next=%2Fhome",
        "prefix stripped, query untouched"
    );
    let sent = &body["headers"];
    assert_eq!(
        sent["host"],
        auth.target(),
        "Host is the target's (preserve_host false)"
    );
    assert_eq!(sent["x-forwarded-for"], "127.0.0.1");
    assert_eq!(sent["x-real-ip"], "127.0.0.1");
    assert_eq!(sent["x-forwarded-proto"], "http");
    assert_eq!(sent["x-forwarded-host"], "127.0.0.1");
    assert_eq!(sent["x-forwarded-port"], gateway.port.to_string());
    assert_eq!(sent["x-forwarded-path"], "/auth/signin/basic");
    assert_eq!(sent["x-forwarded-prefix"], "/auth");
    assert_eq!(
        sent["x-kong-request-id"],
        request_id.as_str(),
        "same id upstream and downstream"
    );

    // The service path joins the stripped remainder (Kong v0 rules).
    for (path, expected) in [
        ("/blog/list/latest", "/v1/list/latest"),
        ("/blog", "/v1"),
        ("/blog/", "/v1/"),
    ] {
        let (status, body) = get_json(&client, &gateway.url(path)).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body["upstream"], "blog", "{path}");
        assert_eq!(body["path"], expected, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_answers_unmatched_orphan_disabled_and_unresolvable_routes_like_kong() {
    let auth = Upstream::start("auth").await;
    let blog = Upstream::start("blog").await;
    let gateway = Gateway::start(&two_services(&auth, &blog));
    let client = reqwest::Client::new();

    let cases = [
        ("/nothing/here", 404, "no Route matched with those values"),
        ("/off/x", 404, "no Route matched with those values"),
        ("/orphan", 503, "no Service found with those values"),
        ("/nowhere/x", 503, "name resolution failed"),
    ];
    for (path, status, message) in cases {
        let response = client.get(gateway.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json; charset=utf-8",
            "{path}"
        );
        let id = response.headers()["x-kong-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["message"], message, "{path}");
        assert_eq!(
            body["request_id"],
            id.as_str(),
            "{path}: body and header carry one id"
        );
    }
    assert_eq!(auth.hits() + blog.hits(), 0, "no upstream was called");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_segments_are_normalised_before_matching() {
    let auth = Upstream::start("auth").await;
    let blog = Upstream::start("blog").await;
    let gateway = Gateway::start(&two_services(&auth, &blog));

    // reqwest would normalise the path itself: send it raw.
    let response = raw_get(gateway.port, "/auth/../blog/x").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""upstream":"blog""#), "{response}");
    assert!(response.contains(r#""path":"/v1/x""#), "{response}");
}

/// Sends `GET <path>` verbatim and returns the whole response text.
pub async fn raw_get(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut response),
    )
    .await
    .expect("response within 10 s")
    .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[test]
fn seed_kong_files_pass_gateway_check_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["kong.yml", "kong-load-balanced.yml"] {
        let path = dir.path().join(name);
        std::fs::write(&path, fixture(name)).unwrap();
        let (code, output) = run_check(&path);
        assert_eq!(code, 0, "{name}: {output}");
        assert!(
            output.contains("ok (2 services, 2 routes"),
            "{name}: {output}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_load_balanced_file_routes_and_checks_keys_as_kong_would() {
    // The seed's file verbatim, with its Docker host names pointed at local servers.
    let auth1 = Upstream::start("auth1").await;
    let auth2 = Upstream::start("auth2").await;
    let blog1 = Upstream::start("blog1").await;
    let blog2 = Upstream::start("blog2").await;
    let verifier1 = FakeAuth::start(std::time::Duration::ZERO).await;
    let verifier2 = FakeAuth::start(std::time::Duration::ZERO).await;
    let config = fixture("kong-load-balanced.yml")
        .replace("http://auth1:8000/verify/apikey", &verifier1.url())
        .replace("http://auth2:8000/verify/apikey", &verifier2.url())
        .replace("auth1:8000", &auth1.target())
        .replace("auth2:8000", &auth2.target())
        .replace("blog1:8000", &blog1.target())
        .replace("blog2:8000", &blog2.target());
    let gateway = Gateway::start(&config);
    let client = reqwest::Client::new();

    let (status, body) = get_json(&client, &gateway.url("/blog/list/latest")).await;
    assert_eq!(status, 401, "no key: {body}");
    assert_eq!(
        body["message"],
        "permission denied: missing x-api-key header"
    );

    for _ in 0..20 {
        let response = client
            .get(gateway.url("/blog/list/latest?page=1&limit=10"))
            .header("x-api-key", "good")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["path"], "/list/latest?page=1&limit=10");
    }
    assert_eq!(
        (blog1.hits(), blog2.hits()),
        (10, 10),
        "equal weights alternate"
    );
    let (status, body) = get_json(&client, &gateway.url("/auth/health")).await;
    assert_eq!(
        (status, body["path"].as_str()),
        (200, Some("/health")),
        "health needs no key"
    );
    assert!(verifier1.calls() + verifier2.calls() >= 1);
}
