//! Routes of controller `/profile` (spec 1.1).

use axum::{
    Router,
    extract::{Path, State},
    routing::get,
};
use shared::{
    ApiError,
    envelope::{Success, success},
};

use super::{
    dto::{PrivateUser, PublicUser},
    extract::AuthUser,
};
use crate::{
    domain::Id,
    ops::{self, OpsError},
    state::AppState,
};

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile/id/{id}", get(get_profile_by_id))
        .route("/profile/mine", get(get_my_profile))
}

// spec 1.1 GET /profile/id/:id (D9: non-hex ids are 400 `id is invalid`)
async fn get_profile_by_id(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Success<PublicUser>, ApiError> {
    let id = Id::parse(&id).map_err(|err| OpsError::Validation(err.to_string()))?;
    let user = ops::public_profile(&state, id).await?;
    Ok(success("success", user.into()))
}

// spec 1.1 GET /profile/mine
async fn get_my_profile(
    State(state): State<AppState>,
    AuthUser(auth): AuthUser,
) -> Result<Success<PrivateUser>, ApiError> {
    let user = ops::private_profile(&state, auth.user.user).await?;
    Ok(success("success", user.into()))
}
