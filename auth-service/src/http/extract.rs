//! Extractors: [`AuthUser`] (the authentication middleware of spec 1.2) and [`header`] access.

use axum::{extract::FromRequestParts, http::request::Parts};
use shared::ApiError;

use crate::{ops, state::AppState};

/// An authenticated request; rejects with the 401s of spec 1.2 (via [`ops::authenticate`], the same
/// code path as NATS `auth.authentication`).
#[derive(Debug, Clone)]
pub struct AuthUser(pub ops::Authenticated);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let authorization = header(parts, "authorization").unwrap_or_default();
        Ok(Self(ops::authenticate(state, &authorization).await?))
    }
}

/// The value of header `name` as text; a non-UTF-8 value reads as its lossy text.
pub fn header(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// The raw request headers, for handlers that read one header and nothing else.
#[derive(Debug, Clone)]
pub struct Headers(pub axum::http::HeaderMap);

impl<S: Send + Sync> FromRequestParts<S> for Headers {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.clone()))
    }
}

impl Headers {
    /// The value of header `name` as text (`""` when absent).
    pub fn text(&self, name: &str) -> String {
        self.0
            .get(name)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .unwrap_or_default()
    }
}
