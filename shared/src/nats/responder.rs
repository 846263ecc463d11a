//! The answering side: [`MicroService`] registers a NATS micro service and serves typed endpoints.
//!
//! Every request runs in its own task; a request whose data is missing, null or of the wrong shape is
//! answered `{"error": "400:<reason>"}` and the endpoint keeps serving (D7: the Go original panics).
//! Replies never use the micro error headers, as gomicro's `RespondJSON` (spec 2.4). An internal
//! error is logged with its cause chain and answered `500:` with the generic text. Each request is
//! a span that continues the requester's trace from the message headers.

use std::future::Future;

use async_nats::{
    Client,
    service::{Request, Service, ServiceExt},
};
use futures::StreamExt;
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::Instrument;

use super::{NatsEnvelope, QUEUE_GROUP, group_prefix};
use crate::{
    error::ApiError,
    telemetry::{self, propagation::NatsHeaders},
};

/// A running NATS micro service and the tasks serving its endpoints.
#[derive(Debug)]
pub struct MicroService {
    name: String,
    service: Service,
    client: Client,
    tasks: TaskTracker,
    stop: CancellationToken,
}

impl MicroService {
    /// Registers the micro service `name`/`version` (SemVer) on `client`.
    pub async fn start(client: &Client, name: &str, version: &str) -> anyhow::Result<Self> {
        let service = client
            .service_builder()
            .description(format!("{name} service"))
            .queue_group(QUEUE_GROUP)
            .start(name, version)
            .await
            .map_err(|err| anyhow::anyhow!("cannot start NATS micro service {name}: {err}"))?;
        Ok(Self {
            name: name.to_owned(),
            service,
            client: client.clone(),
            tasks: TaskTracker::new(),
            stop: CancellationToken::new(),
        })
    }

    /// Serves `<name><group path>.<endpoint>` (spec 2.2) with `handler` until [`Self::shutdown`].
    pub async fn serve<Req, Resp, H, Fut>(
        &self,
        group_path: &str,
        endpoint: &str,
        handler: H,
    ) -> anyhow::Result<()>
    where
        Req: DeserializeOwned + Send + 'static,
        Resp: Serialize + Send + 'static,
        H: Fn(Req) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, ApiError>> + Send + 'static,
    {
        let prefix = group_prefix(&self.name, group_path);
        let mut requests = self
            .service
            .group(&prefix)
            .endpoint_builder()
            .name(endpoint)
            .add(endpoint)
            .await
            .map_err(|err| {
                anyhow::anyhow!("cannot add NATS endpoint {prefix}.{endpoint}: {err}")
            })?;
        let tasks = self.tasks.clone();
        let stop = self.stop.clone();
        self.tasks.spawn(async move {
            loop {
                let request = tokio::select! {
                    () = stop.cancelled() => break,
                    next = requests.next() => match next {
                        Some(request) => request,
                        None => break,
                    },
                };
                let handler = handler.clone();
                tasks.spawn(async move { answer(request, handler).await });
            }
            if let Err(err) = requests.stop().await {
                tracing::warn!(error.message = %err, "cannot unsubscribe NATS endpoint");
            }
        });
        tracing::info!(subject = %format!("{prefix}.{endpoint}"), queue_group = QUEUE_GROUP, "serving NATS endpoint");
        Ok(())
    }

    /// Stops taking requests, waits for the ones in flight, deregisters the service and flushes.
    pub async fn shutdown(self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        if let Err(err) = self.service.stop().await {
            tracing::warn!(error.message = %err, "cannot stop NATS micro service");
        }
        if let Err(err) = self.client.flush().await {
            tracing::warn!(error.message = %err, "cannot flush NATS connection");
        }
    }
}

async fn answer<Req, Resp, H, Fut>(request: Request, handler: H)
where
    Req: DeserializeOwned,
    Resp: Serialize,
    H: Fn(Req) -> Fut,
    Fut: Future<Output = Result<Resp, ApiError>>,
{
    let span = tracing::info_span!(
        "nats reply",
        otel.name = %format_args!("{} process", request.message.subject),
        otel.kind = "server",
        messaging.system = "nats",
        messaging.destination.name = %request.message.subject,
        trace_id = tracing::field::Empty,
    );
    if let Some(headers) = &request.message.headers {
        telemetry::continue_trace(&span, &NatsHeaders(headers));
    }
    answer_in(request, handler).instrument(span).await;
}

async fn answer_in<Req, Resp, H, Fut>(request: Request, handler: H)
where
    Req: DeserializeOwned,
    Resp: Serialize,
    H: Fn(Req) -> Fut,
    Fut: Future<Output = Result<Resp, ApiError>>,
{
    let reply = match decode_request::<Req>(&request.message.payload) {
        Ok(data) => match handler(data).await {
            Ok(data) => serde_json::to_vec(&NatsEnvelope::data(data)),
            Err(err) => {
                if let ApiError::Internal(cause) = &err {
                    // logged once, here at the edge: the reply carries the generic text only
                    tracing::error!(subject = %request.message.subject, error.message = %cause, error.cause_chain = ?cause, "NATS request failed");
                }
                serde_json::to_vec(&NatsEnvelope::<()>::error(err.to_nats_text()))
            }
        },
        Err(err) => serde_json::to_vec(&NatsEnvelope::<()>::error(err.to_nats_text())),
    };
    match reply {
        Ok(body) => {
            if let Err(err) = request.respond(Ok(body.into())).await {
                tracing::warn!(subject = %request.message.subject, error.message = %err, "cannot send NATS reply");
            }
        }
        Err(err) => tracing::error!(error.message = %err, "cannot encode NATS reply"),
    }
}

/// Decodes `{"data": Req}`; a missing/null `data` or a wrong shape is a 400 (D7).
fn decode_request<Req: DeserializeOwned>(payload: &[u8]) -> Result<Req, ApiError> {
    let envelope: NatsEnvelope<Req> = serde_json::from_slice(payload)
        .map_err(|err| ApiError::bad_request(format!("invalid request: {err}")))?;
    envelope
        .data
        .ok_or_else(|| ApiError::bad_request("invalid request: missing data"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{Text, UserRole};

    #[test]
    fn malformed_requests_are_bad_requests() {
        let cases: &[(&[u8], &str)] = &[
            (b"{}", "400:invalid request: missing data"),
            (br#"{"data":null}"#, "400:invalid request: missing data"),
            (b"not json", "400:invalid request: expected ident"),
            (
                br#"{"data":{"value":5}}"#,
                "400:invalid request: invalid type: integer `5`",
            ),
        ];
        for (payload, expected) in cases {
            let err = decode_request::<Text>(payload).unwrap_err();
            assert!(
                err.to_nats_text().starts_with(expected),
                "{payload:?}: {}",
                err.to_nats_text()
            );
        }
        let null_user = decode_request::<UserRole>(br#"{"data":{"user":null,"roles":[]}}"#);
        assert!(
            null_user
                .unwrap_err()
                .to_nats_text()
                .starts_with("400:invalid request: invalid type: null")
        );
    }
}
