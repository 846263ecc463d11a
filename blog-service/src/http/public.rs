//! Public routes (spec 1.3): `/id/:id`, `/slug/:slug`, `/list/latest`, `/list/tag/:tag`,
//! `/list/similar/id/:id`.

use axum::{Router, extract::State, routing::get};
use shared::{
    ApiError,
    envelope::{Success, success},
};

use super::extract::{PageQuery, PathId, PathSlug, PathTag};
use crate::{
    ops::{self, ItemBlog, PublicBlog, PublicKey},
    state::AppState,
    store::BlogList,
};

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/id/{id}", get(get_blog_by_id))
        .route("/slug/{slug}", get(get_blog_by_slug))
        .route("/list/latest", get(get_latest_blogs))
        .route("/list/tag/{tag}", get(get_tag_blogs))
        .route("/list/similar/id/{id}", get(get_similar_blogs))
}

// spec 1.3 GET /id/:id
async fn get_blog_by_id(
    State(state): State<AppState>,
    path: PathId,
) -> Result<Success<PublicBlog>, ApiError> {
    let blog = ops::get_public_blog(&state, PublicKey::Id(path.id)).await?;
    Ok(success("success", blog))
}

// spec 1.3 GET /slug/:slug
async fn get_blog_by_slug(
    State(state): State<AppState>,
    PathSlug(slug): PathSlug,
) -> Result<Success<PublicBlog>, ApiError> {
    let blog = ops::get_public_blog(&state, PublicKey::Slug(slug)).await?;
    Ok(success("success", blog))
}

// spec 1.3 GET /list/latest
async fn get_latest_blogs(
    State(state): State<AppState>,
    PageQuery(page): PageQuery,
) -> Result<Success<Vec<ItemBlog>>, ApiError> {
    let blogs = ops::list_public_blogs(&state, BlogList::Latest, page).await?;
    Ok(success("success", blogs))
}

// spec 1.3 GET /list/tag/:tag (the tag is validated before the page)
async fn get_tag_blogs(
    State(state): State<AppState>,
    PathTag(tag): PathTag,
    PageQuery(page): PageQuery,
) -> Result<Success<Vec<ItemBlog>>, ApiError> {
    let blogs = ops::list_public_blogs(&state, BlogList::Tag(tag), page).await?;
    Ok(success("success", blogs))
}

// spec 1.3 GET /list/similar/id/:id
async fn get_similar_blogs(
    State(state): State<AppState>,
    path: PathId,
) -> Result<Success<Vec<ItemBlog>>, ApiError> {
    let blogs = ops::list_similar_blogs(&state, &path.id).await?;
    Ok(success("success", blogs))
}
