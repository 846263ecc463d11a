//! [`Application`]: connects everything, binds the listener (port 0 allowed) and serves HTTP until the
//! shutdown future resolves; then in-flight requests finish and the NATS micro service deregisters.

use std::{future::Future, sync::Arc};

use anyhow::Context;
use axum::Router;
use shared::{
    config::RunMode,
    nats::{MicroService, NatsClient},
};
use tokio::net::TcpListener;

use crate::{
    cache::BlogCache, configuration::Settings, http, nats::AuthClient, state::AppState, store,
};

/// A built, not yet running service.
pub struct Application {
    port: u16,
    listener: TcpListener,
    router: Router,
    micro: MicroService,
    state: AppState,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Start-up order of spec 7.1: database → Redis ping → NATS + micro service → router; then binds.
    /// Unlike gomicro, a Redis that does not answer is no reason to stop: blog starts with the cache
    /// skipped and fills it once Redis answers.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        tracing::info!("connecting to the database");
        let store = store::connect(&settings.database_url, settings.mode != RunMode::Test)
            .await
            .context("connect to the database")?;
        tracing::info!("connecting to redis");
        let cache = BlogCache::new(
            redis::Client::open(settings.redis.url()).context("parse the redis address")?,
        );
        match cache.ping().await {
            Ok(()) => tracing::info!("connected to redis"),
            Err(reason) => tracing::warn!(
                error.message = %reason,
                "redis does not answer: starting without the cache, reads go to the database"
            ),
        }
        tracing::info!(url = %settings.nats.url, "connecting to nats");
        let nats_client = async_nats::connect(&settings.nats.url)
            .await
            .with_context(|| format!("connect to NATS at {}", settings.nats.url))?;
        let micro = MicroService::start(
            &nats_client,
            &settings.nats.service_name,
            &settings.nats.service_version,
        )
        .await?;
        let state = AppState {
            auth: AuthClient::new(NatsClient::new(nats_client.clone(), settings.nats.timeout)),
            settings: Arc::new(settings),
            store,
            cache,
            nats: nats_client,
        };
        let (listener, port) =
            shared::shutdown::bind_http(&state.settings.server.host, state.settings.server.port)
                .await?;
        Ok(Self {
            port,
            listener,
            router: http::router(state.clone()),
            micro,
            state,
        })
    }

    /// The bound HTTP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (tests reach the store through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops gracefully.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        shared::shutdown::serve_until_stopped(self.listener, self.router, self.micro, shutdown)
            .await
    }
}
