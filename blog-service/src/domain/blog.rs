//! The blog record and the validated inputs of create and update (spec 1.3, 3.2, 6).

use super::{Id, Timestamp};

/// A blog as stored (spec 3.2). `status: false` means soft-deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct Blog {
    /// Its id.
    pub id: Id,
    /// 3..=500 code points.
    pub title: String,
    /// 3..=2000 code points.
    pub description: String,
    /// The published text; `None` until the first publish.
    pub text: Option<String>,
    /// The author's working text.
    pub draft_text: String,
    /// Upper-case tags, at least one.
    pub tags: Vec<String>,
    /// The author's user id.
    pub author: Id,
    /// Cover image URI (D2: stored).
    pub img_url: Option<String>,
    /// Normalised, globally unique slug.
    pub slug: String,
    /// 0..1; 0.01 on create, never changed by the API.
    pub score: f64,
    /// Waiting for an editor.
    pub submitted: bool,
    /// Being edited by its author.
    pub drafted: bool,
    /// Publicly visible.
    pub published: bool,
    /// `false` once deleted.
    pub status: bool,
    /// First publication time, kept across unpublish.
    pub published_at: Option<Timestamp>,
    /// Creator's user id.
    pub created_by: Id,
    /// Last writer's user id.
    pub updated_by: Id,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last write time.
    pub updated_at: Timestamp,
}

impl Blog {
    /// A fresh draft by `author` (spec 1.3 create step 3).
    pub fn draft(new: NewBlog, author: Id, now: Timestamp) -> Self {
        Self {
            id: Id::generate(),
            title: new.title,
            description: new.description,
            text: None,
            draft_text: new.draft_text,
            tags: new.tags,
            author,
            img_url: Some(new.img_url),
            slug: new.slug,
            score: 0.01,
            submitted: false,
            drafted: true,
            published: false,
            status: true,
            published_at: None,
            created_by: author,
            updated_by: author,
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether the public may see it.
    pub fn is_public(&self) -> bool {
        self.status && self.published
    }
}

/// A validated create request; `slug` is already normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBlog {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Draft text.
    pub draft_text: String,
    /// Normalised slug (3..=200 code points).
    pub slug: String,
    /// Cover image URI.
    pub img_url: String,
    /// Upper-case tags.
    pub tags: Vec<String>,
}

/// A validated update: `None` leaves a field unchanged; `slug` is normalised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlogEdit {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New draft text.
    pub draft_text: Option<String>,
    /// New normalised slug.
    pub slug: Option<String>,
    /// New cover image URI.
    pub img_url: Option<String>,
    /// New tags.
    pub tags: Option<Vec<String>>,
}
