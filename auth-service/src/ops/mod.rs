//! Use cases, shared by the HTTP handlers and the NATS responders (never duplicated in either).
//!
//! Each function takes the [`AppState`](crate::state::AppState) (or the store) and returns domain
//! types or an [`OpsError`] whose text is the contract's message.

mod access;
mod authenticate;
mod error;
mod health;
mod password;
mod profile;
mod seed;

pub use access::{SessionTokens, refresh_tokens, sign_in, sign_out, sign_up, verify_api_key};
pub use authenticate::{Authenticated, authenticate, authorize};
pub use error::OpsError;
pub use profile::{private_profile, public_profile};
pub use seed::{
    ADMIN_EMAIL, AdminPassword, DEFAULT_API_KEY, GENERATED_PASSWORD_LEN, SeedOutcome, SeedPlan,
    seed,
};
