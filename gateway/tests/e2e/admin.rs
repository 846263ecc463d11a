//! The admin API of the real gateway: Kong's list shapes, `POST /config` (switches routing or
//! refuses with the field and changes nothing), `/status` and `/metrics` counters that match the
//! requests sent.

use std::{collections::HashMap, time::Duration};

use testkit::wait_until_async;

use crate::helpers::{Gateway, Upstream, get_json};

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
