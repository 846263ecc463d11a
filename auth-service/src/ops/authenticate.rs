//! Authentication (spec 1.2; also NATS `auth.authentication`) and authorization (spec 4.4; NATS
//! `auth.authorization`). The HTTP extractor and the NATS responder both call [`authenticate`].

use super::OpsError;
use crate::{
    domain::{Id, Keystore, User, UserWithRoles},
    state::AppState,
};

/// An authenticated request: the user (with roles) and the session's keystore.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user.
    pub user: UserWithRoles,
    /// The session.
    pub keystore: Keystore,
}

/// Checks a raw `Authorization` header value (`Bearer <access token>`), in gomicro's order.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn authenticate(
    state: &AppState,
    authorization: &str,
) -> Result<Authenticated, OpsError> {
    if authorization.is_empty() {
        return Err(OpsError::MissingAuthorization);
    }
    let token = authorization
        .strip_prefix("Bearer ")
        .filter(|token| !token.is_empty())
        .ok_or(OpsError::InvalidAuthorization)?;
    let claims = state
        .tokens
        .verify(token)?
        .check(&state.tokens)
        .ok_or(OpsError::InvalidClaims)?;
    let user = state
        .store
        .find_user_by_id(claims.subject)
        .await?
        .ok_or(OpsError::ClaimsSubjectNotFound)?;
    let keystore = state
        .store
        .find_keystore(user.id, &claims.token_id)
        .await?
        .ok_or(OpsError::InvalidAccessToken)?;
    Ok(Authenticated {
        user: with_roles(state, user).await?,
        keystore,
    })
}

/// Re-reads the user `user_id` and checks it holds any of `roles` (spec 2.3, 4.4).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn authorize(
    state: &AppState,
    user_id: &str,
    roles: &[String],
) -> Result<User, OpsError> {
    // gomicro answered the bare driver text here; ours keeps it, as a 400
    let id = Id::parse(user_id).map_err(|_| {
        OpsError::Validation("the provided hex string is not a valid ObjectID".to_owned())
    })?;
    let user = state
        .store
        .find_user_by_id(id)
        .await?
        .ok_or(OpsError::UserNotFound)?;
    let user = with_roles(state, user).await?;
    if roles.is_empty() {
        return Err(OpsError::RoleMissing);
    }
    if user.roles.iter().any(|role| roles.contains(&role.code)) {
        Ok(user.user)
    } else {
        Err(OpsError::InsufficientRole)
    }
}

/// Loads the role documents of `user` (by id, any status; spec 4.4).
pub(super) async fn with_roles(state: &AppState, user: User) -> Result<UserWithRoles, OpsError> {
    let roles = state.store.find_roles(&user.role_ids).await?;
    Ok(UserWithRoles { user, roles })
}
