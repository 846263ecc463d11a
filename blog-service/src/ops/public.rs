//! Public reads (spec 1.3): one blog by id or slug (cached), latest and tag lists (not cached),
//! similar blogs (cached per generation). Cache rules: see [`crate::cache`].

use crate::{
    cache::{self, BLOG_TTL_SECS, SIMILAR_TTL_SECS},
    domain::{Id, Page, Slug},
    state::AppState,
    store::BlogList,
};

use super::{ItemBlog, OpsError, PublicBlog};

/// How a public blog is addressed.
#[derive(Debug, Clone)]
pub enum PublicKey {
    /// `GET /id/:id`.
    Id(Id),
    /// `GET /slug/:slug`.
    Slug(Slug),
}

impl PublicKey {
    /// Its cache key (see [`crate::cache`]).
    fn cache_key(&self) -> String {
        match self {
            Self::Id(id) => cache::blog_id_key(id.as_str()),
            Self::Slug(slug) => cache::blog_slug_key(slug.as_str()),
        }
    }

    /// Whether `blog` is the blog this key asks for: a cache hit must be, whatever the key says.
    pub fn matches(&self, blog: &PublicBlog) -> bool {
        match self {
            Self::Id(id) => blog.id == id.as_str(),
            Self::Slug(slug) => blog.slug == slug.as_str(),
        }
    }
}

/// `GET /id/:id`, `GET /slug/:slug`: cache, else the published active blog plus its author's profile;
/// the result is cached for 10 min unless a write happened meanwhile (D3).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn get_public_blog(state: &AppState, key: PublicKey) -> Result<PublicBlog, OpsError> {
    let cache_key = key.cache_key();
    if let Some(hit) = state.cache.get::<PublicBlog>(&cache_key).await {
        if key.matches(&hit) {
            return Ok(hit);
        }
        tracing::warn!(key = %cache_key, cached_id = %hit.id, "cache entry of another blog ignored");
    }
    // Read before the database so that a write in between voids the fill.
    let generation = state.cache.generation().await;
    let blog = match &key {
        PublicKey::Id(id) => state.store.find_by_id(id).await?,
        PublicKey::Slug(slug) => state.store.find_by_slug(slug.as_str()).await?,
    }
    .filter(|blog| blog.is_public())
    .ok_or(OpsError::BlogNotFound)?;
    let author = state
        .auth
        .profile(&blog.author)
        .await
        .map_err(|_| OpsError::AuthorNotFound)?;
    let view = PublicBlog::new(blog, author.into());
    if let Some(generation) = generation {
        let cache = state.cache.clone();
        let value = view.clone();
        // spec 5: the entry is written after the response, errors ignored
        tokio::spawn(async move {
            cache
                .fill(&cache_key, &value, BLOG_TTL_SECS, generation)
                .await;
        });
    }
    Ok(view)
}

/// `GET /list/latest`, `GET /list/tag/:tag`.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn list_public_blogs(
    state: &AppState,
    list: BlogList,
    page: Page,
) -> Result<Vec<ItemBlog>, OpsError> {
    let blogs = state.store.list(&list, page).await?;
    Ok(blogs.into_iter().map(ItemBlog::from).collect())
}

/// `GET /list/similar/id/:id`: up to 6 public blogs like the public blog `id`.
#[tracing::instrument(skip_all, fields(blog_id = %id), err(level = "debug"))]
pub async fn list_similar_blogs(state: &AppState, id: &Id) -> Result<Vec<ItemBlog>, OpsError> {
    let generation = state.cache.generation().await;
    if let Some(generation) = generation
        && let Some(hit) = state
            .cache
            .get::<Option<Vec<ItemBlog>>>(&cache::similar_key(generation, id.as_str()))
            .await
    {
        // spec 5: an empty list may be cached as `null`
        return Ok(hit.unwrap_or_default());
    }
    let source = state
        .store
        .find_by_id(id)
        .await?
        .filter(|blog| blog.is_public())
        .ok_or(OpsError::BlogNotFound)?;
    let similar: Vec<ItemBlog> = state
        .store
        .similar(&source)
        .await?
        .into_iter()
        .map(ItemBlog::from)
        .collect();
    if let Some(generation) = generation {
        let cache = state.cache.clone();
        let value = similar.clone();
        let key = cache::similar_key(generation, id.as_str());
        tokio::spawn(async move {
            cache.fill(&key, &value, SIMILAR_TTL_SECS, generation).await;
        });
    }
    Ok(similar)
}
