//! `apikey-auth-plugin` through the real gateway against fake verification endpoints.

use std::time::Duration;

use crate::helpers::{FakeAuth, Gateway, Upstream, get_json};

fn config(upstream: &Upstream, urls: &[String]) -> String {
    let urls: Vec<String> = urls
        .iter()
        .map(|url| format!("        - {url}\n"))
        .collect();
    format!(
        r#"_format_version: "3.0"
services:
  - name: blog
    url: http://{}
    routes: [{{name: blog, paths: [/blog]}}]
plugins:
  - name: apikey-auth-plugin
    config:
      verification_urls:
{}"#,
        upstream.target(),
        urls.concat()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_empty_key_is_answered_401_without_calling_auth() {
    let blog = Upstream::start("blog").await;
    let auth = FakeAuth::start(Duration::ZERO).await;
    let gateway = Gateway::start(&config(&blog, &[auth.url()]));
    let client = reqwest::Client::new();

    for request in [
        client.get(gateway.url("/blog/list/latest")),
        client
            .get(gateway.url("/blog/list/latest"))
            .header("x-api-key", ""),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        let body = response.text().await.unwrap();
        assert_eq!(
            body,
            r#"{"code":"10001","status":401,"message":"permission denied: missing x-api-key header"}"#
        );
    }
    assert_eq!(auth.calls(), 0, "auth was not asked");
    assert_eq!(blog.hits(), 0, "the upstream was not called");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_verdicts_pass_through_and_valid_key_reaches_upstream() {
    let blog = Upstream::start("blog").await;
    let auth = FakeAuth::start(Duration::ZERO).await;
    let gateway = Gateway::start(&config(&blog, &[auth.url()]));
    let client = reqwest::Client::new();

    let cases = [
        ("wrong", 403, "permission denied: invalid x-api-key"),
        ("expired", 401, "permission denied: key expired"),
    ];
    for (key, status, message) in cases {
        let response = client
            .get(gateway.url("/blog/list/latest"))
            .header("x-api-key", key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{key}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            body["message"], message,
            "{key}: auth's body is returned as is"
        );
    }
    assert_eq!(blog.hits(), 0);

    let response = client
        .get(gateway.url("/blog/list/latest"))
        .header("x-api-key", "good")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["headers"]["x-api-key"], "good",
        "the key is forwarded upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_with_one_key_cost_a_handful_of_verifications() {
    let blog = Upstream::start("blog").await;
    // Slow verification so that the first concurrent requests overlap (single flight).
    let auth = FakeAuth::start(Duration::from_millis(100)).await;
    let gateway = Gateway::start(&config(&blog, &[auth.url()]));
    let client = reqwest::Client::new();

    let mut tasks = Vec::new();
    for _ in 0..20 {
        let client = client.clone();
        let url = gateway.url("/blog/list/latest");
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            for _ in 0..50 {
                let response = client
                    .get(&url)
                    .header("x-api-key", "good")
                    .send()
                    .await
                    .unwrap();
                if response.status() == 200 {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for task in tasks {
        ok += task.await.unwrap();
    }

    assert_eq!(ok, 1000, "every request passed");
    assert!(
        auth.calls() <= 3,
        "verification calls: {} (expected a handful)",
        auth.calls()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_pass_via_the_other_url_when_one_verification_url_is_down() {
    let blog = Upstream::start("blog").await;
    let auth = FakeAuth::start(Duration::ZERO).await;
    let down = format!("http://127.0.0.1:{}/verify/apikey", testkit::free_port());
    let gateway = Gateway::start(&config(&blog, &[down, auth.url()]));
    let client = reqwest::Client::new();

    // Different keys so that the cache does not hide the failover.
    for i in 0..10 {
        let response = client
            .get(gateway.url("/blog/x"))
            .header("x-api-key", if i % 2 == 0 { "good" } else { "wrong" })
            .send()
            .await
            .unwrap();
        let expected = if i % 2 == 0 { 200 } else { 403 };
        assert_eq!(response.status().as_u16(), expected, "request {i}");
    }
    assert!(auth.calls() >= 2, "the live URL answered: {}", auth.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_verification_urls_down_is_503_and_not_cached() {
    let blog = Upstream::start("blog").await;
    let down = format!("http://127.0.0.1:{}/verify/apikey", testkit::free_port());
    let gateway = Gateway::start(&config(&blog, &[down]));
    let client = reqwest::Client::new();

    let (status, body) = get_json(&client, &gateway.url("/blog/x")).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("permission denied: missing x-api-key header"))
    );
    let response = client
        .get(gateway.url("/blog/x"))
        .header("x-api-key", "good")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], "API key verification is unavailable");
    assert_eq!(blog.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_over_one_kib_is_refused_at_the_edge_without_calling_auth() {
    let blog = Upstream::start("blog").await;
    let auth = FakeAuth::start(Duration::ZERO).await;
    let gateway = Gateway::start(&config(&blog, &[auth.url()]));
    let client = reqwest::Client::new();

    let longest = "k".repeat(1024);
    let response = client
        .get(gateway.url("/blog/x"))
        .header("x-api-key", &longest)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "a 1 KiB key is still asked about");
    assert_eq!(auth.calls(), 1);

    let too_long = "k".repeat(1025);
    let response = client
        .get(gateway.url("/blog/x"))
        .header("x-api-key", &too_long)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], "permission denied: invalid x-api-key");
    assert_eq!(auth.calls(), 1, "auth was not asked about the overlong key");
    assert_eq!(blog.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirecting_verification_url_is_not_followed() {
    let blog = Upstream::start("blog").await;
    let auth = FakeAuth::start(Duration::ZERO).await;
    let gateway = Gateway::start(&config(&blog, &[auth.redirecting_url()]));
    let client = reqwest::Client::new();

    let response = client
        .get(gateway.url("/blog/x"))
        .header("x-api-key", "good")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503, "a redirect is no verdict");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], "API key verification is unavailable");
    assert_eq!(auth.calls(), 0, "the redirect's target was not asked");
    assert_eq!(blog.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_services_own_health_path_skips_the_key() {
    let blog = Upstream::start("blog").await;
    let auth = FakeAuth::start(Duration::ZERO).await;
    let gateway = Gateway::start(&config(&blog, &[auth.url()]));
    let client = reqwest::Client::new();

    let (status, _) = get_json(&client, &gateway.url("/blog/health")).await;
    assert_eq!(status, 200, "/blog/health needs no key");
    assert_eq!(blog.hits(), 1);

    // Route /blog also matches /blogslug/health, which reaches the blog as /slug/health.
    let (status, body) = get_json(&client, &gateway.url("/blogslug/health")).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("permission denied: missing x-api-key header")),
        "a blog path ending in /health is not the health endpoint"
    );
    assert_eq!(blog.hits(), 1, "the blog was not reached without a key");
    assert_eq!(auth.calls(), 0);
}
