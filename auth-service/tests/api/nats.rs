//! NATS responders (spec 2.3, 2.4, D7) on the app's own nats-server.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::{
    messages::{Text, User, UserRole},
    nats::{NatsClient, NatsRequestError, subjects},
};

use crate::helpers::{bearer, spawn_app, unknown_id};

async fn raw(client: &async_nats::Client, subject: &str, payload: &str) -> Value {
    let reply = client
        .request(subject.to_owned(), payload.to_owned().into())
        .await
        .expect("nats request");
    serde_json::from_slice(&reply.payload).expect("json reply")
}

#[tokio::test]
async fn authentication_returns_the_user_and_shares_the_http_messages() {
    // Arrange
    let app = spawn_app().await;
    let (id, access, refresh) = app.new_user("nats@example.com").await;
    let client = NatsClient::new(app.nats.clone(), Duration::from_secs(5));
    // Act
    let user: User = client
        .request(
            subjects::AUTHENTICATION,
            &Text {
                value: bearer(&access),
            },
        )
        .await
        .expect("authenticated");
    // Assert
    assert_eq!(user.id, id);
    assert_eq!(user.email, "nats@example.com");
    let cases = [
        (
            String::new(),
            "401:permission denied: missing Authorization",
        ),
        (
            "Token x".into(),
            "401:permission denied: invalid Authorization",
        ),
        (
            "Bearer a.b".into(),
            "401:token is malformed: token contains an invalid number of segments",
        ),
        (
            bearer(&refresh),
            "401:permission denied: invalid access token",
        ),
    ];
    for (value, expected) in cases {
        let err = client
            .request::<_, User>(
                subjects::AUTHENTICATION,
                &Text {
                    value: value.clone(),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            err,
            NatsRequestError::Remote(expected.into()),
            "value {value:?}"
        );
    }
    // a quick timing of the round trip (debug build)
    let rounds = 50;
    let start = Instant::now();
    for _ in 0..rounds {
        let _: User = client
            .request(
                subjects::AUTHENTICATION,
                &Text {
                    value: bearer(&access),
                },
            )
            .await
            .unwrap();
    }
    eprintln!(
        "TIMING NATS auth.authentication round trip: {:?} per request",
        start.elapsed() / rounds
    );
}

#[tokio::test]
async fn authorization_checks_roles_as_the_contract_says() {
    let app = spawn_app().await;
    let (id, _, _) = app.new_user("learner@example.com").await;
    let admin = app
        .state
        .store
        .find_user_by_email("admin@afteracademy.com")
        .await
        .unwrap()
        .unwrap();
    let client = NatsClient::new(app.nats.clone(), Duration::from_secs(5));
    let user = |id: &str| User {
        id: id.into(),
        name: "x".into(),
        email: String::new(),
        profile_pic_url: None,
    };
    let request = |id: &str, roles: &[&str]| UserRole {
        user: user(id),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    };
    let ok: User = client
        .request(
            subjects::AUTHORIZATION,
            &request(&id, &["AUTHOR", "LEARNER"]),
        )
        .await
        .unwrap();
    assert_eq!(
        (ok.id.as_str(), ok.name.as_str()),
        (id.as_str(), "Test User"),
        "user re-read from the database"
    );
    let ok: User = client
        .request(
            subjects::AUTHORIZATION,
            &request(&admin.id.to_string(), &["EDITOR"]),
        )
        .await
        .unwrap();
    assert_eq!(ok.email, "admin@afteracademy.com");
    let cases = [
        (request(&id, &[]), "403:permission denied: role missing"),
        (
            request(&id, &["AUTHOR"]),
            "403:permission denied: does not have suffient role",
        ),
        (
            request(&unknown_id(), &["AUTHOR"]),
            "404:user does not exists",
        ),
        (
            request("nothex", &["AUTHOR"]),
            "400:the provided hex string is not a valid ObjectID",
        ),
    ];
    for (req, expected) in cases {
        let err = client
            .request::<_, User>(subjects::AUTHORIZATION, &req)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), expected, "{req:?}");
    }
}

#[tokio::test]
async fn profile_user_blanks_the_email() {
    let app = spawn_app().await;
    let (id, _, _) = app.new_user("prof@example.com").await;
    let reply = raw(
        &app.nats,
        subjects::PROFILE_USER,
        &json!({"data": {"value": id}}).to_string(),
    )
    .await;
    assert_eq!(
        reply,
        json!({"data": {"_id": id, "name": "Test User", "email": ""}})
    );
    let missing = raw(
        &app.nats,
        subjects::PROFILE_USER,
        &json!({"data": {"value": unknown_id()}}).to_string(),
    )
    .await;
    assert_eq!(missing, json!({"error": "404:user does not exists"}));
    let bad = raw(
        &app.nats,
        subjects::PROFILE_USER,
        r#"{"data":{"value":"xyz"}}"#,
    )
    .await;
    assert_eq!(
        bad,
        json!({"error": "400:the provided hex string is not a valid ObjectID"})
    );
}

#[tokio::test]
async fn malformed_nats_requests_get_400_and_the_service_keeps_answering() {
    let app = spawn_app().await;
    let cases = [
        (subjects::AUTHENTICATION, "{}"),
        (subjects::AUTHENTICATION, r#"{"data":null}"#),
        (subjects::AUTHENTICATION, "not json"),
        (
            subjects::AUTHORIZATION,
            r#"{"data":{"user":null,"roles":["AUTHOR"]}}"#,
        ),
        (subjects::AUTHORIZATION, r#"{"data":{"roles":["AUTHOR"]}}"#),
        (subjects::PROFILE_USER, r#"{"data":{"value":5}}"#),
        (subjects::PROFILE_USER, ""),
    ];
    for (subject, payload) in cases {
        let reply = raw(&app.nats, subject, payload).await;
        let error = reply["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("400:invalid request"),
            "{subject} {payload:?}: {reply}"
        );
    }
    // still serving
    let reply = raw(
        &app.nats,
        subjects::AUTHENTICATION,
        r#"{"data":{"value":""}}"#,
    )
    .await;
    assert_eq!(
        reply,
        json!({"error": "401:permission denied: missing Authorization"})
    );
}

#[tokio::test]
async fn nats_replies_carry_no_internal_error_text() {
    // Arrange: a valid session, then a store that fails with SQL text in its error
    let app = spawn_app().await;
    let (_, access, _) = app.new_user("internal@example.com").await;
    app.drop_table("keystores").await;
    // Act
    let reply = raw(
        &app.nats,
        subjects::AUTHENTICATION,
        &json!({"data": {"value": bearer(&access)}}).to_string(),
    )
    .await;
    // Assert: the generic text, whatever the mode; the cause is in the log only
    assert_eq!(
        reply,
        json!({"error": "500:An unexpected error occurred. Please try again later."})
    );
}
