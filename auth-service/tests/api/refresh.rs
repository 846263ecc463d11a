//! `POST /token/refresh` (spec 1.1 with D1): every row, rotation, expired access tokens.

use auth_service::domain::Id;
use serde_json::json;

use crate::helpers::{ISSUER, KEYS, bearer, spawn_app, token_keys, unknown_id};

#[tokio::test]
async fn refresh_rotates_the_pair_and_the_old_pair_becomes_unusable() {
    // Arrange
    let app = spawn_app().await;
    let (_, access, refresh) = app.new_user("rot@example.com").await;
    // Act
    let reply = app
        .refresh(Some(&bearer(&access)), &json!({"refreshToken": refresh}))
        .await;
    // Assert
    assert_eq!(
        (reply.status, reply.message()),
        (200, "success"),
        "{}",
        reply.text
    );
    let new_access = reply.body["data"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let new_refresh = reply.body["data"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_access, access);
    app.refresh(Some(&bearer(&access)), &json!({"refreshToken": refresh}))
        .await
        .assert_error(401, "permission denied: claims ids", "old pair reused");
    app.get("/profile/mine", Some(&bearer(&access)))
        .await
        .assert_error(
            401,
            "permission denied: invalid access token",
            "old access token",
        );
    assert_eq!(
        app.get("/profile/mine", Some(&bearer(&new_access)))
            .await
            .status,
        200
    );
    let again = app
        .refresh(
            Some(&bearer(&new_access)),
            &json!({"refreshToken": new_refresh}),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
}

#[tokio::test]
async fn refresh_accepts_an_expired_access_token() {
    let app = spawn_app().await;
    let (user, _, _) = app.new_user("exp@example.com").await;
    let user = Id::parse(&user).unwrap();
    app.state
        .store
        .insert_keystore(user, "pk-exp", "sk-exp")
        .await
        .unwrap();
    let pair = token_keys(&KEYS, ISSUER, -100)
        .issue(user, "pk-exp", "sk-exp")
        .unwrap();
    let reply = app
        .refresh(
            Some(&bearer(&pair.access_token)),
            &json!({"refreshToken": pair.refresh_token}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn refresh_answers_each_error_row_of_the_contract() {
    // Arrange
    let app = spawn_app().await;
    let (_, access, refresh) = app.new_user("rows@example.com").await;
    let (_, other_access, other_refresh) = app.new_user("other@example.com").await;
    let ghost = Id::parse(&unknown_id()).unwrap();
    let ghost_pair = token_keys(&KEYS, ISSUER, 600)
        .issue(ghost, "p", "s")
        .unwrap();
    let foreign = token_keys(&KEYS, "evil.example.com", 600);
    let foreign_pair = foreign.issue(ghost, "p", "s").unwrap();
    let expired_refresh = {
        let keys = auth_service::tokens::TokenKeys::load(
            &KEYS.1,
            &KEYS.2,
            auth_service::tokens::ClaimSettings {
                issuer: ISSUER.into(),
                audience: crate::helpers::AUDIENCE.into(),
                access_validity_secs: 600,
                refresh_validity_secs: -10,
            },
        )
        .unwrap();
        keys.issue(ghost, "p", "s").unwrap().refresh_token
    };
    let cases: Vec<(Option<String>, serde_json::Value, u16, &str)> = vec![
        (
            Some(bearer(&access)),
            json!({}),
            400,
            "refreshToken is required",
        ),
        (
            Some(bearer(&access)),
            json!({"refreshToken": ""}),
            400,
            "refreshToken is required",
        ),
        (
            None,
            json!({"refreshToken": refresh}),
            401,
            "permission denied: invalid access claims",
        ),
        (
            Some("Bearer x.y.z".into()),
            json!({"refreshToken": refresh}),
            401,
            "permission denied: invalid access claims",
        ),
        (
            Some(bearer(&foreign_pair.access_token)),
            json!({"refreshToken": refresh}),
            401,
            "permission denied: invalid access claims",
        ),
        (
            Some(bearer(&access)),
            json!({"refreshToken": "garbage"}),
            401,
            "permission denied: invalid refresh token",
        ),
        (
            Some(bearer(&access)),
            json!({"refreshToken": expired_refresh}),
            401,
            "permission denied: invalid refresh token",
        ),
        (
            Some(bearer(&access)),
            json!({"refreshToken": foreign_pair.refresh_token}),
            401,
            "permission denied: invalid refresh claims",
        ),
        (
            Some(bearer(&access)),
            json!({"refreshToken": other_refresh}),
            401,
            "permission denied: access and refresh claims mismatch",
        ),
        (
            Some(bearer(&ghost_pair.access_token)),
            json!({"refreshToken": ghost_pair.refresh_token}),
            401,
            "permission denied: invalid refresh claims subject",
        ),
        (
            Some(bearer(&access)),
            json!({"refreshToken": access}),
            401,
            "permission denied: claims ids",
        ),
        (
            Some(bearer(&other_access)),
            json!({"refreshToken": refresh}),
            401,
            "permission denied: access and refresh claims mismatch",
        ),
    ];
    for (authorization, body, status, message) in cases {
        // Act
        let reply = app.refresh(authorization.as_deref(), &body).await;
        // Assert
        reply.assert_error(status, message, &format!("{authorization:?} {body}"));
    }
}
