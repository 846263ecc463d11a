//! End-to-end tests: the real `gateway` binary on free ports, in front of real HTTP upstream
//! servers (axum, in-process) and a fake auth verification endpoint that counts its calls.

mod admin;
mod api_key;
mod bad_input;
mod balancing;
mod health;
mod helpers;
mod reload;
mod routing;
