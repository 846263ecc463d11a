//! Editor use cases (spec 1.3 `/editor/*`): any author's active blogs.

use crate::{
    domain::{Blog, Id, Page, Timestamp},
    state::AppState,
    store::{BlogChange, BlogList, Owner},
};

use super::{ItemBlog, OpsError, PrivateBlog, invalidate_public};

/// `GET /editor/id/:id`: the active blog plus its author's profile; any failure is
/// `<id as given> not found`.
#[tracing::instrument(skip_all, fields(blog_id = %id), err(level = "debug"))]
pub async fn get_editor_blog(
    state: &AppState,
    id: &Id,
    raw_id: &str,
) -> Result<PrivateBlog, OpsError> {
    let not_found = || OpsError::IdNotFound(raw_id.to_owned());
    let blog = state
        .store
        .find_by_id(id)
        .await
        .map_err(|_| not_found())?
        .filter(|blog| blog.status)
        .ok_or_else(not_found)?;
    let author = state
        .auth
        .profile(&blog.author)
        .await
        .map_err(|_| not_found())?;
    Ok(PrivateBlog::new(blog, author.into()))
}

/// `PUT /editor/publish/id/:id`: needs submitted and not yet published, checked before the write for
/// the contract's messages and by the write itself; a lost race answers as if seen before.
#[tracing::instrument(skip_all, fields(editor_id = %editor, blog_id = %id), err(level = "debug"))]
pub async fn publish_blog(state: &AppState, editor: &Id, id: &Id) -> Result<(), OpsError> {
    let blog = active_blog(state, id).await?;
    if blog.published {
        return Err(OpsError::AlreadyPublished(*id));
    }
    if !blog.submitted {
        return Err(OpsError::NotSubmitted(*id));
    }
    let now = Timestamp::now();
    let change = BlogChange::Publish {
        text: blog.draft_text.clone(),
        published_at: blog.published_at.unwrap_or(now),
    };
    if !state
        .store
        .update(id, &Owner::Any, &change, editor, now)
        .await?
    {
        // the write checks the state again: a withdrawal or another publish won the race
        return Err(
            match state.store.find_by_id(id).await?.filter(|blog| blog.status) {
                Some(blog) if blog.published => OpsError::AlreadyPublished(*id),
                Some(_) => OpsError::NotSubmitted(*id),
                None => OpsError::BlogNotFound,
            },
        );
    }
    // D3: a republish must not leave the old text in the cache
    invalidate_public(state, &blog, None).await;
    Ok(())
}

/// `PUT /editor/unpublish/id/:id`: needs published.
#[tracing::instrument(skip_all, fields(editor_id = %editor, blog_id = %id), err(level = "debug"))]
pub async fn unpublish_blog(state: &AppState, editor: &Id, id: &Id) -> Result<(), OpsError> {
    let blog = active_blog(state, id).await?;
    if !blog.published {
        return Err(OpsError::NotPublished(*id));
    }
    let change = BlogChange::Unpublish;
    if !state
        .store
        .update(id, &Owner::Any, &change, editor, Timestamp::now())
        .await?
    {
        // the write checks the state again: another unpublish won the race
        return Err(
            match state.store.find_by_id(id).await?.filter(|blog| blog.status) {
                Some(_) => OpsError::NotPublished(*id),
                None => OpsError::BlogNotFound,
            },
        );
    }
    invalidate_public(state, &blog, None).await;
    Ok(())
}

/// The active blog `id`, or the editor endpoints' 404.
async fn active_blog(state: &AppState, id: &Id) -> Result<Blog, OpsError> {
    state
        .store
        .find_by_id(id)
        .await?
        .filter(|blog| blog.status)
        .ok_or(OpsError::EditorBlogNotFound(*id))
}

/// `GET /editor/submitted|published`.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn list_editor_blogs(
    state: &AppState,
    list: BlogList,
    page: Page,
) -> Result<Vec<ItemBlog>, OpsError> {
    let blogs = state.store.list(&list, page).await?;
    Ok(blogs.into_iter().map(ItemBlog::from).collect())
}
