//! `auth-service`: gomicro-compatible authentication over HTTP and NATS, on SQLite or MongoDB
//! (spec `api.md` sections 0-4, 7 and D1-D14).
//!
//! # Layout
//! - [`cli`]: the subcommands serve (default), keygen, seed.
//! - [`configuration`]: [`Settings`](configuration::Settings) from the contract's variables.
//! - [`startup`]: [`build`](startup::build) connects keys, store, Redis and NATS into an
//!   [`Application`](startup::Application) (`shared::startup`) that binds, serves, shuts down gracefully.
//! - [`state`]: [`AppState`](state::AppState), shared by HTTP and NATS.
//! - [`domain`]: ids, roles, users, keystores, validated sign-up/sign-in input.
//! - [`ops`]: the use cases (sign-up, authenticate, ...), called by both [`http`] and [`nats`].
//! - [`store`]: the [`AuthStore`](store::AuthStore) trait, SQLite and MongoDB backends.
//! - [`tokens`]: RS256 JWTs; [`keygen`]: RSA key pairs.
//! - [`http`]: axum routes; [`nats`]: the NATS responders.
#![forbid(unsafe_code)]

pub mod cli;
pub mod configuration;
pub mod domain;
pub mod http;
pub mod keygen;
pub mod nats;
pub mod ops;
pub mod startup;
pub mod state;
pub mod store;
pub mod tokens;
