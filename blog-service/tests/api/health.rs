//! `/health` (every dependency), `/health/live` (the process answers) and `/health/ready` (the
//! database answers: Redis and NATS are not conditions), and a blog that starts without Redis.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use testkit::{NatsServer, wait_until_async};

use crate::helpers::{
    ADMIN, OwnedServer, assert_error, blog_body, send, settings, spawn_app, start, start_test_auth,
};

/// How long a service may take to notice a stopped or restarted dependency.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn ready_answers_200_while_health_names_redis_when_redis_stops() {
    // Arrange
    let mut app = spawn_app().await;
    for path in ["/health/live", "/health/ready"] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["code"], "10000", "{path}: {body}");
        assert_eq!(body["data"]["status"], "OK", "{path}: {body}");
        assert!(body["data"]["timestamp"].is_string(), "{path}: {body}");
    }
    assert_eq!(
        app.get("/health/ready").await.1["data"]["checks"],
        json!({"database": "OK"}),
        "readiness is the database only"
    );
    assert_eq!(
        app.get("/health/live").await.1["data"]["checks"],
        json!({}),
        "liveness checks nothing"
    );

    // Act
    app.redis.stop();

    // Assert
    assert_error(
        &app.get("/health").await,
        503,
        "unhealthy: redis",
        "health with redis stopped",
    );
    for path in ["/health/live", "/health/ready"] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 200, "{path} with redis stopped: {body}");
    }
}

#[tokio::test]
async fn blog_starts_without_redis_and_caches_once_redis_answers() {
    // Arrange: NATS and the test auth run, Redis does not (yet)
    let nats = NatsServer::start();
    let _auth = start_test_auth(nats.url()).await;
    let mut redis = OwnedServer::redis();
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("blog.db").display());
    let source = settings(nats.url(), redis.port(), &database_url, &[]);

    // Act
    let (address, _state, _stop) = start(&source).await;

    // Assert: it serves, reads come from the database
    let client = reqwest::Client::new();
    let call = |method: Method, path: String, token: Option<&'static str>, body: Option<String>| {
        let (client, address) = (client.clone(), address.clone());
        async move { send(&client, &address, method, &path, token, body).await }
    };
    let (status, created) = call(
        Method::POST,
        "/author/".into(),
        Some(ADMIN),
        Some(blog_body("late-redis", "Late redis").to_string()),
    )
    .await;
    assert_eq!(status, 200, "create without redis: {created}");
    let id = created["data"]["_id"].as_str().unwrap().to_owned();
    for path in [
        format!("/author/submit/id/{id}"),
        format!("/editor/publish/id/{id}"),
    ] {
        let (status, body) = call(Method::PUT, path.clone(), Some(ADMIN), None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, body) = call(Method::GET, format!("/id/{id}"), None, None).await;
    assert_eq!(status, 200, "read without redis: {body}");
    assert_error(
        &call(Method::GET, "/health".into(), None, None).await,
        503,
        "unhealthy: redis",
        "health without redis",
    );
    assert_eq!(
        call(Method::GET, "/health/ready".into(), None, None)
            .await
            .0,
        200
    );

    // Redis comes up: reads fill the cache again, without a restart
    redis.start();
    let key = format!("blog:id:{id}");
    let redis_url = format!("{}/3", redis.url());
    wait_until_async(
        &format!("reads to fill {key} once redis answers"),
        NOTICE_TIMEOUT,
        || {
            let (call, key, redis_url, id) = (&call, key.clone(), redis_url.clone(), id.clone());
            async move {
                let (status, _) = call(Method::GET, format!("/id/{id}"), None, None).await;
                assert_eq!(status, 200);
                key_exists(&redis_url, &key).await
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(
        call(Method::GET, "/health".into(), None, None).await.0,
        200,
        "health once redis answers"
    );
}

/// Whether `key` exists in the Redis database at `url`; `false` while Redis does not answer.
pub async fn key_exists(url: &str, key: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let Ok(mut connection) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    redis::cmd("EXISTS")
        .arg(key)
        .query_async::<i64>(&mut connection)
        .await
        .is_ok_and(|found| found == 1)
}
