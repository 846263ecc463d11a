//! The MongoDB backend: gomicro's `blogs` collection, fields and indexes (spec 3.2), so the service
//! runs on an existing gomicro blog database unchanged.
//!
//! Document structs are private to this file; they convert to and from the domain types.

use anyhow::Context;
use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::{
    Client, Collection, Database, IndexModel,
    bson::{DateTime, Document, doc, oid::ObjectId},
    error::{ErrorKind, WriteFailure},
    options::{FindOptions, IndexOptions},
};
use serde::{Deserialize, Serialize};

use super::{BlogChange, BlogList, BlogStore, Owner, SIMILAR_LIMIT, StoreError, StoreResult};
use crate::domain::{Blog, Id, Page, Timestamp};

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;
/// The collection (spec 3.2).
const COLLECTION: &str = "blogs";

/// The MongoDB store.
#[derive(Debug, Clone)]
pub struct MongoStore {
    db: Database,
}

#[derive(Debug, Serialize, Deserialize)]
struct BlogDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    title: String,
    description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(rename = "draftText", default)]
    draft_text: String,
    #[serde(default)]
    tags: Vec<String>,
    author: ObjectId,
    #[serde(rename = "imgUrl", default, skip_serializing_if = "Option::is_none")]
    img_url: Option<String>,
    slug: String,
    #[serde(default)]
    score: f64,
    #[serde(default)]
    submitted: bool,
    #[serde(default)]
    drafted: bool,
    #[serde(default)]
    published: bool,
    #[serde(default)]
    status: bool,
    #[serde(
        rename = "publishedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    published_at: Option<DateTime>,
    #[serde(rename = "createdBy", default, skip_serializing_if = "Option::is_none")]
    created_by: Option<ObjectId>,
    #[serde(rename = "updatedBy", default, skip_serializing_if = "Option::is_none")]
    updated_by: Option<ObjectId>,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
}

fn oid(id: &Id) -> StoreResult<ObjectId> {
    ObjectId::parse_str(id.as_str())
        .map_err(|err| StoreError::Backend(anyhow::anyhow!("bad id {id}: {err}")))
}

fn id_of(oid: &ObjectId) -> StoreResult<Id> {
    Id::parse(&oid.to_hex()).map_err(|err| StoreError::Backend(anyhow::anyhow!("{err}")))
}

fn date(at: Timestamp) -> DateTime {
    DateTime::from_millis(at.millis())
}

impl BlogDoc {
    fn from_blog(blog: &Blog) -> StoreResult<Self> {
        Ok(Self {
            id: oid(&blog.id)?,
            title: blog.title.clone(),
            description: blog.description.clone(),
            text: blog.text.clone(),
            draft_text: blog.draft_text.clone(),
            tags: blog.tags.clone(),
            author: oid(&blog.author)?,
            img_url: blog.img_url.clone(),
            slug: blog.slug.clone(),
            score: blog.score,
            submitted: blog.submitted,
            drafted: blog.drafted,
            published: blog.published,
            status: blog.status,
            published_at: blog.published_at.map(date),
            created_by: Some(oid(&blog.created_by)?),
            updated_by: Some(oid(&blog.updated_by)?),
            created_at: date(blog.created_at),
            updated_at: date(blog.updated_at),
        })
    }

    fn into_blog(self) -> StoreResult<Blog> {
        let author = id_of(&self.author)?;
        Ok(Blog {
            id: id_of(&self.id)?,
            title: self.title,
            description: self.description,
            text: self.text,
            draft_text: self.draft_text,
            tags: self.tags,
            img_url: self.img_url,
            slug: self.slug,
            score: self.score,
            submitted: self.submitted,
            drafted: self.drafted,
            published: self.published,
            status: self.status,
            published_at: self.published_at.map(|d| Timestamp(d.timestamp_millis())),
            created_by: self
                .created_by
                .as_ref()
                .map(id_of)
                .transpose()?
                .unwrap_or(author),
            updated_by: self
                .updated_by
                .as_ref()
                .map(id_of)
                .transpose()?
                .unwrap_or(author),
            author,
            created_at: Timestamp(self.created_at.timestamp_millis()),
            updated_at: Timestamp(self.updated_at.timestamp_millis()),
        })
    }
}

fn backend(err: mongodb::error::Error) -> StoreError {
    if let ErrorKind::Write(WriteFailure::WriteError(write)) = err.kind.as_ref()
        && write.code == DUPLICATE_KEY
    {
        return StoreError::Conflict("slug");
    }
    StoreError::Backend(anyhow::Error::new(err))
}

impl MongoStore {
    /// Connects to `url` (its path names the database), pings, and creates gomicro's indexes
    /// when `create_indexes` (spec 3: skipped in test mode).
    pub async fn connect(url: &str, create_indexes: bool) -> anyhow::Result<Self> {
        let client = Client::with_uri_str(url)
            .await
            .context("parse the MongoDB URL")?;
        let db = client
            .default_database()
            .context("DATABASE_URL must name the database, e.g. mongodb://host/blog-dev-db")?;
        db.run_command(doc! {"ping": 1})
            .await
            .context("ping MongoDB")?;
        let store = Self { db };
        if create_indexes {
            store
                .create_indexes()
                .await
                .context("create blog indexes")?;
        }
        Ok(store)
    }

    fn blogs(&self) -> Collection<BlogDoc> {
        self.db.collection(COLLECTION)
    }

