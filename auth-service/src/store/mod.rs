//! Storage behind one trait, [`AuthStore`], with two backends chosen by the scheme of `DATABASE_URL`
//! (D14): [`sqlite`] (embedded default) and [`mongo`] (gomicro's collections, spec 3.1);
//! [`traced`] wraps either in spans while traces are exported.
//!
//! Only domain types cross the trait; ObjectIds, BSON documents and SQL rows stay in the backends.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{ApiKey, Id, Keystore, NewUser, Role, User};

pub mod mongo;
pub mod sqlite;
#[cfg(test)]
mod tests;
pub mod traced;

pub use shared::store::{StoreError, StoreResult};

/// Everything auth needs from its database. Every look-up of users, roles by code, keystores and API
/// keys only sees documents with `status: true` (spec 1.1, 4.3); roles by id ignore `status` (4.4).
#[async_trait]
pub trait AuthStore: Send + Sync {
    /// Checks the database answers (health, D5).
    async fn ping(&self) -> StoreResult<()>;

    /// The active API key `key`.
    async fn find_api_key(&self, key: &str) -> StoreResult<Option<ApiKey>>;
    /// The active role with `code`.
    async fn find_role_by_code(&self, code: &str) -> StoreResult<Option<Role>>;
    /// The roles with these ids, whatever their status, in the order of `ids` (missing ones skipped).
    async fn find_roles(&self, ids: &[Id]) -> StoreResult<Vec<Role>>;
    /// The active user with `id`.
    async fn find_user_by_id(&self, id: Id) -> StoreResult<Option<User>>;
    /// The active user with `email`.
    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    /// Inserts an active, unverified user; [`StoreError::Conflict`]`("email")` when the email is taken
    /// by any user, active or not (D13: the database enforces it).
    async fn insert_user(&self, user: NewUser) -> StoreResult<User>;

    /// Inserts an active keystore.
    async fn insert_keystore(
        &self,
        client: Id,
        primary_key: &str,
        secondary_key: &str,
    ) -> StoreResult<Keystore>;
    /// The active keystore `{client, pKey}` (authentication).
    async fn find_keystore(&self, client: Id, primary_key: &str) -> StoreResult<Option<Keystore>>;
    /// The active keystore `{client, pKey, sKey}` (refresh).
    async fn find_keystore_pair(
        &self,
        client: Id,
        primary_key: &str,
        secondary_key: &str,
    ) -> StoreResult<Option<Keystore>>;
    /// Deletes the keystore `id`; `false` when it was already gone.
    async fn delete_keystore(&self, id: Id) -> StoreResult<bool>;

    /// Seeding: the role `code` (active), inserted when missing.
    async fn ensure_role(&self, code: &str) -> StoreResult<Role>;
    /// Seeding: the active API key `key`, inserted when missing (version 1, `GENERAL`).
    async fn ensure_api_key(&self, key: &str) -> StoreResult<ApiKey>;
    /// Seeding: the user with `user.email`, inserted when missing; an existing user is left as is.
    async fn ensure_user(&self, user: NewUser) -> StoreResult<User>;
}

/// Opens the backend `database_url` names: `sqlite:` or `mongodb://` / `mongodb+srv://`. While the
/// process exports traces, every call of the store is a span ([`traced`]).
pub async fn connect(
    database_url: &str,
    create_indexes: bool,
) -> anyhow::Result<Arc<dyn AuthStore>> {
    let (store, system): (Arc<dyn AuthStore>, _) = if database_url.starts_with("sqlite:") {
        (
            Arc::new(sqlite::SqliteStore::connect(database_url).await?),
            "sqlite",
        )
    } else if database_url.starts_with("mongodb://") || database_url.starts_with("mongodb+srv://") {
        (
            Arc::new(mongo::MongoStore::connect(database_url, create_indexes).await?),
            "mongodb",
        )
    } else {
        anyhow::bail!("DATABASE_URL must start with sqlite: or mongodb://")
    };
    Ok(if shared::telemetry::exporting() {
        Arc::new(traced::Traced {
            inner: store,
            system,
        })
    } else {
        store
    })
}
