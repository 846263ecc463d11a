//! The requesting side: [`NatsClient`] sends `{"data": ...}` and decodes `{"data"|"error"}`.

use std::time::Duration;

use async_nats::{Client, RequestErrorKind};
use serde::{Serialize, de::DeserializeOwned};
use tracing::Instrument;

use super::NatsEnvelope;
use crate::telemetry;

/// Why a request got no usable reply. `Display` gives gomicro's texts (spec 2.4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NatsRequestError {
    /// No reply within the timeout.
    #[error("nats: timeout")]
    Timeout,
    /// The connection is down (the server stopped, the client reconnects in the background), so the
    /// request was not sent: answered at once instead of after the timeout. Its text is the one a
    /// gomicro client gives in that case (nats.go buffers the request while it reconnects and times
    /// out, spec 2.4), so clients see the contract's text.
    #[error("nats: timeout")]
    NotConnected,
    /// Nobody subscribes to the subject.
    #[error("nats: no responders available for request")]
    NoResponders,
    /// The responder answered with an error text, e.g. `401:permission denied: ...`.
    #[error("{0}")]
    Remote(String),
    /// The connection failed or the request could not be sent.
    #[error("nats: {0}")]
    Transport(String),
    /// The reply was not the expected JSON.
    #[error("{0}")]
    InvalidReply(String),
}

impl NatsRequestError {
    /// Whether the text may be shown to a client: the contract's transport texts (`nats: timeout`,
    /// `nats: no responders available for request`) and a responder's 4xx answer. Anything else (a
    /// responder's 5xx or unprefixed text, a broken connection, an undecodable reply) may carry
    /// internal detail and is for the log only.
    pub fn is_for_clients(&self) -> bool {
        match self {
            Self::Timeout | Self::NotConnected | Self::NoResponders => true,
            Self::Remote(_) => self
                .remote_status()
                .is_some_and(|status| (400..500).contains(&status)),
            Self::Transport(_) | Self::InvalidReply(_) => false,
        }
    }

    /// For [`NatsRequestError::Remote`] texts of the form `"<status>:<message>"`, the status.
    pub fn remote_status(&self) -> Option<u16> {
        match self {
            Self::Remote(text) => text.split_once(':').and_then(|(code, _)| code.parse().ok()),
            _ => None,
        }
    }
}

/// A NATS connection that sends typed requests with one timeout (`NATS_TIMEOUT_SEC`, D11).
#[derive(Debug, Clone)]
pub struct NatsClient {
    client: Client,
    timeout: Duration,
}

impl NatsClient {
    /// Wraps `client`; every request waits at most `timeout` for its reply.
    pub fn new(client: Client, timeout: Duration) -> Self {
        Self { client, timeout }
    }

    /// The underlying connection.
    pub fn connection(&self) -> &Client {
        &self.client
    }

    /// Sends `{"data": data}` to `subject` and returns the reply's `data`. While the connection is
    /// down it fails at once with [`NatsRequestError::NotConnected`]: a request queued until the
    /// reconnect would hold its caller for the whole timeout, and under load the client's command
    /// queue fills and sending blocks with no bound at all.
    pub async fn request<Req, Resp>(
        &self,
        subject: &str,
        data: &Req,
    ) -> Result<Resp, NatsRequestError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        if self.client.connection_state() != async_nats::connection::State::Connected {
            return Err(NatsRequestError::NotConnected);
        }
        let payload = serde_json::to_vec(&NatsEnvelope::data(data))
            .map_err(|err| NatsRequestError::InvalidReply(err.to_string()))?;
        let mut request = async_nats::Request::new()
            .payload(payload.into())
            .timeout(Some(self.timeout));
        // exporting spans: the request is a client span whose context goes in the headers
        let span = if telemetry::exporting() {
            tracing::info_span!(
                "nats request",
                otel.name = %format_args!("{subject} request"),
                otel.kind = "client",
                messaging.system = "nats",
                messaging.destination.name = %subject,
            )
        } else {
            tracing::Span::none()
        };
        if let Some(headers) = telemetry::nats_headers(&span) {
            request = request.headers(headers);
        }
        let message = self
            .client
            .send_request(subject.to_owned(), request)
            .instrument(span)
            .await
            .map_err(|err| match err.kind() {
                RequestErrorKind::TimedOut => NatsRequestError::Timeout,
                RequestErrorKind::NoResponders => NatsRequestError::NoResponders,
                _ => NatsRequestError::Transport(err.to_string()),
            })?;
        let reply: NatsEnvelope<Resp> = serde_json::from_slice(&message.payload)
            .map_err(|err| NatsRequestError::InvalidReply(err.to_string()))?;
        match reply {
            NatsEnvelope {
                error: Some(error), ..
            } => Err(NatsRequestError::Remote(error)),
            NatsEnvelope {
                data: Some(data), ..
            } => Ok(data),
            NatsEnvelope { data: None, .. } => Err(NatsRequestError::InvalidReply(
                "reply carries neither data nor error".to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_status_reads_the_prefix() {
        let err = NatsRequestError::Remote("403:permission denied: role missing".into());
        assert_eq!(err.remote_status(), Some(403));
        assert_eq!(err.to_string(), "403:permission denied: role missing");
        assert_eq!(
            NatsRequestError::Remote("mongo: no documents in result".into()).remote_status(),
            None
        );
        assert_eq!(NatsRequestError::Timeout.to_string(), "nats: timeout");
        assert_eq!(
            NatsRequestError::NotConnected.to_string(),
            "nats: timeout",
            "a client sees the text gomicro gives while NATS is down"
        );
    }

    #[test]
    fn only_contract_texts_and_4xx_answers_are_for_clients() {
        let cases = [
            (NatsRequestError::Timeout, true),
            (NatsRequestError::NotConnected, true),
            (NatsRequestError::NoResponders, true),
            (
                NatsRequestError::Remote("401:permission denied: x".into()),
                true,
            ),
            (
                NatsRequestError::Remote("500:no such table: users".into()),
                false,
            ),
            (
                NatsRequestError::Remote("mongo: no documents in result".into()),
                false,
            ),
            (
                NatsRequestError::Transport("connection to 10.0.0.7 lost".into()),
                false,
            ),
            (
                NatsRequestError::InvalidReply("expected value".into()),
                false,
            ),
        ];
        for (err, expected) in cases {
            assert_eq!(err.is_for_clients(), expected, "{err:?}");
        }
    }
}
