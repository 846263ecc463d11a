//! Load balancing through the real gateway: weights, weight 0, consistent hashing, retries.

use std::collections::HashMap;

use crate::helpers::{Gateway, Upstream};

/// Sends `total` GETs to `url` from `concurrency` tasks; returns the status counts.
async fn blast(
    url: String,
    total: usize,
    concurrency: usize,
    header: Option<(&'static str, String)>,
) -> HashMap<u16, usize> {
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let url = url.clone();
        let header = header.clone();
        let count = total / concurrency + usize::from(worker < total % concurrency);
        tasks.push(tokio::spawn(async move {
            let mut statuses: HashMap<u16, usize> = HashMap::new();
            for _ in 0..count {
                let mut request = client.get(&url);
                if let Some((name, value)) = &header {
                    request = request.header(*name, value);
                }
                let status = match request.send().await {
                    Ok(response) => response.status().as_u16(),
                    Err(_) => 0,
                };
                *statuses.entry(status).or_default() += 1;
            }
            statuses
        }));
    }
    let mut all = HashMap::new();
    for task in tasks {
        for (status, count) in task.await.unwrap() {
            *all.entry(status).or_default() += count;
        }
    }
    all
}

fn upstream_config(targets: &[(String, u32)], extra: &str) -> String {
    let targets: Vec<String> = targets
        .iter()
        .map(|(target, weight)| format!("      - {{target: \"{target}\", weight: {weight}}}\n"))
        .collect();
    format!(
        r#"_format_version: "3.0"
services:
  - name: svc
    url: http://pool
    routes: [{{name: svc, paths: [/svc]}}]
upstreams:
  - name: pool
{extra}    targets:
{}"#,
        targets.concat()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_round_robin_honours_weights_within_one_percent_and_weight_zero_gets_nothing() {
    let heavy = Upstream::start("heavy").await;
    let light = Upstream::start("light").await;
    let idle = Upstream::start("idle").await;
    let gateway = Gateway::start(&upstream_config(
        &[
            (heavy.target(), 300),
            (light.target(), 100),
            (idle.target(), 0),
        ],
        "",
    ));

    let statuses = blast(gateway.url("/svc/x"), 10_000, 8, None).await;

    assert_eq!(
        statuses.get(&200),
        Some(&10_000),
        "all succeeded: {statuses:?}"
    );
    let (heavy_hits, light_hits) = (heavy.hits(), light.hits());
    assert!(
        (7_400..=7_600).contains(&heavy_hits),
        "heavy got {heavy_hits} of 10000 (want 7500 ± 1%)"
    );
    assert!(
        (2_400..=2_600).contains(&light_hits),
        "light got {light_hits} of 10000 (want 2500 ± 1%)"
    );
    assert_eq!(idle.hits(), 0, "weight 0 receives no traffic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_weight_zero_targets_gives_kong_503() {
    let idle = Upstream::start("idle").await;
    let gateway = Gateway::start(&upstream_config(&[(idle.target(), 0)], ""));
    let response = reqwest::get(gateway.url("/svc/x")).await.unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["message"],
        "failure to get a peer from the ring-balancer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consistent_hashing_sends_each_header_value_to_one_target() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let c = Upstream::start("c").await;
    let gateway = Gateway::start(&upstream_config(
        &[(a.target(), 100), (b.target(), 100), (c.target(), 100)],
        "    hash_on: header\n    hash_on_header: x-user\n",
    ));
    let client = reqwest::Client::new();

    let mut owner: HashMap<String, String> = HashMap::new();
    for round in 0..5 {
        for user in 0..40 {
            let key = format!("user-{user}");
            let body: serde_json::Value = client
                .get(gateway.url("/svc/x"))
                .header("x-user", &key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let target = body["upstream"].as_str().unwrap().to_owned();
            let first = owner.entry(key.clone()).or_insert_with(|| target.clone());
            assert_eq!(*first, target, "round {round}: {key} moved");
        }
    }
    let used: std::collections::HashSet<_> = owner.values().collect();
    assert_eq!(
        used.len(),
        3,
        "40 keys spread over all three targets: {owner:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_refuses_connections_is_retried_on_the_other_with_no_client_error() {
    let live = Upstream::start("live").await;
    let refused = format!("127.0.0.1:{}", testkit::free_port());
    let gateway = Gateway::start(&upstream_config(
        &[(live.target(), 100), (refused, 100)],
        "",
    ));

    let statuses = blast(gateway.url("/svc/x"), 400, 4, None).await;

    assert_eq!(
        statuses.get(&200),
        Some(&400),
        "no client error: {statuses:?}"
    );
    assert_eq!(live.hits(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_request_carries_its_whole_body_to_the_next_target() {
    let live = Upstream::start("live").await;
    let refused = format!("127.0.0.1:{}", testkit::free_port());
    let gateway = Gateway::start(&upstream_config(
        &[(live.target(), 100), (refused, 100)],
        "",
    ));
    let client = reqwest::Client::new();
    // Round robin puts the refusing target first for every other request.
    for _ in 0..6 {
        let response = client
            .post(gateway.url("/svc/upload"))
            .body("hello, retried world")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!(json["body_bytes"], 20, "{json}");
    }
    assert_eq!(live.hits(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_target_refusing_is_kong_502_and_timeout_is_504() {
    let refused = format!("127.0.0.1:{}", testkit::free_port());
    let slow = Upstream::start("slow").await;
    let config = format!(
        r#"_format_version: "3.0"
services:
  - name: dead
    url: http://{refused}
    retries: 2
    routes: [{{name: dead, paths: [/dead]}}]
  - name: slow
    url: http://{slow}
    read_timeout: 300
    routes: [{{name: slow, paths: [/slow-svc]}}]
"#,
        slow = slow.target()
    );
    let gateway = Gateway::start(&config);

    let response = reqwest::get(gateway.url("/dead/x")).await.unwrap();
    assert_eq!(response.status(), 502);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["message"],
        "An invalid response was received from the upstream server"
    );

    let response = reqwest::get(gateway.url("/slow-svc/slow")).await.unwrap();
    assert_eq!(response.status(), 504);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], "The upstream server is timing out");
}
