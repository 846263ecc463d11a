//! The SQLite backend: one file shared safely by several replicas on one machine (D14).
//!
//! Opening it (WAL, busy timeout, replicas racing on a new file) is `sqlite_store`'s. Every
//! write is one autocommit statement whose `WHERE` carries the endpoint's conditions. Similar
//! blogs use an FTS5 index kept in sync by triggers (migrations).

use async_trait::async_trait;
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool, migrate::Migrator, sqlite::SqliteRow};

use super::{BlogChange, BlogList, BlogStore, Owner, SIMILAR_LIMIT, StoreError, StoreResult};
use crate::domain::{Blog, Id, Page, Timestamp};

/// The schema, applied at every start (`migrations/`).
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Columns of every blog query, in the order [`blog_from_row`] reads them.
const COLUMNS: &str = "b.id, b.title, b.description, b.text, b.draft_text, b.tags, b.author, \
    b.img_url, b.slug, b.score, b.submitted, b.drafted, b.published, b.status, b.published_at, \
    b.created_by, b.updated_by, b.created_at, b.updated_at";

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when missing) the database `url` (`sqlite://path` or `sqlite::memory:`) and
    /// applies the embedded migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let pool = sqlite_store::open(url, &MIGRATOR).await?;
        Ok(Self { pool })
    }

    /// The blog whose row matches `condition` (one `?`, bound to `value`), in any state.
    async fn find_one(&self, condition: &str, value: &str) -> StoreResult<Option<Blog>> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM blogs b WHERE {condition}"))
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(blog_from_row)
            .transpose()
    }
}

fn backend(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
        && db.message().contains("slug")
    {
        return StoreError::Conflict("slug");
    }
    StoreError::Backend(anyhow::Error::new(err))
}

fn parse_id(text: &str, column: &str) -> StoreResult<Id> {
    Id::parse(text)
        .map_err(|err| StoreError::Backend(anyhow::anyhow!("bad id {text:?} in {column}: {err}")))
}

fn blog_from_row(row: &SqliteRow) -> StoreResult<Blog> {
    let get_str = |column: &str| row.try_get::<String, _>(column).map_err(backend);
    let tags: Vec<String> = serde_json::from_str(&get_str("tags")?)
        .map_err(|err| StoreError::Backend(anyhow::anyhow!("bad tags column: {err}")))?;
    Ok(Blog {
        id: parse_id(&get_str("id")?, "id")?,
        title: get_str("title")?,
        description: get_str("description")?,
        text: row.try_get("text").map_err(backend)?,
        draft_text: get_str("draft_text")?,
        tags,
        author: parse_id(&get_str("author")?, "author")?,
        img_url: row.try_get("img_url").map_err(backend)?,
        slug: get_str("slug")?,
        score: row.try_get("score").map_err(backend)?,
        submitted: row.try_get("submitted").map_err(backend)?,
        drafted: row.try_get("drafted").map_err(backend)?,
        published: row.try_get("published").map_err(backend)?,
        status: row.try_get("status").map_err(backend)?,
        published_at: row
            .try_get::<Option<i64>, _>("published_at")
            .map_err(backend)?
            .map(Timestamp),
        created_by: parse_id(&get_str("created_by")?, "created_by")?,
        updated_by: parse_id(&get_str("updated_by")?, "updated_by")?,
        created_at: Timestamp(row.try_get("created_at").map_err(backend)?),
        updated_at: Timestamp(row.try_get("updated_at").map_err(backend)?),
    })
}

fn blogs_from_rows(rows: &[SqliteRow]) -> StoreResult<Vec<Blog>> {
    rows.iter().map(blog_from_row).collect()
}

/// An FTS5 query matching any word of `title` (Mongo `$text` ORs the terms of `$search`).
fn fts_query(title: &str) -> Option<String> {
    let terms: Vec<String> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| format!("\"{word}\""))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" OR "))
}

