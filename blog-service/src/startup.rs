//! [`build`]: blog's start-up (spec 7.1), connecting what [`AppState`] holds; the [`Application`]
//! it returns binds, serves HTTP until the shutdown future resolves, then lets in-flight requests
//! finish while the NATS micro service deregisters (`shared::startup`).

use std::sync::Arc;

use anyhow::Context;
use shared::{config::RunMode, nats::NatsClient, redis::log_first_ping, startup::connect_nats};

use crate::{
    cache::{BlogCache, CACHE_OP_TIMEOUT},
    configuration::Settings,
    http,
    nats::AuthClient,
    state::AppState,
    store,
};

/// A built, not yet running blog service.
pub type Application = shared::startup::Application<AppState>;

/// Start-up order of spec 7.1: database → Redis ping → NATS + micro service → router; then binds.
/// Unlike gomicro, a Redis that does not answer is no reason to stop: blog starts with the cache
/// skipped and fills it once Redis answers.
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    tracing::info!("connecting to the database");
    let store = store::connect(&settings.database_url, settings.mode != RunMode::Test)
        .await
        .context("connect to the database")?;
    let cache = BlogCache::new(shared::redis::connect(&settings.redis, CACHE_OP_TIMEOUT)?);
    log_first_ping(
        cache.ping().await,
        "starting without the cache, reads go to the database",
    );
    let (nats_client, micro) = connect_nats(&settings.nats).await?;
    let state = AppState {
        auth: AuthClient::new(NatsClient::new(nats_client.clone(), settings.nats.timeout)),
        settings: Arc::new(settings),
        store,
        cache,
        nats: nats_client,
    };
    let router = http::router(state.clone());
    Application::bind(&state.settings.server, router, micro, state.clone()).await
}
