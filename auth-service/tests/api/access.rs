//! `/verify/apikey`, `/signup/basic`, `/signin/basic`, `/signout` (spec 1.1), plus 404s.

use std::time::Instant;

use serde_json::json;

use crate::helpers::{API_KEY, bearer, send, spawn_app};

#[tokio::test]
async fn verify_apikey_answers_each_row_of_the_contract() {
    // Arrange
    let app = spawn_app().await;
    let cases: &[(Option<&str>, u16, &str)] = &[
        (None, 401, "permission denied: missing x-api-key header"),
        (Some(""), 401, "permission denied: missing x-api-key header"),
        (Some("nope"), 403, "permission denied: invalid x-api-key"),
        (Some(API_KEY), 200, "success"),
    ];
    for (key, status, message) in cases {
        // Act
        let mut request = app.client.get(format!("{}/verify/apikey", app.address));
        if let Some(key) = key {
            request = request.header("x-api-key", *key);
        }
        let reply = send(request).await;
        // Assert
        assert_eq!(
            (reply.status, reply.message()),
            (*status, *message),
            "key {key:?}"
        );
    }
    let ok = send(
        app.client
            .get(format!("{}/verify/apikey", app.address))
            .header("x-api-key", API_KEY),
    )
    .await;
    assert_eq!(
        ok.text,
        r#"{"code":"10000","status":200,"message":"success"}"#
    );
}

#[tokio::test]
async fn sign_up_returns_the_user_with_learner_role_and_tokens() {
    // Arrange
    let app = spawn_app().await;
    // Act
    let reply = app
        .sign_up(
            &json!({"email": "new@example.com", "password": "123456", "name": "test name",
                         "profilePicUrl": "https://example.com/me.png", "extra": true}),
        )
        .await;
    // Assert
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply.text.starts_with(
            r#"{"code":"10000","status":200,"message":"success","data":{"user":{"_id":""#
        ),
        "{}",
        reply.text
    );
    let user = &reply.body["data"]["user"];
    assert_eq!(user["email"], "new@example.com");
    assert_eq!(user["name"], "test name");
    assert_eq!(user["profilePicUrl"], "https://example.com/me.png");
    assert_eq!(user["roles"].as_array().unwrap().len(), 1);
    assert_eq!(user["roles"][0]["code"], "LEARNER");
    assert_eq!(user["_id"].as_str().unwrap().len(), 24);
    assert!(user.get("password").is_none());
    let tokens = &reply.body["data"]["tokens"];
    assert_eq!(
        tokens["accessToken"].as_str().unwrap().split('.').count(),
        3
    );
    assert_eq!(
        tokens["refreshToken"].as_str().unwrap().split('.').count(),
        3
    );
    // the new access token works, and the hash is bcrypt with the configured cost
    let mine = app
        .get(
            "/profile/mine",
            Some(&bearer(tokens["accessToken"].as_str().unwrap())),
        )
        .await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    let stored = app
        .state
        .store
        .find_user_by_email("new@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.password_hash.unwrap().starts_with("$2b$04$"));
}

#[tokio::test]
async fn sign_up_rejects_a_registered_email() {
    let app = spawn_app().await;
    app.new_user("dup@example.com").await;
    let reply = app
        .sign_up(&json!({"email": "dup@example.com", "password": "123456", "name": "again"}))
        .await;
    reply.assert_error(400, "user already registered", "second sign-up");
    let admin = app
        .sign_up(&json!({"email": "admin@afteracademy.com", "password": "123456", "name": "x2"}))
        .await;
    admin.assert_error(400, "user already registered", "seeded admin");
}

#[tokio::test]
async fn sign_up_validation_messages_follow_the_contract() {
    let app = spawn_app().await;
    let long_name = "n".repeat(201);
    let password_73 = "p".repeat(73);
    let cases = [
        (
            json!({}),
            "email is required, password is required, name is required",
        ),
        (
            json!({"email": null, "password": null, "name": null}),
            "email is required, password is required, name is required",
        ),
        (
            json!({"email": "", "password": "123456", "name": "ab"}),
            "email is required",
        ),
        (
            json!({"email": "bad", "password": "1", "name": "a"}),
            "email is not a valid email, password must be at least 6 characters, name must be at least 2 characters",
        ),
        (
            json!({"email": "a@b.co", "password": "123456", "name": long_name}),
            "name must be at most 200 characters",
        ),
        (
            json!({"email": "a@b.co", "password": "p".repeat(101), "name": "ab"}),
            "password must be at most 100 characters",
        ),
        (
            json!({"email": "a@b.co", "password": password_73, "name": "ab"}),
            "bcrypt: password length exceeds 72 bytes",
        ),
        (
            json!({"email": "a@b.co", "password": "123456", "name": "ab", "profilePicUrl": "nope"}),
            "profilePicUrl is not a valid URL",
        ),
    ];
    for (body, message) in cases {
        let reply = app.sign_up(&body).await;
        reply.assert_error(400, message, &body.to_string());
    }
}

