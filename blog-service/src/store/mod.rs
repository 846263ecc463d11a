//! Storage behind one trait, [`BlogStore`], with two backends chosen by the scheme of `DATABASE_URL`
//! (D14): [`sqlite`] (embedded default) and [`mongo`] (gomicro's `blogs` collection, spec 3.2);
//! [`traced`] wraps either in spans while traces are exported.
//!
//! Only domain types cross the trait; ObjectIds, BSON documents and SQL rows stay in the backends.
//! Conditions of gomicro's filters (`status: true`, `author: me`) are part of each call so that the
//! check and the write are one statement.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{Blog, BlogEdit, Id, Page, Timestamp};

pub mod mongo;
pub mod sqlite;
#[cfg(test)]
mod tests;
pub mod traced;

/// How many similar blogs are returned (spec 1.3).
pub const SIMILAR_LIMIT: i64 = 6;

pub use shared::store::{StoreError, StoreResult};

/// Which blogs a list shows (spec 1.3) and in which order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlogList {
    /// Public, `updatedAt` desc then `score` desc.
    Latest,
    /// Public with this exact tag, same order.
    Tag(String),
    /// The author's active drafts (natural order).
    AuthorDrafts(Id),
    /// The author's active submitted blogs (natural order).
    AuthorSubmitted(Id),
    /// The author's active published blogs (natural order).
    AuthorPublished(Id),
    /// Every active submitted blog (natural order).
    Submitted,
    /// Every active published blog (natural order).
    Published,
}

/// A write on one active blog (`status: true`).
#[derive(Debug, Clone, PartialEq)]
pub enum BlogChange {
    /// `$set` the provided fields.
    Edit(BlogEdit),
    /// Soft delete: `status = false`.
    Delete,
    /// `submitted = value` (submit / withdraw).
    Submit(bool),
    /// Publish: not drafted, not submitted, published, `text` and `publishedAt` set. Matches only a
    /// blog that is submitted and not yet published, in the same statement as the write, so an
    /// editor who read the blog before a withdrawal (or another editor's publish) changes nothing.
    Publish {
        /// The new public text (the draft text read before).
        text: String,
        /// The existing `publishedAt` or now.
        published_at: Timestamp,
    },
    /// Unpublish: drafted, not submitted, not published (text and `publishedAt` kept). Matches only
    /// a published blog, in the same statement as the write.
    Unpublish,
}

/// Who may write: everyone (editor) or only the blog's author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// Any author.
    Any,
    /// Only blogs whose `author` is this id.
    Author(Id),
}

/// Everything blog needs from its database.
#[async_trait]
pub trait BlogStore: Send + Sync {
    /// Checks the database answers (health, D5).
    async fn ping(&self) -> StoreResult<()>;

    /// Inserts a new blog; `Conflict("slug")` when the slug is taken (even by a deleted blog).
    async fn insert(&self, blog: &Blog) -> StoreResult<()>;

    /// The blog with `id`, in any state (callers apply the endpoint's conditions).
    async fn find_by_id(&self, id: &Id) -> StoreResult<Option<Blog>>;

    /// The blog with `slug`, in any state.
    async fn find_by_slug(&self, slug: &str) -> StoreResult<Option<Blog>>;

    /// Applies `change` to the active blog `id` owned by `owner`; `false` when none matched (no such
    /// blog, or not in the state the change needs, see [`BlogChange`]).
    /// `Conflict("slug")` when an edit's slug is taken.
    async fn update(
        &self,
        id: &Id,
        owner: &Owner,
        change: &BlogChange,
        updated_by: &Id,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// One page of a list.
    async fn list(&self, list: &BlogList, page: Page) -> StoreResult<Vec<Blog>>;

    /// Up to [`SIMILAR_LIMIT`] public blogs other than `source` whose title/description match the
    /// words of `source.title` (title weight 3, description 1), best match first, then `updatedAt`
    /// desc, `score` desc.
    async fn similar(&self, source: &Blog) -> StoreResult<Vec<Blog>>;
}

/// Opens the store named by `url`: `sqlite:` or `mongodb://` / `mongodb+srv://`.
/// `create_indexes` is false in test mode (spec 3: no index creation when `GO_MODE=test`). While the
/// process exports traces, every call of the store is a span ([`traced`]).
pub async fn connect(url: &str, create_indexes: bool) -> anyhow::Result<Arc<dyn BlogStore>> {
    let (store, system): (Arc<dyn BlogStore>, _) =
        if url.starts_with("mongodb://") || url.starts_with("mongodb+srv://") {
            (
                Arc::new(mongo::MongoStore::connect(url, create_indexes).await?),
                "mongodb",
            )
        } else {
            (Arc::new(sqlite::SqliteStore::connect(url).await?), "sqlite")
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
