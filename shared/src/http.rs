//! axum plumbing every service router gets (spec `api.md` 0.3, 0.4, D12).
//!
//! - [`Json`]: a JSON body extractor whose rejections are 400/413 envelopes, never axum's plain text.
//! - [`finish_router`]: adds the `url not found` fallback (unknown path *and* wrong method, as gin),
//!   panic → 500 envelope, the body-size limit, a request id with a tracing span per request, and in
//!   debug/test mode the layer that shows 500 details.

use std::any::Any;

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, Request},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use http::StatusCode;
use serde::de::DeserializeOwned;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{
    config::RunMode,
    envelope::{Envelope, FAILURE_CODE},
    error::{ApiError, InternalErrorDetail},
    telemetry::{self, propagation::HttpHeaders},
};

/// Message of the 404 for unknown routes and wrong methods (spec 0.3).
pub const URL_NOT_FOUND: &str = "url not found";
/// Message of the 413 for a body over the limit (D12).
pub const BODY_TOO_LARGE: &str = "request body is too large";

/// A JSON request body. Go's decoder rules (spec 0.4): unknown fields ignored, trailing data after the
/// first value ignored, no Content-Type check; an empty body is `EOF`.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(BODY_TOO_LARGE.to_owned())
            } else {
                ApiError::bad_request(rejection.body_text())
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

/// The deepest nesting of arrays and objects Go's JSON decoder accepts (`maxNestingDepth`).
pub const MAX_JSON_DEPTH: usize = 10_000;

/// Decodes the first JSON value of `bytes` as Go's `json.Decoder` would (trailing data ignored, at
/// most [`MAX_JSON_DEPTH`] levels even inside ignored fields, which serde skips without a limit).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Some(bracket) = too_deep(bytes) {
        // Go's scanner text
        return Err(ApiError::bad_request(format!(
            "invalid character '{}' exceeded max depth",
            char::from(bracket)
        )));
    }
    let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<T>();
    match values.next() {
        Some(Ok(value)) => Ok(value),
        Some(Err(err)) if err.is_eof() => Err(ApiError::bad_request("EOF")),
        Some(Err(err)) => Err(ApiError::bad_request(err.to_string())),
        None => Err(ApiError::bad_request("EOF")),
    }
}

/// The bracket that opens level [`MAX_JSON_DEPTH`] + 1 of the first JSON value of `bytes`, if any.
/// A linear scan that skips strings; malformed input is left to the parser.
fn too_deep(bytes: &[u8]) -> Option<u8> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in bytes {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            _ if depth == 0 && byte.is_ascii_whitespace() => {}
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Some(byte);
                }
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    // the first value is complete; what follows is ignored (spec 0.4)
                    return None;
                }
            }
            // the first value is a scalar: no nesting
            _ if depth == 0 => return None,
            b'"' => in_string = true,
            _ => {}
        }
    }
    None
}

/// Settings of the shared HTTP layers.
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings {
    /// `GO_MODE`: release hides 500 details.
    pub mode: RunMode,
    /// `MAX_BODY_BYTES`: larger bodies get 413.
    pub max_body_bytes: usize,
}

/// Wraps a service's routes in the layers every service shares (see the module doc).
pub fn finish_router<S>(router: Router<S>, settings: HttpSettings) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let router = router
        .fallback(url_not_found)
        .method_not_allowed_fallback(url_not_found)
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(CatchPanicLayer::custom(panic_response));
    let router = if settings.mode == RunMode::Release {
        router
    } else {
        router.layer(middleware::from_fn(show_internal_details))
    };
    router
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(record_status),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The span of one request: method, path, request id, and the trace it continues (W3C
/// `traceparent`), whose id every log line of the request carries.
fn request_span(request: &Request) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-");
    let span = tracing::info_span!(
        "http",
        otel.name = %format_args!("{} {}", request.method(), request.uri().path()),
        otel.kind = "server",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
        trace_id = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    telemetry::continue_trace(&span, &HttpHeaders(request.headers()));
    span
}

/// Records the answer's status on the request span (a 5xx marks the span as an error).
fn record_status(response: &Response, _latency: std::time::Duration, span: &tracing::Span) {
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
}

async fn url_not_found() -> ApiError {
    ApiError::not_found(URL_NOT_FOUND)
}

/// A handler panic becomes a 500 envelope; the process keeps serving (spec 0.3 ErrorCatcher: a
/// non-error panic value reads `something went wrong`).
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let text = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("non-string panic payload");
    tracing::error!(panic = %text, "handler panicked");
    ApiError::internal("something went wrong").into_response()
}

/// Debug/test mode: a 500 shows the wrapped error's text instead of the generic message (spec 0.2).
async fn show_internal_details(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    match response.extensions().get::<InternalErrorDetail>() {
        Some(InternalErrorDetail(detail)) => Envelope::<()> {
            code: FAILURE_CODE.to_owned(),
            status: response.status().as_u16(),
            message: detail.clone(),
            data: None,
        }
        .into_response_with(response.status()),
        None => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[allow(dead_code)]
        email: String,
    }

    #[test]
    fn parse_json_refuses_what_is_nested_deeper_than_go_accepts() {
        let nested = |open: &str, close: &str, depth: usize| {
            format!(
                r#"{{"email":"a@b.c","x":{}{}}}"#,
                open.repeat(depth - 1),
                close.repeat(depth - 1)
            )
        };
        let cases = [
            (nested("[", "]", MAX_JSON_DEPTH), None),
            (
                nested("[", "]", MAX_JSON_DEPTH + 1),
                Some("invalid character '[' exceeded max depth"),
            ),
            (
                nested(r#"{"a":"#, "}", MAX_JSON_DEPTH + 1),
                Some("invalid character '{' exceeded max depth"),
            ),
            (
                // brackets inside strings are text, escaped quotes do not end the string
                format!(r#"{{"email":"a@b.c","x":"\"{}"}}"#, "[".repeat(20_000)),
                None,
            ),
            (
                // trailing data after the first value is not looked at
                format!(r#"{{"email":"a@b.c"}} {}"#, "[".repeat(20_000)),
                None,
            ),
        ];
        for (input, expected) in cases {
            let result = parse_json::<Body>(input.as_bytes());
            match (result, expected) {
                (Ok(_), None) => {}
                (Err(ApiError::BadRequest(message)), Some(expected)) => {
                    assert_eq!(message, expected, "{:.60}", input)
                }
                (other, expected) => panic!("{:.60}: got {other:?}, expected {expected:?}", input),
            }
        }
    }

    #[test]
    fn parse_json_follows_go_decoder_rules() {
        let cases: &[(&str, Option<&str>)] = &[
            ("", Some("EOF")),
            ("   ", Some("EOF")),
            (r#"{"email":"a@b.c","extra":1}"#, None),
            (r#"{"email":"a@b.c"} trailing"#, None),
            ("{not json", Some("key must be a string")),
            (
                r#"{"email":5}"#,
                Some("invalid type: integer `5`, expected a string"),
            ),
        ];
        for (input, expected_error) in cases {
            let result = parse_json::<Body>(input.as_bytes());
            match (result, expected_error) {
                (Ok(_), None) => {}
                (Err(ApiError::BadRequest(message)), Some(expected)) => assert!(
                    message.starts_with(expected),
                    "input {input:?}: message {message:?} should start with {expected:?}"
                ),
                (other, expected) => {
                    panic!("input {input:?}: got {other:?}, expected {expected:?}")
                }
            }
        }
    }
}