    /// The indexes of spec 3.2 (idempotent).
    pub async fn create_indexes(&self) -> anyhow::Result<()> {
        let plain = |keys: Document| IndexModel::builder().keys(keys).build();
        let indexes = vec![
            IndexModel::builder()
                .keys(doc! {"slug": 1})
                .options(IndexOptions::builder().unique(true).build())
                .build(),
            IndexModel::builder()
                .keys(doc! {"title": "text", "description": "text"})
                .options(
                    IndexOptions::builder()
                        .weights(doc! {"title": 3, "description": 1})
                        .build(),
                )
                .build(),
            plain(doc! {"_id": 1, "status": 1}),
            plain(doc! {"published": 1, "status": 1}),
            plain(doc! {"_id": 1, "published": 1, "status": 1}),
            plain(doc! {"slug": 1, "published": 1, "status": 1}),
            plain(doc! {"tags": 1, "published": 1, "status": 1}),
        ];
        tracing::info!(collection = COLLECTION, "database indexing");
        self.blogs().create_indexes(indexes).await?;
        Ok(())
    }

    async fn find_many(&self, filter: Document, options: FindOptions) -> StoreResult<Vec<Blog>> {
        let docs: Vec<BlogDoc> = self
            .blogs()
            .find(filter)
            .with_options(options)
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        docs.into_iter().map(BlogDoc::into_blog).collect()
    }
}

#[async_trait]
impl BlogStore for MongoStore {
    async fn ping(&self) -> StoreResult<()> {
        self.db
            .run_command(doc! {"ping": 1})
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn insert(&self, blog: &Blog) -> StoreResult<()> {
        self.blogs()
            .insert_one(BlogDoc::from_blog(blog)?)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn find_by_id(&self, id: &Id) -> StoreResult<Option<Blog>> {
        let found = self
            .blogs()
            .find_one(doc! {"_id": oid(id)?})
            .await
            .map_err(backend)?;
        found.map(BlogDoc::into_blog).transpose()
    }

    async fn find_by_slug(&self, slug: &str) -> StoreResult<Option<Blog>> {
        let found = self
            .blogs()
            .find_one(doc! {"slug": slug})
            .await
            .map_err(backend)?;
        found.map(BlogDoc::into_blog).transpose()
    }

    async fn update(
        &self,
        id: &Id,
        owner: &Owner,
        change: &BlogChange,
        updated_by: &Id,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut filter = doc! {"_id": oid(id)?, "status": true};
        if let Owner::Author(author) = owner {
            filter.insert("author", oid(author)?);
        }
        // the state the change needs is checked by the write itself (see BlogChange)
        match change {
            BlogChange::Publish { .. } => {
                filter.insert("submitted", true);
                filter.insert("published", false);
            }
            BlogChange::Unpublish => {
                filter.insert("published", true);
            }
            BlogChange::Edit(_) | BlogChange::Delete | BlogChange::Submit(_) => {}
        }
        let mut set = doc! {"updatedBy": oid(updated_by)?, "updatedAt": date(now)};
        match change {
            BlogChange::Edit(edit) => {
                let texts = [
                    ("title", &edit.title),
                    ("description", &edit.description),
                    ("draftText", &edit.draft_text),
                    ("slug", &edit.slug),
                    ("imgUrl", &edit.img_url),
                ];
                for (field, value) in texts {
                    if let Some(value) = value {
                        set.insert(field, value.clone());
                    }
                }
                if let Some(tags) = &edit.tags {
                    set.insert("tags", tags.clone());
                }
            }
            BlogChange::Delete => {
                set.insert("status", false);
            }
            BlogChange::Submit(submitted) => {
                set.insert("submitted", *submitted);
            }
            BlogChange::Publish { text, published_at } => {
                set.insert("drafted", false);
                set.insert("submitted", false);
                set.insert("published", true);
                set.insert("text", text.clone());
                set.insert("publishedAt", date(*published_at));
            }
            BlogChange::Unpublish => {
                set.insert("drafted", true);
                set.insert("submitted", false);
                set.insert("published", false);
            }
        }
        let result = self
            .blogs()
            .update_one(filter, doc! {"$set": set})
            .await
            .map_err(backend)?;
        Ok(result.matched_count > 0)
    }

    async fn list(&self, list: &BlogList, page: Page) -> StoreResult<Vec<Blog>> {
        let public_sort = doc! {"updatedAt": -1, "score": -1};
        let (filter, sort) = match list {
            BlogList::Latest => (doc! {"status": true, "published": true}, Some(public_sort)),
            BlogList::Tag(tag) => (
                doc! {"status": true, "published": true, "tags": tag},
                Some(public_sort),
            ),
            BlogList::AuthorDrafts(author) => (
                doc! {"author": oid(author)?, "status": true, "drafted": true},
                None,
            ),
            BlogList::AuthorSubmitted(author) => (
                doc! {"author": oid(author)?, "status": true, "submitted": true},
                None,
            ),
            BlogList::AuthorPublished(author) => (
                doc! {"author": oid(author)?, "status": true, "published": true},
                None,
            ),
            BlogList::Submitted => (doc! {"status": true, "submitted": true}, None),
            BlogList::Published => (doc! {"status": true, "published": true}, None),
        };
        let options = FindOptions::builder()
            .sort(sort)
            .skip(page.skip())
            .limit(i64::from(page.limit))
            .build();
        self.find_many(filter, options).await
    }

    async fn similar(&self, source: &Blog) -> StoreResult<Vec<Blog>> {
        let filter = doc! {
            "$text": {"$search": &source.title, "$caseSensitive": false},
            "status": true,
            "published": true,
            "_id": {"$ne": oid(&source.id)?},
        };
        let options = FindOptions::builder()
            .projection(doc! {"similarity": {"$meta": "textScore"}})
            .sort(doc! {"similarity": {"$meta": "textScore"}, "updatedAt": -1, "score": -1})
            .limit(SIMILAR_LIMIT)
            .build();
        self.find_many(filter, options).await
    }
}
