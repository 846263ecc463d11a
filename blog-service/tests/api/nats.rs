//! NATS failures map to the contract's status by step and never hang past `NATS_TIMEOUT_SEC`.

use std::time::{Duration, Instant};

use blog_service::domain::{Blog, Id, NewBlog, Timestamp};
use futures::StreamExt;
use reqwest::Method;
use shared::{
    ApiError,
    messages::{Text, User},
    nats::MicroService,
};
use testkit::wait_until_async;

use crate::helpers::{ADMIN, Options, assert_error, spawn_app_with, user_of};

/// Waits until the server routes `subject` to a subscriber. `flush` only empties the client's
/// buffer: a request from another connection right after it may still find no responders.
async fn wait_for_responders(client: &async_nats::Client, subject: &str) {
    wait_until_async(
        &format!("a responder on {subject}"),
        Duration::from_secs(5),
        || async {
            let probe = async_nats::Request::new()
                .payload("{}".into())
                .timeout(Some(Duration::from_millis(100)));
            !matches!(
                client.send_request(subject.to_owned(), probe).await,
                Err(err) if err.kind() == async_nats::RequestErrorKind::NoResponders
            )
        },
    )
    .await
    .unwrap();
}

async fn published_blog(app: &crate::helpers::TestApp) -> Id {
    let new = NewBlog {
        title: "Lonely".into(),
        description: "No author service".into(),
        draft_text: "text".into(),
        slug: "lonely".into(),
        img_url: "/a.png".into(),
        tags: vec!["A".into()],
    };
    let mut blog = Blog::draft(
        new,
        Id::parse(&user_of(ADMIN).id).unwrap(),
        Timestamp::now(),
    );
    blog.published = true;
    blog.text = Some("text".into());
    app.state.store.insert(&blog).await.unwrap();
    blog.id
}

#[tokio::test]
async fn no_auth_responders_give_503_and_author_not_found() {
    let app = spawn_app_with(Options {
        auth: false,
        vars: vec![],
    })
    .await;
    let response = app
        .call(Method::GET, "/author/drafts?page=1&limit=1", ADMIN, None)
        .await;
    assert_error(
        &response,
        503,
        "auth service unavailable, please try again later (nats: no responders available for request)",
        "authentication",
    );
    let id = published_blog(&app).await;
    assert_error(
        &app.get(&format!("/id/{id}")).await,
        404,
        "author not found",
        "profile lookup",
    );
    let response = app
        .call(Method::GET, &format!("/editor/id/{id}"), ADMIN, None)
        .await;
    assert_error(
        &response,
        503,
        "auth service unavailable, please try again later (nats: no responders available for request)",
        "editor",
    );
}

#[tokio::test]
async fn silent_auth_times_out_within_nats_timeout_sec() {
    // Arrange: authentication answers, authorization and profile never do
    let app = spawn_app_with(Options {
        auth: false,
        vars: vec![("NATS_TIMEOUT_SEC", "1".into())],
    })
    .await;
    let client = async_nats::connect(app.nats.url()).await.unwrap();
    let service = MicroService::start(&client, "auth", "1.0.0").await.unwrap();
    service
        .serve("/", "authentication", |_: Text| async {
            Ok::<User, ApiError>(user_of(ADMIN))
        })
        .await
        .unwrap();
    let mut silent_authz = client.subscribe("auth.authorization").await.unwrap();
    let mut silent_profile = client.subscribe("auth.profile.user").await.unwrap();
    tokio::spawn(async move { while silent_authz.next().await.is_some() {} });
    tokio::spawn(async move { while silent_profile.next().await.is_some() {} });
    for subject in ["auth.authorization", "auth.profile.user"] {
        wait_for_responders(&client, subject).await;
    }
    let id = published_blog(&app).await;

    // Act + Assert
    let started = Instant::now();
    let response = app
        .call(Method::GET, "/author/drafts?page=1&limit=1", ADMIN, None)
        .await;
    assert_error(
        &response,
        503,
        "auth service unavailable, please try again later (nats: timeout)",
        "authorization step",
    );
    assert_error(
        &app.get(&format!("/id/{id}")).await,
        404,
        "author not found",
        "profile step",
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(4),
        "two 1 s timeouts took {elapsed:?}"
    );
}

#[tokio::test]
async fn internal_error_texts_from_auth_are_not_relayed_to_clients() {
    // Arrange: an auth that fails with internal texts (an older auth-service sent its cause chain)
    let app = spawn_app_with(Options {
        auth: false,
        vars: vec![],
    })
    .await;
    let client = async_nats::connect(app.nats.url()).await.unwrap();
    let leak =
        r#"{"error":"500:load keystore: no such table: keystores (sqlite:///var/lib/auth.db)"}"#;
    let mut authentication = client.subscribe("auth.authentication").await.unwrap();
    let replier = client.clone();
    tokio::spawn(async move {
        while let Some(request) = authentication.next().await {
            if let Some(reply) = request.reply {
                replier.publish(reply, leak.into()).await.unwrap();
            }
        }
    });
    wait_for_responders(&client, "auth.authentication").await;

    // Act
    let response = app
        .call(Method::GET, "/author/drafts?page=1&limit=1", ADMIN, None)
        .await;

    // Assert: still the authentication step's 401, with the generic text only
    assert_error(
        &response,
        401,
        "An unexpected error occurred. Please try again later.",
        "authentication failed inside auth",
    );
}
