//! Bad input of every kind gets the envelope with a 4xx, never a 500 or a crash.

use crate::helpers::{bearer, send, spawn_app};

#[tokio::test]
async fn malformed_bodies_get_400_envelopes() {
    let app = spawn_app().await;
    let cases: &[(&str, &str, &str)] = &[
        ("/signup/basic", "", "EOF"),
        ("/signin/basic", "   ", "EOF"),
        ("/token/refresh", "", "EOF"),
        ("/signup/basic", "{not json", "key must be a string"),
        ("/signup/basic", "xyz", "expected value"),
        (
            "/signup/basic",
            r#"{"email":5,"password":"123456","name":"ab"}"#,
            "invalid type: integer `5`, expected a string",
        ),
        (
            "/signin/basic",
            r#"{"email":["a"],"password":"123456"}"#,
            "invalid type: sequence, expected a string",
        ),
        (
            "/token/refresh",
            r#"{"refreshToken":true}"#,
            "invalid type: boolean `true`, expected a string",
        ),
        ("/signup/basic", "[]", "invalid length 0, expected struct"),
    ];
    for (path, body, expected) in cases {
        let reply = app.post_raw(path, body.to_string()).await;
        assert_eq!(reply.status, 400, "{path} {body:?}: {}", reply.text);
        assert!(
            reply.message().starts_with(expected),
            "{path} {body:?}: {}",
            reply.text
        );
        assert_eq!(reply.body["code"], "10001");
    }
}

#[tokio::test]
async fn unknown_fields_and_trailing_data_are_ignored() {
    let app = spawn_app().await;
    let body = r#"{"email":"extra@example.com","password":"123456","name":"ab","admin":true,"roles":["ADMIN"]} trailing"#;
    let reply = app.post_raw("/signup/basic", body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["data"]["user"]["roles"][0]["code"], "LEARNER",
        "roles cannot be injected"
    );
}

#[tokio::test]
async fn a_two_megabyte_body_gets_413() {
    let app = spawn_app().await;
    let body = format!(
        r#"{{"email":"big@example.com","password":"123456","name":"{}"}}"#,
        "n".repeat(2 * 1024 * 1024)
    );
    let reply = app.post_raw("/signup/basic", body).await;
    reply.assert_error(413, "request body is too large", "2 MB body");
}

#[tokio::test]
async fn ten_kilobyte_headers_are_handled() {
    let app = spawn_app().await;
    let big = "a".repeat(10 * 1024);
    let reply = send(
        app.client
            .get(format!("{}/health", app.address))
            .header("x-padding", &big),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    app.get("/profile/mine", Some(&bearer(&big)))
        .await
        .assert_error(
            401,
            "token is malformed: token contains an invalid number of segments",
            "10 KB token",
        );
    let reply = send(
        app.client
            .get(format!("{}/verify/apikey", app.address))
            .header("x-api-key", &big),
    )
    .await;
    reply.assert_error(403, "permission denied: invalid x-api-key", "10 KB api key");
}
