//! bcrypt on the blocking pool (hashing costs milliseconds of CPU; it must not stall the runtime).

use anyhow::Context;

use crate::domain::BCRYPT_MAX_PASSWORD_BYTES;

/// Hashes `password` with `cost` (D8). Callers have checked the 72-byte limit.
pub async fn hash(password: String, cost: u32) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || bcrypt::non_truncating_hash(password, cost))
        .await
        .context("bcrypt task")?
        .context("bcrypt hash")
}

/// Whether `password` matches `hash` (any cost, `$2a$`/`$2b$`/`$2y$`). A password over 72 bytes never
/// matches (Go's bcrypt refuses it; it could not have been set).
pub async fn verify(password: String, hash: String) -> anyhow::Result<bool> {
    if password.len() > BCRYPT_MAX_PASSWORD_BYTES {
        return Ok(false);
    }
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
        .await
        .context("bcrypt task")?
        .or(Ok(false))
}
