//! Author use cases (spec 1.3 `/author/*`): every call acts on the caller's own active blogs.

use crate::{
    domain::{Blog, BlogEdit, Id, NewBlog, Page, Timestamp, normalise_slug},
    state::AppState,
    store::{BlogChange, BlogList, Owner, StoreError},
};

use super::{AuthorView, ItemBlog, OpsError, PrivateBlog, invalidate_public};

/// The caller: its id and how it appears as an author.
#[derive(Debug, Clone)]
pub struct Caller {
    /// User id.
    pub id: Id,
    /// `{_id, name, profilePicUrl?}`.
    pub view: AuthorView,
}

/// gomicro validates the model after normalising the slug (spec 1.3 create step 3); the DTO already
/// capped the length, so only `required`/`min=3` can fail. gomicro answers 500 with the validator
/// text; bad input must never be a 500 here, so it is a 400 with the same text.
fn check_model_slug(slug: &str) -> Result<(), OpsError> {
    let tag = match slug.chars().count() {
        0 => "required",
        1 | 2 => "min",
        _ => return Ok(()),
    };
    Err(OpsError::Invalid(format!(
        "Key: 'Blog.Slug' Error:Field validation for 'Slug' failed on the '{tag}' tag"
    )))
}

/// `POST /author/`.
#[tracing::instrument(skip_all, fields(user_id = %caller.id), err(level = "debug"))]
pub async fn create_blog(
    state: &AppState,
    caller: &Caller,
    mut new: NewBlog,
) -> Result<PrivateBlog, OpsError> {
    new.slug = normalise_slug(&new.slug);
    check_model_slug(&new.slug)?;
    if state.store.find_by_slug(&new.slug).await?.is_some() {
        return Err(OpsError::SlugTaken(new.slug));
    }
    let blog = Blog::draft(new, caller.id, Timestamp::now());
    match state.store.insert(&blog).await {
        Ok(()) => {}
        // a concurrent create took the slug between the check and the insert
        Err(StoreError::Conflict(_)) => return Err(OpsError::SlugTaken(blog.slug)),
        Err(err) => return Err(err.into()),
    }
    let stored = state
        .store
        .find_by_id(&blog.id)
        .await?
        .ok_or(OpsError::BlogNotFound)?;
    Ok(PrivateBlog::new(stored, caller.view.clone()))
}

/// `PUT /author/`.
#[tracing::instrument(skip_all, fields(user_id = %caller.id, blog_id = %id), err(level = "debug"))]
pub async fn update_blog(
    state: &AppState,
    caller: &Caller,
    id: &Id,
    mut edit: BlogEdit,
) -> Result<PrivateBlog, OpsError> {
    let current = own_active(state, caller, id)
        .await?
        .ok_or_else(|| OpsError::NoSuchBlog(*id))?;
    if let Some(slug) = edit.slug.take() {
        let slug = normalise_slug(&slug);
        check_model_slug(&slug)?;
        if slug != current.slug && state.store.find_by_slug(&slug).await?.is_some() {
            return Err(OpsError::SlugTaken(slug));
        }
        edit.slug = Some(slug);
    }
    let new_slug = edit.slug.clone();
    let owner = Owner::Author(caller.id);
    match state
        .store
        .update(
            id,
            &owner,
            &BlogChange::Edit(edit),
            &caller.id,
            Timestamp::now(),
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => return Err(OpsError::NoSuchBlog(*id)),
        Err(StoreError::Conflict(_)) => {
            return Err(OpsError::SlugTaken(new_slug.unwrap_or_default()));
        }
        Err(err) => return Err(err.into()),
    }
    // D3: title, description, slug, tags and image are public fields of a published blog
    invalidate_public(state, &current, new_slug.as_deref()).await;
    let updated = state
        .store
        .find_by_id(id)
        .await?
        .ok_or_else(|| OpsError::NoSuchBlog(*id))?;
    Ok(PrivateBlog::new(updated, caller.view.clone()))
}

/// `GET /author/id/:id`; `raw_id` is the id as the client wrote it (for the 404 text).
#[tracing::instrument(skip_all, fields(user_id = %caller.id, blog_id = %id), err(level = "debug"))]
pub async fn get_author_blog(
    state: &AppState,
    caller: &Caller,
    id: &Id,
    raw_id: &str,
) -> Result<PrivateBlog, OpsError> {
    let not_found = || OpsError::IdNotFound(raw_id.to_owned());
    let blog = own_active(state, caller, id)
        .await
        .map_err(|_| not_found())?
        .ok_or_else(not_found)?;
    Ok(PrivateBlog::new(blog, caller.view.clone()))
}

/// `DELETE /author/id/:id` (soft delete; D3: public entries dropped).
#[tracing::instrument(skip_all, fields(user_id = %caller.id, blog_id = %id), err(level = "debug"))]
pub async fn delete_blog(state: &AppState, caller: &Caller, id: &Id) -> Result<(), OpsError> {
    let current = own_active(state, caller, id)
        .await?
        .ok_or(OpsError::BlogNotFound)?;
    let owner = Owner::Author(caller.id);
    let deleted = state
        .store
        .update(
            id,
            &owner,
            &BlogChange::Delete,
            &caller.id,
            Timestamp::now(),
        )
        .await?;
    if !deleted {
        return Err(OpsError::BlogNotFound);
    }
    invalidate_public(state, &current, None).await;
    Ok(())
}

/// `PUT /author/submit/id/:id` (`true`) and `/author/withdraw/id/:id` (`false`); no state checks.
#[tracing::instrument(skip_all, fields(user_id = %caller.id, blog_id = %id), err(level = "debug"))]
pub async fn set_submitted(
    state: &AppState,
    caller: &Caller,
    id: &Id,
    submitted: bool,
) -> Result<(), OpsError> {
    let owner = Owner::Author(caller.id);
    let change = BlogChange::Submit(submitted);
    let matched = state
        .store
        .update(id, &owner, &change, &caller.id, Timestamp::now())
        .await?;
    if matched {
        Ok(())
    } else {
        Err(OpsError::BlogNotFound)
    }
}

/// `GET /author/drafts|submitted|published`.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn list_author_blogs(
    state: &AppState,
    list: BlogList,
    page: Page,
) -> Result<Vec<ItemBlog>, OpsError> {
    let blogs = state.store.list(&list, page).await?;
    Ok(blogs.into_iter().map(ItemBlog::from).collect())
}

/// The caller's active blog `id`.
async fn own_active(state: &AppState, caller: &Caller, id: &Id) -> Result<Option<Blog>, OpsError> {
    Ok(state
        .store
        .find_by_id(id)
        .await?
        .filter(|blog| blog.status && blog.author == caller.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_slug_check_names_the_failing_tag() {
        assert!(check_model_slug("abc").is_ok());
        assert_eq!(
            check_model_slug("ab").unwrap_err().to_string(),
            "Key: 'Blog.Slug' Error:Field validation for 'Slug' failed on the 'min' tag"
        );
        assert!(
            check_model_slug("")
                .unwrap_err()
                .to_string()
                .contains("'required'")
        );
    }
}
