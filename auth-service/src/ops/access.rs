//! Sign-up, sign-in, token refresh, sign-out and the API-key check (spec 1.1, 4.3).

use rand::RngCore;

use super::{OpsError, authenticate::with_roles, password};
use crate::{
    domain::{Keystore, NewUser, RoleCode, SignInInput, SignUpInput, UserWithRoles},
    state::AppState,
    store::StoreError,
    tokens::{TokenKeys, TokenPair},
};

/// A user and the tokens of their new session.
#[derive(Debug, Clone)]
pub struct SessionTokens {
    /// The user with role documents.
    pub user: UserWithRoles,
    /// The new token pair.
    pub tokens: TokenPair,
}

/// `GET /verify/apikey`: the key must exist with `status: true`; a store failure is no verdict on
/// the key (503).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn verify_api_key(state: &AppState, key: Option<&str>) -> Result<(), OpsError> {
    let key = key
        .filter(|key| !key.is_empty())
        .ok_or(OpsError::MissingApiKey)?;
    match state.store.find_api_key(key).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(OpsError::InvalidApiKey),
        // spec 1.1 makes a lookup error a 403 too, which the gateway caches as a verdict on the key
        Err(err) => Err(OpsError::ApiKeyUnverifiable(err)),
    }
}

/// `POST /signup/basic`: a LEARNER with a bcrypt hash, then a new session.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn sign_up(state: &AppState, input: SignUpInput) -> Result<SessionTokens, OpsError> {
    if state
        .store
        .find_user_by_email(&input.email)
        .await?
        .is_some()
    {
        return Err(OpsError::AlreadyRegistered);
    }
    let role = state
        .store
        .find_role_by_code(RoleCode::Learner.as_str())
        .await?
        .ok_or_else(|| anyhow::anyhow!("role LEARNER is missing: run `auth-service seed`"))?;
    let password_hash = password::hash(input.password, state.settings.database.bcrypt_cost).await?;
    let user = state
        .store
        .insert_user(NewUser {
            name: input.name,
            email: input.email,
            password_hash,
            profile_pic_url: input.profile_pic_url,
            role_ids: vec![role.id],
        })
        .await
        .map_err(|err| match err {
            // D13: the database decides concurrent sign-ups with one email
            StoreError::Conflict(_) => OpsError::AlreadyRegistered,
            other => other.into(),
        })?;
    let tokens = new_session(state, &user.id).await?;
    Ok(SessionTokens {
        user: UserWithRoles {
            user,
            roles: vec![role],
        },
        tokens,
    })
}

/// `POST /signin/basic`: each sign-in opens one more session.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn sign_in(state: &AppState, input: SignInInput) -> Result<SessionTokens, OpsError> {
    let user = state
        .store
        .find_user_by_email(&input.email)
        .await?
        .ok_or(OpsError::NotRegistered)?;
    let hash = user.password_hash.clone().unwrap_or_default();
    if !password::verify(input.password, hash).await? {
        return Err(OpsError::WrongPassword);
    }
    let tokens = new_session(state, &user.id).await?;
    let user = with_roles(state, user).await?;
    Ok(SessionTokens { user, tokens })
}

/// `POST /token/refresh` (spec 1.1 steps 2-10, with D1's 401s): rotates the session.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn refresh_tokens(
    state: &AppState,
    authorization: &str,
    refresh_token: &str,
) -> Result<TokenPair, OpsError> {
    let access_token = authorization.strip_prefix("Bearer ").unwrap_or("");
    let access = TokenKeys::decode_unverified(access_token)
        .check(&state.tokens)
        .ok_or(OpsError::InvalidAccessClaims)?;
    let refresh = state
        .tokens
        .verify(refresh_token)
        .map_err(|_| OpsError::InvalidRefreshToken)?
        .check(&state.tokens)
        .ok_or(OpsError::InvalidRefreshClaims)?;
    if access.subject != refresh.subject {
        return Err(OpsError::ClaimsMismatch);
    }
    let user = state
        .store
        .find_user_by_id(access.subject)
        .await?
        .ok_or(OpsError::RefreshSubjectNotFound)?;
    let keystore = state
        .store
        .find_keystore_pair(user.id, &access.token_id, &refresh.token_id)
        .await?
        .ok_or(OpsError::ClaimsIds)?;
    // Only the caller that actually deletes the keystore may rotate it: two concurrent refreshes with
    // one pair yield one new session, not two (gomicro ignored the delete count).
    if !state.store.delete_keystore(keystore.id).await? {
        return Err(OpsError::ClaimsIds);
    }
    new_session(state, &user.id).await
}

/// `DELETE /signout`: ends the session of the presenting access token only.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn sign_out(state: &AppState, keystore: &Keystore) -> Result<(), OpsError> {
    state.store.delete_keystore(keystore.id).await?;
    Ok(())
}

/// Inserts a keystore with two random keys, then signs tokens with them as `jti`s (spec 4.3).
async fn new_session(state: &AppState, user: &crate::domain::Id) -> Result<TokenPair, OpsError> {
    let primary_key = random_key();
    let secondary_key = random_key();
    state
        .store
        .insert_keystore(*user, &primary_key, &secondary_key)
        .await?;
    Ok(state.tokens.issue(*user, &primary_key, &secondary_key)?)
}

/// 32 random bytes, hex-encoded (64 chars).
fn random_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
