//! [`ApiError`]: the one error type handlers and NATS responders return (spec `api.md` 0.2, 2.4).
//!
//! Over HTTP it renders the error envelope with its status. Over NATS it becomes the
//! `"<status>:<message>"` text. Internal errors keep their cause chain for the log; an HTTP client
//! sees the generic text unless the service runs in debug/test mode (see [`crate::http`]), a NATS
//! requester always does (gomicro sent the driver's text, which blog relayed to its clients).

use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::envelope::{Envelope, FAILURE_CODE};

/// What a client sees for a 500 in release mode (spec 0.2).
pub const INTERNAL_ERROR_MESSAGE: &str = "An unexpected error occurred. Please try again later.";

/// An error with the HTTP status it maps to. Messages are the spec's texts, verbatim.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 401.
    #[error("{0}")]
    Unauthorized(String),
    /// 403.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 413 (D12: body over `MAX_BODY_BYTES`).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 503: a dependency the request needs is down (health checks).
    #[error("{0}")]
    Unavailable(String),
    /// 500; the chain is logged, the text shown only outside release mode.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The detail of a 500, carried in the response extensions so that the debug-mode layer can show
/// it (spec 0.2: debug/test show the wrapped error's text; release hides it).
#[derive(Debug, Clone)]
pub struct InternalErrorDetail(pub String);

impl ApiError {
    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }
    /// 401 with `message`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Unauthorized(message.into())
    }
    /// 403 with `message`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }
    /// 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }
    /// 500 whose (debug-mode) text is `message`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(anyhow::anyhow!(message.into()))
    }

    /// The HTTP status this error renders with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The NATS error text: `"<status>:<message>"`, no space (spec 2.4). An internal error reads
    /// `500:` and the generic text in every mode: its cause chain (SQL, hosts, paths) is for the
    /// log, and requesters relay the text to their own clients.
    pub fn to_nats_text(&self) -> String {
        let message = match self {
            Self::Internal(_) => INTERNAL_ERROR_MESSAGE.to_owned(),
            other => other.to_string(),
        };
        format!("{}:{message}", self.status().as_u16())
    }

    /// The full message: the spec text, or for internal errors the whole cause chain.
    fn detail(&self) -> String {
        match self {
            Self::Internal(err) => format!("{err:#}"),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (message, detail) = match &self {
            Self::Internal(err) => {
                tracing::error!(error.message = %err, error.cause_chain = ?err, "request failed");
                (INTERNAL_ERROR_MESSAGE.to_owned(), Some(self.detail()))
            }
            other => (other.to_string(), None),
        };
        let mut response = Envelope::<()> {
            code: FAILURE_CODE.to_owned(),
            status: status.as_u16(),
            message,
            data: None,
        }
        .into_response_with(status);
        if let Some(detail) = detail {
            response
                .extensions_mut()
                .insert(InternalErrorDetail(detail));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_text_has_status_prefix_without_space() {
        let err = ApiError::unauthorized("permission denied: invalid access token");
        assert_eq!(
            err.to_nats_text(),
            "401:permission denied: invalid access token"
        );
        let internal = ApiError::Internal(anyhow::anyhow!("disk gone").context("load user"));
        assert_eq!(
            internal.to_nats_text(),
            "500:An unexpected error occurred. Please try again later.",
            "the cause chain stays in the log"
        );
    }

    #[test]
    fn internal_error_hides_detail_in_body_but_keeps_it_in_extensions() {
        let response = ApiError::internal("boom").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let detail = response.extensions().get::<InternalErrorDetail>().unwrap();
        assert_eq!(detail.0, "boom");
    }
}
