//! [`Traced`]: a [`BlogStore`] whose every call is a span (`store`, with the database system and
//! the operation), used only while the process exports traces.

use std::sync::Arc;

use async_trait::async_trait;
use shared::telemetry::store_span;
use tracing::Instrument;

use super::{BlogChange, BlogList, BlogStore, Owner, StoreResult};
use crate::domain::{Blog, Id, Page, Timestamp};

/// The store `inner` (of database `system`), each call in a span.
pub struct Traced {
    pub(super) inner: Arc<dyn BlogStore>,
    pub(super) system: &'static str,
}

#[async_trait]
impl BlogStore for Traced {
    async fn ping(&self) -> StoreResult<()> {
        self.inner
            .ping()
            .instrument(store_span(self.system, "ping"))
            .await
    }

    async fn insert(&self, blog: &Blog) -> StoreResult<()> {
        self.inner
            .insert(blog)
            .instrument(store_span(self.system, "insert"))
            .await
    }

    async fn find_by_id(&self, id: &Id) -> StoreResult<Option<Blog>> {
        self.inner
            .find_by_id(id)
            .instrument(store_span(self.system, "find_by_id"))
            .await
    }

    async fn find_by_slug(&self, slug: &str) -> StoreResult<Option<Blog>> {
        self.inner
            .find_by_slug(slug)
            .instrument(store_span(self.system, "find_by_slug"))
            .await
    }

    async fn update(
        &self,
        id: &Id,
        owner: &Owner,
        change: &BlogChange,
        updated_by: &Id,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.inner
            .update(id, owner, change, updated_by, now)
            .instrument(store_span(self.system, "update"))
            .await
    }

    async fn list(&self, list: &BlogList, page: Page) -> StoreResult<Vec<Blog>> {
        self.inner
            .list(list, page)
            .instrument(store_span(self.system, "list"))
            .await
    }

    async fn similar(&self, source: &Blog) -> StoreResult<Vec<Blog>> {
        self.inner
            .similar(source)
            .instrument(store_span(self.system, "similar"))
            .await
    }
}