fn i64_of(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[async_trait]
impl BlogStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn insert(&self, blog: &Blog) -> StoreResult<()> {
        let tags = serde_json::to_string(&blog.tags)
            .map_err(|err| StoreError::Backend(anyhow::Error::new(err)))?;
        sqlx::query(
            "INSERT INTO blogs (id, title, description, text, draft_text, tags, author, img_url, \
             slug, score, submitted, drafted, published, status, published_at, created_by, \
             updated_by, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(blog.id.as_str())
        .bind(&blog.title)
        .bind(&blog.description)
        .bind(&blog.text)
        .bind(&blog.draft_text)
        .bind(tags)
        .bind(blog.author.as_str())
        .bind(&blog.img_url)
        .bind(&blog.slug)
        .bind(blog.score)
        .bind(blog.submitted)
        .bind(blog.drafted)
        .bind(blog.published)
        .bind(blog.status)
        .bind(blog.published_at.map(Timestamp::millis))
        .bind(blog.created_by.as_str())
        .bind(blog.updated_by.as_str())
        .bind(blog.created_at.millis())
        .bind(blog.updated_at.millis())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn find_by_id(&self, id: &Id) -> StoreResult<Option<Blog>> {
        self.find_one("b.id = ?", id.as_str()).await
    }

    async fn find_by_slug(&self, slug: &str) -> StoreResult<Option<Blog>> {
        self.find_one("b.slug = ?", slug).await
    }

    async fn update(
        &self,
        id: &Id,
        owner: &Owner,
        change: &BlogChange,
        updated_by: &Id,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut query = QueryBuilder::<Sqlite>::new("UPDATE blogs SET updated_by = ");
        query.push_bind(updated_by.as_str());
        query.push(", updated_at = ");
        query.push_bind(now.millis());
        match change {
            BlogChange::Edit(edit) => {
                let texts = [
                    ("title", &edit.title),
                    ("description", &edit.description),
                    ("draft_text", &edit.draft_text),
                    ("slug", &edit.slug),
                    ("img_url", &edit.img_url),
                ];
                for (column, value) in texts {
                    if let Some(value) = value {
                        query.push(format!(", {column} = "));
                        query.push_bind(value.clone());
                    }
                }
                if let Some(tags) = &edit.tags {
                    let tags = serde_json::to_string(tags)
                        .map_err(|err| StoreError::Backend(anyhow::Error::new(err)))?;
                    query.push(", tags = ");
                    query.push_bind(tags);
                }
            }
            BlogChange::Delete => {
                query.push(", status = 0");
            }
            BlogChange::Submit(submitted) => {
                query.push(", submitted = ");
                query.push_bind(*submitted);
            }
            BlogChange::Publish { text, published_at } => {
                query.push(", drafted = 0, submitted = 0, published = 1, text = ");
                query.push_bind(text.clone());
                query.push(", published_at = ");
                query.push_bind(published_at.millis());
            }
            BlogChange::Unpublish => {
                query.push(", drafted = 1, submitted = 0, published = 0");
            }
        }
        query.push(" WHERE id = ");
        query.push_bind(id.as_str());
        query.push(" AND status = 1");
        if let Owner::Author(author) = owner {
            query.push(" AND author = ");
            query.push_bind(author.as_str());
        }
        // the state the change needs is checked by the write itself (see BlogChange)
        match change {
            BlogChange::Publish { .. } => {
                query.push(" AND submitted = 1 AND published = 0");
            }
            BlogChange::Unpublish => {
                query.push(" AND published = 1");
            }
            BlogChange::Edit(_) | BlogChange::Delete | BlogChange::Submit(_) => {}
        }
        let result = query.build().execute(&self.pool).await.map_err(backend)?;
        Ok(result.rows_affected() > 0)
    }

    async fn list(&self, list: &BlogList, page: Page) -> StoreResult<Vec<Blog>> {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {COLUMNS} FROM blogs b WHERE b.status = 1"
        ));
        let public_order = " ORDER BY b.updated_at DESC, b.score DESC";
        let natural_order = " ORDER BY b.seq";
        let order = match list {
            BlogList::Latest => {
                query.push(" AND b.published = 1");
                public_order
            }
            BlogList::Tag(tag) => {
                query.push(" AND b.published = 1 AND EXISTS (SELECT 1 FROM json_each(b.tags) t WHERE t.value = ");
                query.push_bind(tag.clone());
                query.push(")");
                public_order
            }
            BlogList::AuthorDrafts(author)
            | BlogList::AuthorSubmitted(author)
            | BlogList::AuthorPublished(author) => {
                query.push(" AND b.author = ");
                query.push_bind(author.as_str());
                query.push(match list {
                    BlogList::AuthorDrafts(_) => " AND b.drafted = 1",
                    BlogList::AuthorSubmitted(_) => " AND b.submitted = 1",
                    _ => " AND b.published = 1",
                });
                natural_order
            }
            BlogList::Submitted => {
                query.push(" AND b.submitted = 1");
                natural_order
            }
            BlogList::Published => {
                query.push(" AND b.published = 1");
                natural_order
            }
        };
        query.push(order);
        query.push(" LIMIT ");
        query.push_bind(i64::from(page.limit));
        query.push(" OFFSET ");
        query.push_bind(i64_of(page.skip()));
        let rows = query.build().fetch_all(&self.pool).await.map_err(backend)?;
        blogs_from_rows(&rows)
    }

    async fn similar(&self, source: &Blog) -> StoreResult<Vec<Blog>> {
        let Some(matcher) = fts_query(&source.title) else {
            return Ok(Vec::new());
        };
        // bm25() is lower for better matches; weights follow the column order (title, description).
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM blogs_fts JOIN blogs b ON b.seq = blogs_fts.rowid \
             WHERE blogs_fts MATCH ? AND b.status = 1 AND b.published = 1 AND b.id <> ? \
             ORDER BY bm25(blogs_fts, 3.0, 1.0) ASC, b.updated_at DESC, b.score DESC LIMIT ?"
        ))
        .bind(matcher)
        .bind(source.id.as_str())
        .bind(SIMILAR_LIMIT)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        blogs_from_rows(&rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_query_ors_quoted_words() {
        assert_eq!(
            fts_query("Rust: async \"NATS\" ünï").as_deref(),
            Some("\"Rust\" OR \"async\" OR \"NATS\" OR \"ünï\"")
        );
        assert_eq!(fts_query("?!"), None);
    }
}
