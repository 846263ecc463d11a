//! Integration tests of auth-service: a real listener, real NATS and Redis, SQLite in a temp file.
//!
//! `replicas` runs the real binary twice on one SQLite file.

mod access;
mod bad_input;
mod health;
mod helpers;
mod middleware;
mod nats;
mod profile;
mod refresh;
mod replicas;
mod seed;
