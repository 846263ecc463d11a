//! `auth-service`: not built yet; the foundation gives it the shared envelope, NATS layer and config.
//!
//! # Layout
//! Follows `shared/style.md` (configuration, startup, domain, ops, store, http, nats) as it lands.
#![forbid(unsafe_code)]
