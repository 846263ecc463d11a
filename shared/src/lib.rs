//! Wire contracts and plumbing that `auth-service` and `blog-service` truly share.
//!
//! Nothing here knows about one service's domain, its storage or its routes (spec `api.md` sets the
//! wire shapes; `style.md` says what belongs here).
//!
//! # Layout
//! - [`envelope`]: the HTTP response envelope `{code, status, message, data?}` (api.md 0.1).
//! - [`error`]: [`ApiError`], the error every handler and NATS responder returns; renders itself.
//! - [`http`]: axum plumbing every service router gets: enveloped JSON extractor, 404 fallback,
//!   panic → 500, body limit, request ids, hiding 500 details in release mode.
//! - [`nats`]: NATS request-reply: wire envelope, subjects, typed client, micro-service responder.
//! - [`id`]: [`Id`](id::Id), the ObjectId-shaped id of every document of both services.
//! - [`messages`]: the message types both services exchange over NATS (`User`, `UserRole`, `Text`).
//! - [`health`]: the `/health`, `/health/ready` and `/health/live` reports, deadline and rendering.
//! - [`config`]: settings sources (process env plus `.env`, or a map in tests), error collection, and
//!   the settings both services read alike (`SERVER_*`, `REDIS_*`, `NATS_*`).
//! - [`redis`]: the lazily made, bounded Redis connection both services use, and its start-up log.
//! - [`startup`]: NATS connect and micro service start; [`Application`](startup::Application), which
//!   binds the HTTP listener and serves HTTP + NATS until stopped.
//! - [`shutdown`]: the shutdown signal.
//! - [`store`]: [`StoreError`](store::StoreError), how a store call of either service fails.
//! - [`telemetry`]: the tracing subscriber set-up.
#![forbid(unsafe_code)]

pub mod config;
pub mod envelope;
pub mod error;
pub mod health;
pub mod http;
pub mod id;
pub mod messages;
pub mod nats;
pub mod redis;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod telemetry;

pub use error::ApiError;
