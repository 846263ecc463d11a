//! [`OpsError`]: every way a blog use case fails, with the contract's texts (spec 1.3).

use shared::ApiError;

use crate::{domain::Id, store::StoreError};

/// A failed use case. `Display` is the client message, verbatim (typos included).
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// 400: input or model validation.
    #[error("{0}")]
    Invalid(String),
    /// 400: the slug is taken (even by a deleted blog).
    #[error("Blog with slug: {0} already exists")]
    SlugTaken(String),
    /// 404: public reads, deletes, submits, and updates that matched nothing.
    #[error("blog not found")]
    BlogNotFound,
    /// 404: the public blog's author profile is unavailable.
    #[error("author not found")]
    AuthorNotFound,
    /// 404: update of a blog that is not the caller's active blog (sic).
    #[error("Blog with id: {0} does not exists")]
    NoSuchBlog(Id),
    /// 404: private reads; the id as the client wrote it.
    #[error("{0} not found")]
    IdNotFound(String),
    /// 404: editor publish/unpublish of a missing blog.
    #[error("blog for _id {0} not found")]
    EditorBlogNotFound(Id),
    /// 400: publish of a published blog.
    #[error("blog for _id {0} is already published")]
    AlreadyPublished(Id),
    /// 400: publish of a blog that was not submitted.
    #[error("blog for _id {0} is not submitted")]
    NotSubmitted(Id),
    /// 400: unpublish of a blog that is not published.
    #[error("blog for _id {0} is not published")]
    NotPublished(Id),
    /// 500: the database failed.
    #[error("database failure")]
    Store(#[source] StoreError),
}

impl From<StoreError> for OpsError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

impl From<OpsError> for ApiError {
    fn from(err: OpsError) -> Self {
        let message = err.to_string();
        match err {
            OpsError::Invalid(_)
            | OpsError::SlugTaken(_)
            | OpsError::AlreadyPublished(_)
            | OpsError::NotSubmitted(_)
            | OpsError::NotPublished(_) => ApiError::BadRequest(message),
            OpsError::BlogNotFound
            | OpsError::AuthorNotFound
            | OpsError::NoSuchBlog(_)
            | OpsError::IdNotFound(_)
            | OpsError::EditorBlogNotFound(_) => ApiError::NotFound(message),
            OpsError::Store(StoreError::Backend(source)) => ApiError::Internal(source),
            OpsError::Store(conflict @ StoreError::Conflict(_)) => {
                ApiError::Internal(anyhow::Error::new(conflict))
            }
        }
    }
}
