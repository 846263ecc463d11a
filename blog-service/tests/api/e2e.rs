//! End to end: the real auth-service and blog-service binaries on one nats-server and one
//! redis-server walk the whole lifecycle with real tokens.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use testkit::{NatsServer, RedisServer, wait_until_async};

use crate::{
    helpers::{assert_error, blog_body, send},
    processes::{ADMIN_EMAIL, ADMIN_PASSWORD, Dependencies, Services},
};

fn token(body: &Value) -> String {
    format!(
        "Bearer {}",
        body["data"]["tokens"]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token in {body}"))
    )
}

#[tokio::test]
async fn real_auth_and_blog_processes_walk_the_whole_lifecycle() {
    // Arrange: infrastructure, auth keys + seed, both services
    let nats = NatsServer::start();
    let redis = RedisServer::start();
    let infra = Dependencies {
        nats_url: nats.url().to_owned(),
        redis_port: redis.port(),
        nats_timeout: Duration::from_secs(5),
    };
    let mut services = Services::start(&infra, Duration::from_secs(30), |_| Vec::new()).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let auth_url = services.auth_url();
    let blog_url = services.blog_url();
    let call = |method: Method, path: String, token: Option<String>, body: Option<Value>| {
        let client = client.clone();
        let blog_url = blog_url.clone();
        async move {
            send(
                &client,
                &blog_url,
                method,
                &path,
                token.as_deref(),
                body.map(|b| b.to_string()),
            )
            .await
        }
    };

    // admin signs in; a learner signs up
    let (status, signed_in) = send(
        &client,
        &auth_url,
        Method::POST,
        "/signin/basic",
        None,
        Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).to_string()),
    )
    .await;
    assert_eq!(status, 200, "admin sign-in: {signed_in}");
    let admin = token(&signed_in);
    let (status, signed_up) = send(
        &client,
        &auth_url,
        Method::POST,
        "/signup/basic",
        None,
        Some(
            json!({"email": "learner@example.com", "password": "secret123", "name": "Learner"})
                .to_string(),
        ),
    )
    .await;
    assert_eq!(status, 200, "learner sign-up: {signed_up}");
    let learner = token(&signed_up);

    // creates → updates → submits → publishes
    let (status, created) = call(
        Method::POST,
        "/author/".into(),
        Some(admin.clone()),
        Some(blog_body("e2e blog", "Okapi facts")),
    )
    .await;
    assert_eq!(status, 200, "create: {created}");
    let id = created["data"]["_id"].as_str().unwrap().to_owned();
    assert_eq!(created["data"]["slug"], "e2eblog");
    assert_eq!(
        created["data"]["author"]["_id"],
        signed_in["data"]["user"]["_id"]
    );
    let (status, updated) = call(
        Method::PUT,
        "/author/".into(),
        Some(admin.clone()),
        Some(json!({"_id": id, "draftText": "final text"})),
    )
    .await;
    assert_eq!(
        (status, updated["data"]["draftText"].as_str()),
        (200, Some("final text")),
        "{updated}"
    );
    let (status, _) = call(
        Method::PUT,
        format!("/author/submit/id/{id}"),
        Some(admin.clone()),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let other = call(
        Method::POST,
        "/author/".into(),
        Some(admin.clone()),
        Some(blog_body("e2e-other", "Okapi habitats")),
    )
    .await
    .1["data"]["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        Method::PUT,
        format!("/author/submit/id/{other}"),
        Some(admin.clone()),
        None,
    )
    .await;
    for blog_id in [&id, &other] {
        let (status, body) = call(
            Method::PUT,
            format!("/editor/publish/id/{blog_id}"),
            Some(admin.clone()),
            None,
        )
        .await;
        assert_eq!(
            (status, body["message"].as_str()),
            (200, Some("blog published successfully")),
            "{body}"
        );
    }

    // public reads by id, slug, latest, tag, similar (author profile over NATS from real auth)
    let (status, public) = call(Method::GET, format!("/id/{id}"), None, None).await;
    assert_eq!(status, 200, "{public}");
    assert_eq!(public["data"]["text"], "final text");
    assert_eq!(
        public["data"]["author"]["name"],
        signed_in["data"]["user"]["name"]
    );
    let (status, by_slug) = call(Method::GET, "/slug/e2eblog".into(), None, None).await;
    assert_eq!((status, &by_slug["data"]["_id"]), (200, &json!(id)));
    let (_, latest) = call(
        Method::GET,
        "/list/latest?page=1&limit=10".into(),
        None,
        None,
    )
    .await;
    assert_eq!(latest["data"].as_array().map(Vec::len), Some(2), "{latest}");
    let (_, tagged) = call(
        Method::GET,
        "/list/tag/RUST?page=1&limit=10".into(),
        None,
        None,
    )
    .await;
    assert_eq!(tagged["data"].as_array().map(Vec::len), Some(2), "{tagged}");
    let (_, similar) = call(Method::GET, format!("/list/similar/id/{id}"), None, None).await;
    assert_eq!(
        similar["data"],
        json!([{"_id": other, "title": "Okapi habitats", "description": "About Okapi habitats", "slug": "e2e-other", "imgUrl": "https://img.example/cover.png", "score": 0.01, "tags": ["RUST", "NATS"]}])
    );

    // a learner is refused author and editor routes
    let refused = call(
        Method::POST,
        "/author/".into(),
        Some(learner.clone()),
        Some(blog_body("nope-slug", "Nope")),
    )
    .await;
    assert_error(
        &refused,
        403,
        "403:permission denied: does not have suffient role",
        "learner on /author",
    );
    let refused = call(
        Method::PUT,
        format!("/editor/unpublish/id/{id}"),
        Some(learner.clone()),
        None,
    )
    .await;
    assert_error(
        &refused,
        403,
        "403:permission denied: does not have suffient role",
        "learner on /editor",
    );
    let anonymous = call(
        Method::GET,
        "/author/drafts?page=1&limit=1".into(),
        None,
        None,
    )
    .await;
    assert_error(
        &anonymous,
        401,
        "401:permission denied: missing Authorization",
        "anonymous",
    );
    let forged = call(
        Method::GET,
        "/author/drafts?page=1&limit=1".into(),
        Some("Bearer forged.token.value".into()),
        None,
    )
    .await;
    assert_eq!(forged.0, 401, "{}", forged.1);

    // unpublish → public 404 at once → delete
    let (status, _) = call(
        Method::PUT,
        format!("/editor/unpublish/id/{id}"),
        Some(admin.clone()),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_error(
        &call(Method::GET, format!("/id/{id}"), None, None).await,
        404,
        "blog not found",
        "after unpublish",
    );
    assert_error(
        &call(Method::GET, "/slug/e2eblog".into(), None, None).await,
        404,
        "blog not found",
        "slug after unpublish",
    );
    let (_, similar) = call(Method::GET, format!("/list/similar/id/{other}"), None, None).await;
    assert_eq!(similar["data"], json!([]));
    let (status, deleted) = call(
        Method::DELETE,
        format!("/author/id/{id}"),
        Some(admin.clone()),
        None,
    )
    .await;
    assert_eq!(
        (status, deleted["message"].as_str()),
        (200, Some("blog deleted successfully"))
    );
    assert_error(
        &call(Method::GET, format!("/author/id/{id}"), Some(admin), None).await,
        404,
        &format!("{id} not found"),
        "after delete",
    );

    // graceful stop on SIGTERM
    services.blog.signal("TERM").unwrap();
    wait_until_async("blog-service to exit", Duration::from_secs(15), || {
        let exited = services.blog.try_exit_status().is_some();
        async move { exited }
    })
    .await
    .unwrap();
}
