//! [`build`]: auth's start-up (spec 7.1), connecting what [`AppState`] holds and serving its NATS
//! endpoints; the [`Application`] it returns binds, serves HTTP and NATS until the shutdown future
//! resolves, then drains both (`shared::startup`).

use std::sync::Arc;

use anyhow::Context;
use shared::{
    config::RunMode, health::CHECK_TIMEOUT, redis::log_first_ping, startup::connect_nats,
};

use crate::{configuration::Settings, http, nats, state::AppState, store, tokens::TokenKeys};

/// A built, not yet running auth service.
pub type Application = shared::startup::Application<AppState>;

/// Start-up order of spec 7.1: keys → database → Redis ping → NATS + micro service → router; then
/// binds. Unlike gomicro, a Redis that does not answer is only logged: auth never uses it (spec 5).
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let tokens = TokenKeys::load(
        &settings.keys.private_key_path,
        &settings.keys.public_key_path,
        settings.tokens.clone(),
    )?;
    tracing::info!("connecting to the database");
    let store = store::connect(&settings.database.url, settings.mode != RunMode::Test)
        .await
        .context("connect to the database")?;
    let redis = shared::redis::connect(&settings.redis, CHECK_TIMEOUT)?;
    log_first_ping(
        redis.ping().await,
        "auth does not need it, /health reports it",
    );
    let (nats_client, micro) = connect_nats(&settings.nats).await?;
    let state = AppState {
        settings: Arc::new(settings),
        store,
        tokens: Arc::new(tokens),
        redis,
        nats: nats_client,
    };
    nats::serve(&micro, state.clone()).await?;
    let router = http::router(state.clone());
    Application::bind(&state.settings.server, router, micro, state.clone()).await
}
