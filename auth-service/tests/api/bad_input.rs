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

#[tokio::test]
async fn sign_up_refuses_an_empty_profile_pic_url() {
    // spec 0.4: `omitempty` on a pointer skips only null/absent; a pointer to "" fails `url`
    let app = spawn_app().await;
    let body = serde_json::json!({"email": "pic@example.com", "password": "123456", "name": "Pic", "profilePicUrl": ""});
    app.sign_up(&body)
        .await
        .assert_error(400, "profilePicUrl is not a valid URL", "empty URL");
    let null = serde_json::json!({"email": "pic@example.com", "password": "123456", "name": "Pic", "profilePicUrl": null});
    assert_eq!(app.sign_up(&null).await.status, 200, "null skips the rule");
}

/// A sign-up body whose ignored field `x` nests arrays so that the whole body is `depth` deep.
fn nested_sign_up(email: &str, depth: usize) -> String {
    let arrays = depth - 1; // the body's own object is the first level
    format!(
        r#"{{"email":"{email}","password":"123456","name":"Deep","x":{}{}}}"#,
        "[".repeat(arrays),
        "]".repeat(arrays)
    )
}

#[tokio::test]
async fn a_body_nested_deeper_than_go_accepts_gets_400() {
    let app = spawn_app().await;
    // Go's decoder accepts 10,000 levels ...
    let deepest = app
        .post_raw("/signup/basic", nested_sign_up("deep@example.com", 10_000))
        .await;
    assert_eq!(deepest.status, 200, "{:.200}", deepest.text);
    // ... and refuses one more, as 100,000 levels
    for depth in [10_001, 100_000] {
        app.post_raw("/signup/basic", nested_sign_up("deeper@example.com", depth))
            .await
            .assert_error(
                400,
                "invalid character '[' exceeded max depth",
                &format!("depth {depth}"),
            );
    }
}
