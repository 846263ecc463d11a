//! Start-up and serving both services share (spec 7.1): [`connect_nats`] connects to NATS and
//! registers the service's NATS micro service; [`Application`] binds the HTTP listener (port 0
//! allowed) and serves HTTP and NATS until the shutdown future resolves, then lets in-flight HTTP
//! requests finish while the micro service drains and deregisters.
//!
//! What each service connects before (its store, Redis) and what it builds from the connections
//! (its state, its router, its NATS endpoints) stays in its own `startup` module.

use std::future::Future;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    config::{NatsSettings, ServerSettings},
    nats::MicroService,
};

/// Connects to `settings.url` and registers the micro service `settings.service_name` /
/// `service_version` (answering `$SRV.PING|INFO|STATS`; endpoints are added by the service).
pub async fn connect_nats(
    settings: &NatsSettings,
) -> anyhow::Result<(async_nats::Client, MicroService)> {
    tracing::info!(url = %settings.url, "connecting to nats");
    let client = async_nats::connect(&settings.url)
        .await
        .with_context(|| format!("connect to NATS at {}", settings.url))?;
    let micro =
        MicroService::start(&client, &settings.service_name, &settings.service_version).await?;
    Ok((client, micro))
}

/// A built, not yet running service whose handlers share `S`.
pub struct Application<S> {
    port: u16,
    listener: TcpListener,
    router: Router,
    micro: MicroService,
    state: S,
}

impl<S> std::fmt::Debug for Application<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl<S> Application<S> {
    /// Binds `server.host:server.port` (port 0 picks a free one) for `router`, whose handlers share
    /// `state`, and `micro`, whose endpoints are already served.
    pub async fn bind(
        server: &ServerSettings,
        router: Router,
        micro: MicroService,
        state: S,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((server.host.as_str(), server.port))
            .await
            .with_context(|| format!("bind {}:{}", server.host, server.port))?;
        let port = listener
            .local_addr()
            .context("read the bound address")?
            .port();
        tracing::info!(port, "listening");
        Ok(Self {
            port,
            listener,
            router,
            micro,
            state,
        })
    }

    /// The bound HTTP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (tests reach the store through it).
    pub fn state(&self) -> &S {
        &self.state
    }

    /// Serves HTTP and NATS until `shutdown` resolves, then stops both gracefully: HTTP drains its
    /// connections while NATS drains in-flight requests and deregisters the micro service.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stop = CancellationToken::new();
        let trigger = stop.clone();
        tokio::spawn(async move {
            shutdown.await;
            trigger.cancel();
        });
        let http = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(stop.clone().cancelled_owned());
        let micro = self.micro;
        let nats = async move {
            stop.cancelled().await;
            micro.shutdown().await;
        };
        let (http, ()) = tokio::join!(http, nats);
        http.context("serve HTTP")?;
        tracing::info!("stopped");
        Ok(())
    }
}
