//! The gateway's own answers (404, 401, 413, 429, 502, 503, 504, ...: Kong's bodies with the
//! request id and the route's plugin headers) and the keep-alive promise that goes with them.
//!
//! An answer says `Connection: keep-alive` only when the next request on the connection can be
//! read: the request's body was read, or is small enough to read and drop first
//! ([`DRAINABLE_BODY`]). Otherwise it says `Connection: close` (the server codec does so for any
//! answer written before the request body ended), and the connection lingers: the rest of the
//! body is read and dropped for a moment, so that closing a socket with unread bytes does not
//! reset the connection before the client has read the answer (nginx's `lingering_close`).

use std::time::{Duration, Instant};

use http::{HeaderValue, header};
use pingora::{Result, http::ResponseHeader, protocols::http::ServerSession};

use crate::{
    forwarding,
    plugins::Effects,
    responses::LocalResponse,
    responses::{GatewayError, JSON, REQUEST_ID_HEADER, RequestId},
};

/// Largest unread request body drained before an answer of the gateway's own, to keep the
/// connection: a bigger one is not waited for.
pub const DRAINABLE_BODY: u64 = 64 * 1024;
/// How long draining that body may take.
const DRAIN_TIME: Duration = Duration::from_secs(2);
/// How long a closing connection keeps reading (and dropping) the client's body.
const LINGER_TIME: Duration = Duration::from_secs(2);
/// How much it reads at most meanwhile.
const LINGER_BYTES: usize = 1024 * 1024;

/// What the gateway needs to answer a request itself.
pub struct Context<'a> {
    /// The request id.
    pub request_id: &'a RequestId,
    /// When the request arrived (`X-Kong-Response-Latency`).
    pub started: Instant,
    /// The route's plugin effects (their response headers go on the answer).
    pub effects: &'a Effects,
    /// The service is shutting down: the connection ends after this answer.
    pub closing: bool,
}

/// Answers `response`: reads and drops a small unread request body first, says whether the
/// connection stays, and lingers on a closing one.
pub async fn answer(
    session: &mut ServerSession,
    response: &LocalResponse,
    context: &Context<'_>,
) -> Result<()> {
    if context.closing {
        session.set_keepalive(None);
    } else if !session.is_body_done() && drainable(session) {
        let drained = tokio::time::timeout(DRAIN_TIME, session.drain_request_body()).await;
        if !matches!(drained, Ok(Ok(()))) {
            session.set_keepalive(None);
        }
    }
    write(session, response, context).await?;
    if !session.is_body_done() {
        linger(session).await;
    }
    Ok(())
}

/// Whether the request's unread body is small enough to drain: a `Content-Length` up to
/// [`DRAINABLE_BODY`] (a chunked body's size is unknown), from a client that is not waiting for
/// a `100 Continue` before it sends the body.
fn drainable(session: &ServerSession) -> bool {
    let headers = &session.req_header().headers;
    !headers.contains_key(header::TRANSFER_ENCODING)
        && !headers.contains_key(header::EXPECT)
        && headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok())
            .is_some_and(|length| length <= DRAINABLE_BODY)
}

/// Writes `response` with the gateway's headers (request id, latency, `Server`), the plugins'
/// response headers, then the response's own.
async fn write(
    session: &mut ServerSession,
    response: &LocalResponse,
    context: &Context<'_>,
) -> Result<()> {
    let mut header = ResponseHeader::build_no_case(response.status, None)?;
    forwarding::edit_response(&mut header, 5 + response.headers.len(), |headers| {
        if let Some(content_type) = response.content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        headers.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from(response.body.len()),
        );
        headers.insert(REQUEST_ID_HEADER, context.request_id.header_value());
        headers.insert(
            forwarding::X_KONG_RESPONSE_LATENCY,
            forwarding::number_value(super::millis(context.started.elapsed())),
        );
        headers.insert(
            header::SERVER,
            HeaderValue::from_static(forwarding::SERVER_VALUE),
        );
        // The route's plugins' headers (CORS, rate-limit counters, ...), then this answer's own.
        context.effects.apply_to_response(headers);
        for (name, value) in &response.headers {
            headers.insert(name.clone(), value.clone());
        }
    })?;
    session.write_response_header(Box::new(header)).await?;
    let head = session.req_header().method == http::Method::HEAD;
    if !head && !response.body.is_empty() {
        session
            .write_response_body(response.body.clone(), true)
            .await?;
    }
    Ok(())
}

/// Answers a request head the server codec could not parse: 400 with Kong's body, and the
/// connection closes (where a next request would begin is unknown). The session has no request
/// head, so this goes through the codec's own error path.
pub async fn malformed_head(session: &mut ServerSession) {
    let response = GatewayError::BadRequest.response(&RequestId::generate());
    let header = ResponseHeader::build(response.status, None)
        .and_then(|mut header| {
            header.insert_header(header::CONTENT_TYPE, JSON)?;
            header.insert_header(header::CONTENT_LENGTH, response.body.len())?;
            Ok(header)
        })
        .unwrap_or_else(|_| ServerSession::generate_error(400));
    // It also says `Connection: close`.
    let _ = session.write_error_response(header, response.body).await;
}

/// Reads and drops what the client still sends, for [`LINGER_TIME`] or [`LINGER_BYTES`] at most,
/// before the connection is closed.
async fn linger(session: &mut ServerSession) {
    let drain = async {
        let mut read = 0;
        while let Ok(Some(chunk)) = session.read_request_body().await {
            read += chunk.len();
            if read > LINGER_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}
