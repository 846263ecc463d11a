//! `blog-service`: the gomicro-compatible blog API (spec `api.md` 1.3): public reads cached in Redis,
//! author and editor routes authorised by auth-service over NATS, storage in SQLite or MongoDB.
//!
//! # Layout
//! - [`configuration`]: [`configuration::Settings`] from the contract's variables (spec 7.1).
//! - [`startup`]: [`startup::build`] connects store, Redis and NATS into a [`startup::Application`]
//!   (`shared::startup`) that binds, serves, stops.
//! - [`state`]: [`state::AppState`], shared by the handlers.
//! - [`domain`]: ids, slugs, pagination, the blog record; validation texts of the contract.
//! - [`ops`]: the use cases (public reads, author and editor actions, health) and their views.
//! - [`store`]: the [`store::BlogStore`] trait with SQLite and MongoDB backends.
//! - [`cache`]: Redis keys, TTLs and the D3 invalidation scheme.
//! - [`http`]: routes, extractors and DTOs.
//! - [`nats`]: the requests blog sends to auth.
#![forbid(unsafe_code)]

pub mod cache;
pub mod configuration;
pub mod domain;
pub mod http;
pub mod nats;
pub mod ops;
pub mod startup;
pub mod state;
pub mod store;
