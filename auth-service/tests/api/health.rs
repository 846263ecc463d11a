//! `/health` (every dependency), `/health/live` (the process answers) and `/health/ready` (the
//! database answers: auth needs neither Redis nor NATS to serve HTTP), and an auth that starts
//! without Redis.

use std::time::Duration;

use serde_json::json;
use testkit::wait_until_async;

use crate::helpers::{spawn_app, spawn_app_without_redis};

/// How long the service may take to notice a stopped dependency.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn ready_answers_200_while_health_names_redis_and_nats_when_both_stop() {
    // Arrange
    let mut app = spawn_app().await;
    for path in ["/health/live", "/health/ready"] {
        let ok = app.get(path, None).await;
        assert_eq!(ok.status, 200, "{path}: {}", ok.text);
        assert_eq!(ok.body["code"], "10000", "{path}");
        assert_eq!(ok.body["data"]["status"], "OK", "{path}");
        assert!(ok.body["data"]["timestamp"].is_string(), "{path}");
    }
    assert_eq!(
        app.get("/health/ready", None).await.body["data"]["checks"],
        json!({"database": "OK"}),
        "readiness is the database only"
    );
    assert_eq!(
        app.get("/health/live", None).await.body["data"]["checks"],
        json!({}),
        "liveness checks nothing"
    );

    // Act
    app.redis.as_mut().expect("spawn_app starts redis").stop();
    app.nats_server.stop();

    // Assert: /health names both (once the NATS client noticed), readiness and liveness stay 200
    wait_until_async("/health to name nats and redis", NOTICE_TIMEOUT, || {
        let health = app.get("/health", None);
        async move { health.await.message() == "unhealthy: nats, redis" }
    })
    .await
    .unwrap();
    app.get("/health", None).await.assert_error(
        503,
        "unhealthy: nats, redis",
        "redis and nats stopped",
    );
    for path in ["/health/live", "/health/ready"] {
        let reply = app.get(path, None).await;
        assert_eq!(
            reply.status, 200,
            "{path} with redis and nats stopped: {}",
            reply.text
        );
    }
    let signed_in = app
        .sign_in(&json!({"email": "admin@afteracademy.com", "password": "changeit"}))
        .await;
    assert_eq!(signed_in.status, 200, "sign-in: {}", signed_in.text);
}

#[tokio::test]
async fn auth_starts_and_serves_without_redis() {
    // Act: the Redis port has no server
    let app = spawn_app_without_redis().await;

    // Assert
    let signed_up = app
        .sign_up(
            &json!({"email": "no-redis@example.com", "password": "secret1", "name": "No Redis"}),
        )
        .await;
    assert_eq!(signed_up.status, 200, "sign-up: {}", signed_up.text);
    app.get("/health", None)
        .await
        .assert_error(503, "unhealthy: redis", "redis never started");
    let ready = app.get("/health/ready", None).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
}
