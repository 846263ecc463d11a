//! [`OpsError`]: every way a use case fails, with the contract's message texts (typos included).

use shared::ApiError;

use crate::{store::StoreError, tokens::TokenError};

/// A use-case failure; `Display` is the client-visible message.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// 400: request validation (spec 0.4).
    #[error("{0}")]
    Validation(String),
    /// 401 (spec 1.1 /verify/apikey).
    #[error("permission denied: missing x-api-key header")]
    MissingApiKey,
    /// 403.
    #[error("permission denied: invalid x-api-key")]
    InvalidApiKey,
    /// 503: the store failed while looking the key up, so there is no verdict on the key (gomicro
    /// answered 403, which gateways cache and every client of the key is refused until it expires).
    #[error("x-api-key cannot be verified now, please try again later")]
    ApiKeyUnverifiable(#[source] StoreError),
    /// 400 (sign-up, D13).
    #[error("user already registered")]
    AlreadyRegistered,
    /// 404 (sign-in; sic).
    #[error("user not registerd")]
    NotRegistered,
    /// 401.
    #[error("wrong password")]
    WrongPassword,
    /// 401 (spec 1.2).
    #[error("permission denied: missing Authorization")]
    MissingAuthorization,
    /// 401.
    #[error("permission denied: invalid Authorization")]
    InvalidAuthorization,
    /// 401 with golang-jwt's text.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// 401.
    #[error("permission denied: invalid claims")]
    InvalidClaims,
    /// 401.
    #[error("permission denied: claims subject does not exists")]
    ClaimsSubjectNotFound,
    /// 401.
    #[error("permission denied: invalid access token")]
    InvalidAccessToken,
    /// 401 (refresh, D1).
    #[error("permission denied: invalid access claims")]
    InvalidAccessClaims,
    /// 401 (refresh, D1: gomicro answered 500).
    #[error("permission denied: invalid refresh token")]
    InvalidRefreshToken,
    /// 401.
    #[error("permission denied: invalid refresh claims")]
    InvalidRefreshClaims,
    /// 401.
    #[error("permission denied: access and refresh claims mismatch")]
    ClaimsMismatch,
    /// 401.
    #[error("permission denied: invalid refresh claims subject")]
    RefreshSubjectNotFound,
    /// 401.
    #[error("permission denied: claims ids")]
    ClaimsIds,
    /// 404 (profile; sic).
    #[error("user does not exists")]
    UserNotFound,
    /// 403 (spec 4.4).
    #[error("permission denied: role missing")]
    RoleMissing,
    /// 403 (sic).
    #[error("permission denied: does not have suffient role")]
    InsufficientRole,
    /// 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for OpsError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => {
                Self::Internal(anyhow::anyhow!("unexpected duplicate {what}"))
            }
            StoreError::Backend(err) => Self::Internal(err),
        }
    }
}

impl From<OpsError> for ApiError {
    fn from(err: OpsError) -> Self {
        use OpsError as E;
        match err {
            E::Validation(_) | E::AlreadyRegistered => ApiError::bad_request(err.to_string()),
            E::NotRegistered | E::UserNotFound => ApiError::not_found(err.to_string()),
            E::InvalidApiKey | E::RoleMissing | E::InsufficientRole => {
                ApiError::forbidden(err.to_string())
            }
            E::ApiKeyUnverifiable(ref cause) => {
                // logged once, here at the edge; the client gets the text without the cause
                tracing::error!(error.message = %cause, error.cause_chain = ?cause, "api key lookup failed");
                ApiError::Unavailable(err.to_string())
            }
            E::Internal(err) => ApiError::Internal(err),
            E::MissingApiKey
            | E::WrongPassword
            | E::MissingAuthorization
            | E::InvalidAuthorization
            | E::Token(_)
            | E::InvalidClaims
            | E::ClaimsSubjectNotFound
            | E::InvalidAccessToken
            | E::InvalidAccessClaims
            | E::InvalidRefreshToken
            | E::InvalidRefreshClaims
            | E::ClaimsMismatch
            | E::RefreshSubjectNotFound
            | E::ClaimsIds => ApiError::unauthorized(err.to_string()),
        }
    }
}
