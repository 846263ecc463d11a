//! [`Traced`]: an [`AuthStore`] whose every call is a span (`store`, with the database system and
//! the operation), used only while the process exports traces.

use std::sync::Arc;

use async_trait::async_trait;
use shared::telemetry::store_span;
use tracing::Instrument;

use super::{AuthStore, StoreResult};
use crate::domain::{ApiKey, Id, Keystore, NewUser, Role, User};

/// The store `inner` (of database `system`), each call in a span.
pub struct Traced {
    pub(super) inner: Arc<dyn AuthStore>,
    pub(super) system: &'static str,
}

#[async_trait]
impl AuthStore for Traced {
    async fn ping(&self) -> StoreResult<()> {
        self.inner
            .ping()
            .instrument(store_span(self.system, "ping"))
            .await
    }

    async fn find_api_key(&self, key: &str) -> StoreResult<Option<ApiKey>> {
        self.inner
            .find_api_key(key)
            .instrument(store_span(self.system, "find_api_key"))
            .await
    }

    async fn find_role_by_code(&self, code: &str) -> StoreResult<Option<Role>> {
        self.inner
            .find_role_by_code(code)
            .instrument(store_span(self.system, "find_role_by_code"))
            .await
    }

    async fn find_roles(&self, ids: &[Id]) -> StoreResult<Vec<Role>> {
        self.inner
            .find_roles(ids)
            .instrument(store_span(self.system, "find_roles"))
            .await
    }

    async fn find_user_by_id(&self, id: Id) -> StoreResult<Option<User>> {
        self.inner
            .find_user_by_id(id)
            .instrument(store_span(self.system, "find_user_by_id"))
            .await
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        self.inner
            .find_user_by_email(email)
            .instrument(store_span(self.system, "find_user_by_email"))
            .await
    }

    async fn insert_user(&self, user: NewUser) -> StoreResult<User> {
        self.inner
            .insert_user(user)
            .instrument(store_span(self.system, "insert_user"))
            .await
    }

    async fn insert_keystore(
        &self,
        client: Id,
        primary_key: &str,
        secondary_key: &str,
    ) -> StoreResult<Keystore> {
        self.inner
            .insert_keystore(client, primary_key, secondary_key)
            .instrument(store_span(self.system, "insert_keystore"))
            .await
    }

    async fn find_keystore(&self, client: Id, primary_key: &str) -> StoreResult<Option<Keystore>> {
        self.inner
            .find_keystore(client, primary_key)
            .instrument(store_span(self.system, "find_keystore"))
            .await
    }

    async fn find_keystore_pair(
        &self,
        client: Id,
        primary_key: &str,
        secondary_key: &str,
    ) -> StoreResult<Option<Keystore>> {
        self.inner
            .find_keystore_pair(client, primary_key, secondary_key)
            .instrument(store_span(self.system, "find_keystore_pair"))
            .await
    }

    async fn delete_keystore(&self, id: Id) -> StoreResult<bool> {
        self.inner
            .delete_keystore(id)
            .instrument(store_span(self.system, "delete_keystore"))
            .await
    }

    async fn ensure_role(&self, code: &str) -> StoreResult<Role> {
        self.inner
            .ensure_role(code)
            .instrument(store_span(self.system, "ensure_role"))
            .await
    }

    async fn ensure_api_key(&self, key: &str) -> StoreResult<ApiKey> {
        self.inner
            .ensure_api_key(key)
            .instrument(store_span(self.system, "ensure_api_key"))
            .await
    }

    async fn ensure_user(&self, user: NewUser) -> StoreResult<User> {
        self.inner
            .ensure_user(user)
            .instrument(store_span(self.system, "ensure_user"))
            .await
    }
}
