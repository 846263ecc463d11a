//! `/profile/id/:id` and `/profile/mine` (spec 1.1, 0.5 with D9).

use serde_json::json;

use crate::helpers::{bearer, spawn_app, unknown_id};

#[tokio::test]
async fn public_profile_shows_name_and_picture_only() {
    let app = spawn_app().await;
    let reply = app
        .sign_up(&json!({"email": "pub@example.com", "password": "123456", "name": "Pub", "profilePicUrl": "https://x.io/a.png"}))
        .await;
    let id = reply.body["data"]["user"]["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let profile = app.get(&format!("/profile/id/{id}"), None).await;
    assert_eq!(profile.status, 200, "{}", profile.text);
    assert_eq!(
        profile.body["data"],
        json!({"_id": id, "name": "Pub", "profilePicUrl": "https://x.io/a.png"})
    );
    let upper = app
        .get(&format!("/profile/id/{}", id.to_uppercase()), None)
        .await;
    assert_eq!(upper.status, 200, "ids are hex in either case");
}

#[tokio::test]
async fn public_profile_answers_each_error_row() {
    let app = spawn_app().await;
    let cases = [
        ("abc".to_owned(), 400, "id must be of length 24"),
        ("0".repeat(25), 400, "id must be of length 24"),
        ("zzzzzzzzzzzzzzzzzzzzzzzz".to_owned(), 400, "id is invalid"),
        ("%C3%A9".repeat(24), 400, "id is invalid"),
        (unknown_id(), 404, "user does not exists"),
    ];
    for (id, status, message) in cases {
        app.get(&format!("/profile/id/{id}"), None)
            .await
            .assert_error(status, message, &id);
    }
}

#[tokio::test]
async fn my_profile_returns_the_private_user_with_roles() {
    let app = spawn_app().await;
    let (id, access, _) = app.new_user("mine@example.com").await;
    let reply = app.get("/profile/mine", Some(&bearer(&access))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let data = &reply.body["data"];
    assert_eq!(data["_id"], id.as_str());
    assert_eq!(data["email"], "mine@example.com");
    assert_eq!(data["name"], "Test User");
    assert!(data.get("profilePicUrl").is_none());
    assert_eq!(data["roles"][0]["code"], "LEARNER");
}
