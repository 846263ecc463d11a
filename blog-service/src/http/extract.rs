//! Extractors: the authorised caller (NATS authentication then authorization, spec 1.3 middleware),
//! path ids, slugs and tags, and pagination. Every rejection is an envelope with the contract's text.

use std::marker::PhantomData;

use axum::{
    extract::{FromRequestParts, Path, Query},
    http::{header::AUTHORIZATION, request::Parts},
};
use shared::{ApiError, error::INTERNAL_ERROR_MESSAGE, nats::NatsRequestError};

use crate::{
    domain::{Id, Page, Slug, is_uppercase},
    ops::Caller,
    state::AppState,
};

/// A role a route group requires.
pub trait RoleCode {
    /// The role code sent to `auth.authorization`.
    const CODE: &'static str;
}

/// Role `AUTHOR` (`/author/*`).
#[derive(Debug)]
pub struct Author;
impl RoleCode for Author {
    const CODE: &'static str = "AUTHOR";
}

/// Role `EDITOR` (`/editor/*`).
#[derive(Debug)]
pub struct Editor;
impl RoleCode for Editor {
    const CODE: &'static str = "EDITOR";
}

/// A caller that auth authenticated and found holding role `R`. Must be the first extractor so that
/// authentication precedes input validation, as gomicro's middlewares do.
#[derive(Debug)]
pub struct Authorized<R> {
    /// Who is calling.
    pub caller: Caller,
    role: PhantomData<R>,
}

impl<R: RoleCode + Send + Sync> FromRequestParts<AppState> for Authorized<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // spec 1.3: the raw header value, `""` when missing; the contract's error texts are passed on
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .unwrap_or_default();
        let user = state
            .auth
            .authenticate(&header)
            .await
            .map_err(|err| auth_failure("authentication", &err, ApiError::unauthorized))?;
        state
            .auth
            .authorize(&user, R::CODE)
            .await
            .map_err(|err| auth_failure("authorization", &err, ApiError::forbidden))?;
        let id = Id::parse(&user.id)
            .map_err(|_| ApiError::unauthorized("401:permission denied: invalid access claims"))?;
        Ok(Self {
            caller: Caller {
                id,
                view: user.into(),
            },
            role: PhantomData,
        })
    }
}

/// What a client gets when an auth step failed: 503 when auth could not be asked at all (the NATS
/// connection is down, nobody answers, no reply in time), since its credentials were not judged
/// and a 401/403 would tell it to drop them (issue #14; the contract's 401/403 with the NATS text
/// is a deliberate difference); else auth's verdict as `judged` (401 or 403) with [`relayed`].
fn auth_failure(
    step: &'static str,
    err: &NatsRequestError,
    judged: fn(String) -> ApiError,
) -> ApiError {
    match err {
        NatsRequestError::Timeout
        | NatsRequestError::NotConnected
        | NatsRequestError::NoResponders => {
            tracing::error!(step, error.message = %err, ?err, "auth could not be asked");
            ApiError::Unavailable(format!("{AUTH_UNAVAILABLE} ({err})"))
        }
        _ => judged(relayed(step, err)),
    }
}

/// The 503 text when auth cannot be asked (followed by the NATS text in parentheses).
pub const AUTH_UNAVAILABLE: &str = "auth service unavailable, please try again later";

/// The message of a failed auth request (spec 1.3: relayed verbatim) when it is a contract text;
/// anything that may carry auth's internals (a 5xx, a driver's text, a broken reply) is logged here
/// and answered with the generic text.
fn relayed(step: &'static str, err: &NatsRequestError) -> String {
    if err.is_for_clients() {
        err.to_string()
    } else {
        tracing::error!(step, error.message = %err, "auth request failed");
        INTERNAL_ERROR_MESSAGE.to_owned()
    }
}

async fn path_text<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<String, ApiError> {
    let Path(text) = Path::<String>::from_request_parts(parts, state)
        .await
        .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    Ok(text)
}

/// A path `:id` (spec 0.5, D9) and the text the client sent.
#[derive(Debug)]
pub struct PathId {
    /// The parsed id.
    pub id: Id,
    /// As written in the path (404 texts of private reads echo it).
    pub raw: String,
}

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = path_text(parts, state).await?;
        let id = Id::parse(&raw).map_err(|err| ApiError::bad_request(err.to_string()))?;
        Ok(Self { id, raw })
    }
}

/// A path `:slug` (3..=200 code points).
#[derive(Debug)]
pub struct PathSlug(pub Slug);

impl<S: Send + Sync> FromRequestParts<S> for PathSlug {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = path_text(parts, state).await?;
        Slug::parse(&raw).map(Self).map_err(ApiError::bad_request)
    }
}

/// A path `:tag` (`required,uppercase`).
#[derive(Debug)]
pub struct PathTag(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathTag {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = path_text(parts, state).await?;
        if raw.is_empty() {
            return Err(ApiError::bad_request("tag is required"));
        }
        if !is_uppercase(&raw) {
            return Err(ApiError::bad_request("tag must be uppercase"));
        }
        Ok(Self(raw))
    }
}

/// `?page&limit` (spec 0.6); the first value of a repeated parameter wins, as in gin.
#[derive(Debug)]
pub struct PageQuery(pub Page);

impl<S: Send + Sync> FromRequestParts<S> for PageQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
        let first = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        Page::parse(first("page"), first("limit"))
            .map(Self)
            .map_err(ApiError::bad_request)
    }
}
