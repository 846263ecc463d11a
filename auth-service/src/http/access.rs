//! Routes of controller `/` (spec 1.1): API key check, sign-up, sign-in, refresh, sign-out.

use axum::{
    Router,
    extract::State,
    routing::{delete, get, post},
};
use serde::Deserialize;
use shared::{
    ApiError,
    envelope::{Success, success, success_message},
    http::Json,
};

use super::{
    dto::{Tokens, UserAuth},
    extract::{AuthUser, Headers},
};
use crate::{
    domain::{SignInInput, SignUpInput, ValidationError},
    ops::{self, OpsError},
    state::AppState,
};

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/verify/apikey", get(verify_api_key))
        .route("/signup/basic", post(sign_up))
        .route("/signin/basic", post(sign_in))
        .route("/token/refresh", post(refresh_token))
        .route("/signout", delete(sign_out))
}

/// Absent and `null` fields read as empty (Go leaves them zero); unknown fields are ignored.
#[derive(Debug, Deserialize)]
struct SignUpRequest {
    email: Option<String>,
    password: Option<String>,
    name: Option<String>,
    #[serde(rename = "profilePicUrl")]
    profile_pic_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SignInRequest {
    email: Option<String>,
    password: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RefreshRequest {
    #[serde(rename = "refreshToken")]
    refresh_token: Option<String>,
}

fn invalid(err: ValidationError) -> ApiError {
    OpsError::Validation(err.0).into()
}

// spec 1.1 GET /verify/apikey
async fn verify_api_key(
    State(state): State<AppState>,
    headers: Headers,
) -> Result<Success<()>, ApiError> {
    let key = headers.text("x-api-key");
    ops::verify_api_key(&state, Some(&key)).await?;
    Ok(success_message("success"))
}

// spec 1.1 POST /signup/basic
async fn sign_up(
    State(state): State<AppState>,
    Json(body): Json<SignUpRequest>,
) -> Result<Success<UserAuth>, ApiError> {
    let input = SignUpInput::parse(body.email, body.password, body.name, body.profile_pic_url)
        .map_err(invalid)?;
    let session = ops::sign_up(&state, input).await?;
    Ok(success(
        "success",
        UserAuth {
            user: session.user.into(),
            tokens: session.tokens.into(),
        },
    ))
}

// spec 1.1 POST /signin/basic
async fn sign_in(
    State(state): State<AppState>,
    Json(body): Json<SignInRequest>,
) -> Result<Success<UserAuth>, ApiError> {
    let input = SignInInput::parse(body.email, body.password).map_err(invalid)?;
    let session = ops::sign_in(&state, input).await?;
    Ok(success(
        "success",
        UserAuth {
            user: session.user.into(),
            tokens: session.tokens.into(),
        },
    ))
}

// spec 1.1 POST /token/refresh (with D1)
async fn refresh_token(
    State(state): State<AppState>,
    headers: Headers,
    Json(body): Json<RefreshRequest>,
) -> Result<Success<Tokens>, ApiError> {
    let refresh_token = body.refresh_token.unwrap_or_default();
    crate::domain::required(&[("refreshToken", &refresh_token)]).map_err(invalid)?;
    let pair = ops::refresh_tokens(&state, &headers.text("authorization"), &refresh_token).await?;
    Ok(success("success", pair.into()))
}

// spec 1.1 DELETE /signout
async fn sign_out(
    State(state): State<AppState>,
    AuthUser(auth): AuthUser,
) -> Result<Success<()>, ApiError> {
    ops::sign_out(&state, &auth.keystore).await?;
    Ok(success_message("signout success"))
}
