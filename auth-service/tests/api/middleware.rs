//! The authentication middleware (spec 1.2) on `GET /profile/mine`: every row, and the forgeries the
//! issue lists (alg none, HS256 with the public key, a wrong key, expired, refresh-as-access).

use auth_service::domain::Id;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::helpers::{AUDIENCE, ISSUER, KEYS, OTHER_KEYS, bearer, spawn_app, token_keys};

fn claims_for(user: &str, jti: &str) -> serde_json::Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({"iss": ISSUER, "sub": user, "aud": [AUDIENCE], "exp": now + 600, "nbf": now, "iat": now, "jti": jti})
}

#[tokio::test]
async fn authentication_answers_each_row_of_the_contract() {
    // Arrange
    let app = spawn_app().await;
    let (user, access, refresh) = app.new_user("mw@example.com").await;
    let user_id = Id::parse(&user).unwrap();
    let jti = {
        let payload = access.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        claims["jti"].as_str().unwrap().to_owned()
    };
    let expired = token_keys(&KEYS, ISSUER, -10)
        .issue(user_id, &jti, "s")
        .unwrap()
        .access_token;
    let wrong_key = token_keys(&OTHER_KEYS, ISSUER, 600)
        .issue(user_id, &jti, "s")
        .unwrap()
        .access_token;
    let wrong_issuer = token_keys(&KEYS, "evil.example.com", 600)
        .issue(user_id, &jti, "s")
        .unwrap()
        .access_token;
    let unknown_subject = token_keys(&KEYS, ISSUER, 600)
        .issue(Id::generate(), &jti, "s")
        .unwrap()
        .access_token;
    let no_keystore = token_keys(&KEYS, ISSUER, 600)
        .issue(user_id, "f".repeat(64).as_str(), "s")
        .unwrap()
        .access_token;
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims_for(&user, &jti).to_string())
    );
    let public_pem = std::fs::read(&KEYS.2).unwrap();
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims_for(&user, &jti),
        &EncodingKey::from_secret(&public_pem),
    )
    .unwrap();
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "permission denied: missing Authorization"),
        (
            Some(String::new()),
            "permission denied: missing Authorization",
        ),
        (
            Some(format!("Token {access}")),
            "permission denied: invalid Authorization",
        ),
        (
            Some("Bearer ".into()),
            "permission denied: invalid Authorization",
        ),
        (
            Some(format!("bearer {access}")),
            "permission denied: invalid Authorization",
        ),
        (
            Some("Bearer a.b".into()),
            "token is malformed: token contains an invalid number of segments",
        ),
        (
            Some(bearer(&expired)),
            "token has invalid claims: token is expired",
        ),
        (
            Some(bearer(&wrong_key)),
            "token signature is invalid: crypto/rsa: verification error",
        ),
        (
            Some(bearer(&none)),
            "token signature is invalid: 'none' signature type is not allowed",
        ),
        (
            Some(bearer(&hs256)),
            "token signature is invalid: key is of invalid type",
        ),
        (
            Some(bearer(&wrong_issuer)),
            "permission denied: invalid claims",
        ),
        (
            Some(bearer(&unknown_subject)),
            "permission denied: claims subject does not exists",
        ),
        (
            Some(bearer(&no_keystore)),
            "permission denied: invalid access token",
        ),
        (
            Some(bearer(&refresh)),
            "permission denied: invalid access token",
        ),
    ];
    for (authorization, message) in cases {
        // Act
        let reply = app.get("/profile/mine", authorization.as_deref()).await;
        // Assert
        reply.assert_error(401, message, &format!("{authorization:?}"));
    }
    // and the genuine token passes
    assert_eq!(
        app.get("/profile/mine", Some(&bearer(&access)))
            .await
            .status,
        200
    );
}
