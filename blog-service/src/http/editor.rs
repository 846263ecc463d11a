//! Editor routes (spec 1.3 `/editor/*`, role EDITOR).

use axum::{
    Router,
    extract::State,
    routing::{get, put},
};
use shared::{
    ApiError,
    envelope::{Success, success, success_message},
};

use super::extract::{Authorized, Editor, PageQuery, PathId};
use crate::{
    ops::{self, ItemBlog, PrivateBlog},
    state::AppState,
    store::BlogList,
};

type EditorCaller = Authorized<Editor>;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/editor/id/{id}", get(get_blog))
        .route("/editor/publish/id/{id}", put(publish_blog))
        .route("/editor/unpublish/id/{id}", put(unpublish_blog))
        .route("/editor/submitted", get(get_submitted))
        .route("/editor/published", get(get_published))
}

// spec 1.3 GET /editor/id/:id
async fn get_blog(
    _auth: EditorCaller,
    State(state): State<AppState>,
    path: PathId,
) -> Result<Success<PrivateBlog>, ApiError> {
    let blog = ops::get_editor_blog(&state, &path.id, &path.raw).await?;
    Ok(success("success", blog))
}

// spec 1.3 PUT /editor/publish/id/:id
async fn publish_blog(
    auth: EditorCaller,
    State(state): State<AppState>,
    path: PathId,
) -> Result<Success<()>, ApiError> {
    ops::publish_blog(&state, &auth.caller.id, &path.id).await?;
    Ok(success_message("blog published successfully"))
}

// spec 1.3 PUT /editor/unpublish/id/:id
async fn unpublish_blog(
    auth: EditorCaller,
    State(state): State<AppState>,
    path: PathId,
) -> Result<Success<()>, ApiError> {
    ops::unpublish_blog(&state, &auth.caller.id, &path.id).await?;
    Ok(success_message("blog unpublished successfully"))
}

// spec 1.3 GET /editor/submitted
async fn get_submitted(
    _auth: EditorCaller,
    State(state): State<AppState>,
    PageQuery(page): PageQuery,
) -> Result<Success<Vec<ItemBlog>>, ApiError> {
    let blogs = ops::list_editor_blogs(&state, BlogList::Submitted, page).await?;
    Ok(success("success", blogs))
}

// spec 1.3 GET /editor/published
async fn get_published(
    _auth: EditorCaller,
    State(state): State<AppState>,
    PageQuery(page): PageQuery,
) -> Result<Success<Vec<ItemBlog>>, ApiError> {
    let blogs = ops::list_editor_blogs(&state, BlogList::Published, page).await?;
    Ok(success("success", blogs))
}
