//! Author routes (spec 1.3 `/author/*`, role AUTHOR). `/author` and `/author/` are the same (D4).

use axum::{
    Router,
    extract::State,
    routing::{get, post, put},
};
use shared::{
    ApiError,
    envelope::{Success, success, success_message},
    http::Json,
};

use super::{
    dto::{self, CreateBlogRequest, UpdateBlogRequest},
    extract::{Author, Authorized, PageQuery, PathId},
};
use crate::{
    domain::{BlogEdit, Id, NewBlog},
    ops::{self, ItemBlog, PrivateBlog},
    state::AppState,
    store::BlogList,
};

type AuthorCaller = Authorized<Author>;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/author", post(create_blog).put(update_blog))
        .route("/author/", post(create_blog).put(update_blog))
        .route("/author/id/{id}", get(get_blog).delete(delete_blog))
        .route("/author/submit/id/{id}", put(submit_blog))
        .route("/author/withdraw/id/{id}", put(withdraw_blog))
        .route("/author/drafts", get(get_drafts))
        .route("/author/submitted", get(get_submitted))
        .route("/author/published", get(get_published))
}

// spec 1.3 POST /author/
async fn create_blog(
    auth: AuthorCaller,
    State(state): State<AppState>,
    Json(body): Json<serde_json::Value>,
) -> Result<Success<PrivateBlog>, ApiError> {
    let new = NewBlog::try_from(dto::decode::<CreateBlogRequest>(
        body,
        dto::CREATE_BLOG_TYPE,
    )?)?;
    let blog = ops::create_blog(&state, &auth.caller, new).await?;
    Ok(success("blog created successfully", blog))
}

// spec 1.3 PUT /author/
async fn update_blog(
    auth: AuthorCaller,
    State(state): State<AppState>,
    Json(body): Json<serde_json::Value>,
) -> Result<Success<PrivateBlog>, ApiError> {
    let (id, edit) = <(Id, BlogEdit)>::try_from(dto::decode::<UpdateBlogRequest>(
        body,
        dto::UPDATE_BLOG_TYPE,
    )?)?;
    let blog = ops::update_blog(&state, &auth.caller, &id, edit).await?;
    Ok(success("blog updated successfully", blog))
}

// spec 1.3 GET /author/id/:id
async fn get_blog(
    auth: AuthorCaller,
    State(state): State<AppState>,
    path: PathId,
) -> Result<Success<PrivateBlog>, ApiError> {
    let blog = ops::get_author_blog(&state, &auth.caller, &path.id, &path.raw).await?;
    Ok(success("success", blog))
}

// spec 1.3 DELETE /author/id/:id
async fn delete_blog(
    auth: AuthorCaller,
    State(state): State<AppState>,
    path: PathId,
) -> Result<Success<()>, ApiError> {
    ops::delete_blog(&state, &auth.caller, &path.id).await?;
    Ok(success_message("blog deleted successfully"))
}

// spec 1.3 PUT /author/submit/id/:id
async fn submit_blog(
    auth: AuthorCaller,
    State(state): State<AppState>,
    path: PathId,
) -> Result<Success<()>, ApiError> {
    ops::set_submitted(&state, &auth.caller, &path.id, true).await?;
    Ok(success_message("blog submitted successfully"))
}

// spec 1.3 PUT /author/withdraw/id/:id
async fn withdraw_blog(
    auth: AuthorCaller,
    State(state): State<AppState>,
    path: PathId,
) -> Result<Success<()>, ApiError> {
    ops::set_submitted(&state, &auth.caller, &path.id, false).await?;
    Ok(success_message("blog withdrawn successfully"))
}

// spec 1.3 GET /author/drafts
async fn get_drafts(
    auth: AuthorCaller,
    State(state): State<AppState>,
    PageQuery(page): PageQuery,
) -> Result<Success<Vec<ItemBlog>>, ApiError> {
    let list = BlogList::AuthorDrafts(auth.caller.id);
    Ok(success(
        "success",
        ops::list_author_blogs(&state, list, page).await?,
    ))
}

// spec 1.3 GET /author/submitted
async fn get_submitted(
    auth: AuthorCaller,
    State(state): State<AppState>,
    PageQuery(page): PageQuery,
) -> Result<Success<Vec<ItemBlog>>, ApiError> {
    let list = BlogList::AuthorSubmitted(auth.caller.id);
    Ok(success(
        "success",
        ops::list_author_blogs(&state, list, page).await?,
    ))
}

// spec 1.3 GET /author/published
async fn get_published(
    auth: AuthorCaller,
    State(state): State<AppState>,
    PageQuery(page): PageQuery,
) -> Result<Success<Vec<ItemBlog>>, ApiError> {
    let list = BlogList::AuthorPublished(auth.caller.id);
    Ok(success(
        "success",
        ops::list_author_blogs(&state, list, page).await?,
    ))
}
