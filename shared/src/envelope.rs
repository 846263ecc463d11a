//! The HTTP response envelope of every service response (spec `api.md` section 0.1).
//!
//! `{"code": "10000"|"10001", "status": <http status>, "message": "...", "data": ...}` in this key
//! order; `data` is omitted when absent. Success is always HTTP 200.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};

/// `code` of every successful response.
pub const SUCCESS_CODE: &str = "10000";
/// `code` of every error response.
pub const FAILURE_CODE: &str = "10001";
/// Content type of every envelope (gin's `ctx.JSON`).
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The envelope as it travels on the wire; also what tests decode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// [`SUCCESS_CODE`] or [`FAILURE_CODE`], a string on the wire.
    pub code: String,
    /// The HTTP status repeated as a number.
    pub status: u16,
    /// Human text; clients match on it, so texts follow the spec verbatim.
    pub message: String,
    /// Payload of a successful response; never present on errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
}

impl<T: Serialize> Envelope<T> {
    /// Renders the envelope as a response with `status`.
    pub fn into_response_with(self, status: StatusCode) -> Response {
        match serde_json::to_vec(&self) {
            Ok(body) => json_response(status, body),
            Err(err) => {
                tracing::error!(error.message = %err, "failed to serialise a response envelope");
                json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    br#"{"code":"10001","status":500,"message":"An unexpected error occurred. Please try again later."}"#
                        .to_vec(),
                )
            }
        }
    }
}

/// A successful (200) response: `message` plus optional `data`.
#[derive(Debug)]
pub struct Success<T> {
    message: String,
    data: Option<T>,
}

/// 200 with `message` and `data`.
pub fn success<T: Serialize>(message: impl Into<String>, data: T) -> Success<T> {
    Success {
        message: message.into(),
        data: Some(data),
    }
}

/// 200 with `message` only (`data` omitted).
pub fn success_message(message: impl Into<String>) -> Success<()> {
    Success {
        message: message.into(),
        data: None,
    }
}

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        Envelope {
            code: SUCCESS_CODE.to_owned(),
            status: StatusCode::OK.as_u16(),
            message: self.message,
            data: self.data,
        }
        .into_response_with(StatusCode::OK)
    }
}

pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_envelope_keeps_key_order_and_omits_missing_data() {
        let with_data = Envelope {
            code: SUCCESS_CODE.into(),
            status: 200,
            message: "success".into(),
            data: Some(serde_json::json!({"a": 1})),
        };
        assert_eq!(
            serde_json::to_string(&with_data).unwrap(),
            r#"{"code":"10000","status":200,"message":"success","data":{"a":1}}"#
        );
        let without: Envelope<()> = Envelope {
            code: FAILURE_CODE.into(),
            status: 404,
            message: "url not found".into(),
            data: None,
        };
        assert_eq!(
            serde_json::to_string(&without).unwrap(),
            r#"{"code":"10001","status":404,"message":"url not found"}"#
        );
    }
}
