//! The admin API of the real gateway: Kong's list shapes, `POST /config` (switches routing or
//! refuses with the field and changes nothing), `/status` and `/metrics` counters that match the
//! requests sent.

use std::{collections::HashMap, time::Duration};

use testkit::wait_until_async;

use crate::helpers::{Gateway, Upstream, get_json, run_check};

fn config(upstream: &Upstream, path: &str) -> String {
    format!(
        r#"_format_version: "3.0"
services:
  - name: svc
    url: http://pool
    routes: [{{name: main, paths: [{path}]}}]
upstreams:
  - name: pool
    targets: [{{target: "{}"}}]
"#,
        upstream.target()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_endpoints_use_kongs_shapes() {
    let upstream = Upstream::start("a").await;
    let gateway = Gateway::start(&config(&upstream, "/one"));
    let client = reqwest::Client::new();

    let (status, services) = get_json(&client, &gateway.admin_url("/services")).await;
    assert_eq!(status, 200);
    assert_eq!(services["next"], serde_json::Value::Null);
    assert_eq!(services["data"][0]["name"], "svc");
    assert_eq!(services["data"][0]["host"], "pool");
    assert_eq!(services["data"][0]["retries"], 5);

    let (_, routes) = get_json(&client, &gateway.admin_url("/services/svc/routes")).await;
    assert_eq!(routes["data"][0]["name"], "main");
    assert_eq!(routes["data"][0]["paths"][0], "/one");
    assert_eq!(routes["data"][0]["strip_path"], true);
    assert_eq!(routes["data"][0]["service"]["id"], "svc");

    let (_, targets) = get_json(&client, &gateway.admin_url("/upstreams/pool/targets")).await;
    assert_eq!(targets["data"][0]["target"], upstream.target());
    assert_eq!(targets["data"][0]["weight"], 100);

    let (_, health) = get_json(&client, &gateway.admin_url("/upstreams/pool/health")).await;
    assert_eq!(health["data"][0]["health"], "HEALTHCHECKS_OFF");

    let (status, missing) = get_json(&client, &gateway.admin_url("/routes/nope")).await;
    assert_eq!(
        (status, missing["message"].as_str()),
        (404, Some("Not found"))
    );

    let response = client
        .post(gateway.admin_url("/services"))
        .json(&serde_json::json!({"name": "x", "url": "http://x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["name"], "operation unsupported");

    let (status, info) = get_json(&client, &gateway.admin_url("/")).await;
    assert_eq!(status, 200);
    assert_eq!(info["configuration"]["routes"], 1);
    assert_eq!(
        info["configuration"]["proxy_listen"],
        format!("127.0.0.1:{}", gateway.port)
    );

    let (_, exported) = get_json(&client, &gateway.admin_url("/config")).await;
    let text = exported["config"].as_str().unwrap();
    assert!(text.contains("name: pool"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_config_switches_routing_or_refuses_naming_the_field() {
    let upstream = Upstream::start("a").await;
    let gateway = Gateway::start(&config(&upstream, "/one"));
    let client = reqwest::Client::new();
    assert_eq!(get_json(&client, &gateway.url("/one/x")).await.0, 200);

    let response = client
        .post(gateway.admin_url("/config"))
        .header("content-type", "application/yaml")
        .body(config(&upstream, "/two"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    // The swap is done when the answer comes: no waiting needed.
    assert_eq!(get_json(&client, &gateway.url("/two/x")).await.0, 200);
    assert_eq!(get_json(&client, &gateway.url("/one/x")).await.0, 404);

    let broken = config(&upstream, "three");
    let response = client
        .post(gateway.admin_url("/config?flatten_errors=1"))
        .header("content-type", "application/yaml")
        .body(broken)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["name"], "invalid declarative configuration");
    assert!(
        body["fields"]
            .get("services[0].routes[0].paths[0]")
            .is_some(),
        "the field is named: {body}"
    );
    assert_eq!(
        body["flattened_errors"][0]["field"],
        "services[0].routes[0].paths[0]"
    );
    assert_eq!(body["flattened_errors"][0]["line"], 5);
    assert_eq!(
        get_json(&client, &gateway.url("/two/x")).await.0,
        200,
        "routing unchanged"
    );
    assert_eq!(get_json(&client, &gateway.url("/three/x")).await.0, 404);

    let response = client
        .post(gateway.admin_url("/config"))
        .header("content-type", "application/yaml")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    let (_, status) = get_json(&client, &gateway.admin_url("/status")).await;
    assert_eq!(status["reload"]["count"], 2, "{status}");
    assert_eq!(status["reload"]["failed"], 1);
    assert_eq!(status["reload"]["last"]["ok"], false);
    assert_eq!(status["reload"]["last"]["source"], "admin");
    assert_eq!(
        status["reload"]["last"]["errors"][0]["path"],
        "services[0].routes[0].paths[0]"
    );
}

/// `kong_http_requests_total{route, code}` from a scrape, parsed by a Prometheus text parser.
fn request_counts(text: &str) -> HashMap<(String, String), f64> {
    let lines = text.lines().map(|line| Ok(line.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text");
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == "kong_http_requests_total")
        .map(|sample| {
            let value = match sample.value {
                prometheus_parse::Value::Counter(value) => value,
                ref other => panic!("not a counter: {other:?}"),
            };
            (
                (
                    sample.labels.get("route").unwrap_or_default().to_owned(),
                    sample.labels.get("code").unwrap_or_default().to_owned(),
                ),
                value,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_count_the_requests_sent() {
    let upstream = Upstream::start("a").await;
    let gateway = Gateway::start(&config(&upstream, "/one"));
    let client = reqwest::Client::new();
    for _ in 0..7 {
        assert_eq!(get_json(&client, &gateway.url("/one/x")).await.0, 200);
    }
    for _ in 0..3 {
        assert_eq!(get_json(&client, &gateway.url("/nowhere")).await.0, 404);
    }

    // A request is counted in its logging phase, just after its last byte is sent: scrape until
    // the last one is in, then compare exactly.
    let scrape = || gateway.metrics(&client);
    wait_until_async(
        "all 10 requests counted",
        Duration::from_secs(5),
        || async { request_counts(&scrape().await).values().sum::<f64>() >= 10.0 },
    )
    .await
    .unwrap();
    let text = scrape().await;
    let counts = request_counts(&text);
    assert_eq!(
        counts.get(&("main".into(), "200".into())),
        Some(&7.0),
        "{text}"
    );
    assert_eq!(
        counts.get(&(String::new(), "404".into())),
        Some(&3.0),
        "{text}"
    );
    assert_eq!(counts.len(), 2, "{text}");
    assert!(text.contains("kong_upstream_latency_ms_bucket"), "{text}");
    assert!(
        text.contains(&format!(
            "kong_upstream_target_health{{address=\"{0}\",state=\"healthchecks_off\",target=\"{0}\",upstream=\"pool\"}} 1",
            upstream.target()
        )),
        "{text}"
    );
    assert!(text.contains("gateway_config_reloads_total"), "{text}");

    let (_, status) = get_json(&client, &gateway.admin_url("/status")).await;
    assert_eq!(status["server"]["total_requests"], 10, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_page_cannot_replace_the_config_nor_read_it_by_dns_rebinding() {
    let upstream = Upstream::start("a").await;
    let gateway = Gateway::start(&config(&upstream, "/one"));
    let client = reqwest::Client::new();
    let hostile = config(&upstream, "/evil");

    // What `fetch(url, {method: 'POST', mode: 'no-cors', body})` sends from any page: text/plain.
    let response = client
        .post(gateway.admin_url("/config"))
        .header("content-type", "text/plain;charset=UTF-8")
        .body(hostile.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("application/yaml"),
        "{body}"
    );
    // The same, with a YAML type but from another site (the browser adds Origin/Sec-Fetch-Site).
    for (name, value) in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let response = client
            .post(gateway.admin_url("/config"))
            .header("content-type", "application/yaml")
            .header(name, value)
            .body(hostile.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{name}: {value}");
    }
    // DNS rebinding: the page's own name resolves to 127.0.0.1, so Host is the page's.
    let response = client
        .get(gateway.admin_url("/config"))
        .header("host", format!("evil.example:{}", gateway.admin_port))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        get_json(&client, &gateway.url("/one/x")).await.0,
        200,
        "config unchanged"
    );
    assert_eq!(get_json(&client, &gateway.url("/evil/x")).await.0, 404);
    let (_, status) = get_json(&client, &gateway.admin_url("/status")).await;
    assert_eq!(
        status["reload"]["count"], 0,
        "nothing was applied: {status}"
    );

    // A local tool with a YAML or JSON type is served, Host `localhost` included.
    let response = client
        .post(format!("http://localhost:{}/config", gateway.admin_port))
        .header("content-type", "application/x-yaml")
        .body(config(&upstream, "/two"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(get_json(&client, &gateway.url("/two/x")).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_token_is_required_on_every_request_and_hidden_from_get_config() {
    let upstream = Upstream::start("a").await;
    let token = "t0ken-for-the-admin-api";
    let gateway = Gateway::start_with_settings(
        &format!("  admin_token: {token}\n"),
        &config(&upstream, "/one"),
    );
    let client = reqwest::Client::new();
    for path in ["/status", "/config", "/services"] {
        let response = client.get(gateway.admin_url(path)).send().await.unwrap();
        assert_eq!(response.status(), 401, "{path}");
        let response = client
            .get(gateway.admin_url(path))
            .header("kong-admin-token", "wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
    }
    let response = client
        .get(gateway.admin_url("/config"))
        .header("kong-admin-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(!text.contains(token), "the token is redacted: {text}");
    let response = client
        .post(gateway.admin_url("/config"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "no write without the token");
}

#[test]
fn an_admin_api_other_machines_can_reach_needs_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yml");
    let open = "_format_version: \"3.0\"\n_gateway:\n  admin_listen: \"0.0.0.0:8001\"\n";
    std::fs::write(&path, open).unwrap();
    let (code, text) = run_check(&path);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("_gateway.admin_listen"), "{text}");
    assert!(text.contains("needs a token"), "{text}");
    assert!(text.contains("line 3"), "the line is named: {text}");

    std::fs::write(&path, format!("{open}  admin_token: a-long-token\n")).unwrap();
    let (code, text) = run_check(&path);
    assert_eq!(code, 0, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_images_health_check_and_local_tools_sending_host_localhost_are_served() {
    let upstream = Upstream::start("a").await;
    let gateway = Gateway::start(&config(&upstream, "/one"));

    // deploy/docker/healthcheck, the gateway image's HEALTHCHECK, sends `Host: localhost`.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/docker/healthcheck");
    let status = std::process::Command::new("bash")
        .arg(script)
        .arg(gateway.admin_port.to_string())
        .arg("/status")
        .status()
        .unwrap();
    assert!(status.success(), "the health check failed: {status}");
    let status = std::process::Command::new("bash")
        .arg(script)
        .arg(gateway.admin_port.to_string())
        .arg("/no-such-page")
        .status()
        .unwrap();
    assert!(!status.success(), "the health check can fail");
}
