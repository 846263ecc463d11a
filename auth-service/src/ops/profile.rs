//! Profiles (spec 1.1 `/profile/*`, NATS `auth.profile.user`).

use super::{OpsError, authenticate::with_roles};
use crate::{
    domain::{Id, User, UserWithRoles},
    state::AppState,
};

/// The active user `id`, or 404 `user does not exists`.
#[tracing::instrument(skip_all, fields(user_id = %id), err(level = "debug"))]
pub async fn public_profile(state: &AppState, id: Id) -> Result<User, OpsError> {
    state
        .store
        .find_user_by_id(id)
        .await?
        .ok_or(OpsError::UserNotFound)
}

/// The authenticated user's own profile, roles re-read.
pub async fn private_profile(state: &AppState, user: User) -> Result<UserWithRoles, OpsError> {
    with_roles(state, user).await
}