#[tokio::test]
async fn sign_up_accepts_unicode_names_and_emails() {
    let app = spawn_app().await;
    let reply = app.sign_up(&json!({"email": "jürgen@exämple.de", "password": "пароль123", "name": "Jürgen 山田 🚀"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["data"]["user"]["name"], "Jürgen 山田 🚀");
    let again = app
        .sign_in(&json!({"email": "jürgen@exämple.de", "password": "пароль123"}))
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
}

#[tokio::test]
async fn sign_in_answers_each_row_of_the_contract() {
    let app = spawn_app().await;
    app.new_user("known@example.com").await;
    let cases = [
        (json!({}), 400, "email is required, password is required"),
        (
            json!({"email": "x", "password": "1"}),
            400,
            "email is not a valid email, password must be at least 6 characters",
        ),
        (
            json!({"email": "nobody@example.com", "password": "secret1"}),
            404,
            "user not registerd",
        ),
        (
            json!({"email": "known@example.com", "password": "wrong-password"}),
            401,
            "wrong password",
        ),
        (
            json!({"email": "known@example.com", "password": "p".repeat(73)}),
            401,
            "wrong password",
        ),
    ];
    for (body, status, message) in cases {
        app.sign_in(&body)
            .await
            .assert_error(status, message, &body.to_string());
    }
    let ok = app
        .sign_in(&json!({"email": "known@example.com", "password": "secret1"}))
        .await;
    assert_eq!((ok.status, ok.message()), (200, "success"), "{}", ok.text);
    assert_eq!(ok.body["data"]["user"]["roles"][0]["code"], "LEARNER");
}

#[tokio::test]
async fn seeded_admin_signs_in_with_the_cost_10_hash_and_holds_all_roles() {
    let app = spawn_app().await;
    let start = Instant::now();
    let reply = app
        .sign_in(&json!({"email": "admin@afteracademy.com", "password": "changeit"}))
        .await;
    let elapsed = start.elapsed();
    assert_eq!(reply.status, 200, "{}", reply.text);
    let codes: Vec<&str> = reply.body["data"]["user"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|role| role["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["LEARNER", "AUTHOR", "EDITOR", "ADMIN"]);
    eprintln!("TIMING sign-in (bcrypt cost 10, debug build): {elapsed:?}");
}

#[tokio::test]
async fn sign_out_ends_only_that_session() {
    // Arrange: two sessions of one user
    let app = spawn_app().await;
    app.new_user("two@example.com").await;
    let (_, first, _) = app.new_session("two@example.com", "secret1").await;
    let (_, second, _) = app.new_session("two@example.com", "secret1").await;
    // Act
    let reply = app.sign_out(&bearer(&first)).await;
    // Assert
    assert_eq!(
        reply.text,
        r#"{"code":"10000","status":200,"message":"signout success"}"#
    );
    app.get("/profile/mine", Some(&bearer(&first)))
        .await
        .assert_error(
            401,
            "permission denied: invalid access token",
            "signed-out session",
        );
    assert_eq!(
        app.get("/profile/mine", Some(&bearer(&second)))
            .await
            .status,
        200
    );
    app.sign_out(&bearer(&first)).await.assert_error(
        401,
        "permission denied: invalid access token",
        "second sign-out",
    );
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_url_not_found() {
    let app = spawn_app().await;
    app.get("/nope", None)
        .await
        .assert_error(404, "url not found", "unknown path");
    app.get("/signup/basic", None)
        .await
        .assert_error(404, "url not found", "wrong method");
    send(app.client.put(format!("{}/signout", app.address)))
        .await
        .assert_error(404, "url not found", "PUT signout");
}

#[tokio::test]
async fn verify_apikey_answers_503_not_403_when_the_store_fails() {
    // Arrange: the key exists, but the table cannot be read any more
    let app = spawn_app().await;
    app.drop_table("api_keys").await;
    // Act
    let reply = send(
        app.client
            .get(format!("{}/verify/apikey", app.address))
            .header("x-api-key", API_KEY),
    )
    .await;
    // Assert: not a verdict on the key (the gateway would cache a 403), and no store text
    reply.assert_error(
        503,
        "x-api-key cannot be verified now, please try again later",
        "store failure",
    );
}

#[tokio::test]
async fn health_names_the_failing_check_but_not_its_reason() {
    let mut app = spawn_app().await;
    let ok = app.get("/health", None).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["data"]["status"], "OK");
    assert_eq!(
        ok.body["data"]["checks"],
        json!({"database": "OK", "nats": "OK", "redis": "OK"})
    );
    assert!(
        ok.body["data"]["timestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    app.redis.as_mut().expect("spawn_app starts redis").stop();
    let down = app.get("/health", None).await;
    // the check is named, its reason (addresses, driver texts) is only logged
    down.assert_error(503, "unhealthy: redis", "redis stopped");
}

#[tokio::test]
async fn graceful_shutdown_finishes_and_stops_serving() {
    let app = spawn_app().await;
    let address = app.address.clone();
    let client = app.client.clone();
    app.stop().await.expect("clean stop");
    assert!(
        client
            .get(format!("{address}/health"))
            .send()
            .await
            .is_err(),
        "listener closed"
    );
}

#[tokio::test]
async fn graceful_shutdown_lets_an_in_flight_request_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // Arrange: a request whose body is only half sent
    let app = spawn_app().await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let body = r#"{"email":"admin@afteracademy.com","password":"changeit"}"#;
    let (head, tail) = body.split_at(20);
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "POST /signin/basic HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{head}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();

    // Act: stop the app, wait until it refuses new connections, then finish the request
    let stopping = tokio::spawn(app.stop());
    testkit::wait_until_async(
        "the listener to close",
        std::time::Duration::from_secs(10),
        || async { tokio::net::TcpStream::connect(&address).await.is_err() },
    )
    .await
    .unwrap();
    stream.write_all(tail.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();

    // Assert: the in-flight request got its full answer, and the app stopped cleanly
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""message":"success""#), "{response}");
    stopping.await.unwrap().expect("clean stop");
}
