//! What clients see of a blog (spec 1.3): PublicBlog, ItemBlog/InfoBlog and PrivateBlog, with the
//! contract's JSON names. PublicBlog is also the cached value (spec 5), hence `Deserialize`.

use serde::{Deserialize, Serialize};
use shared::messages::User;

use crate::domain::{Blog, Timestamp};

/// The author object: `{_id, name, profilePicUrl?}` (no email).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorView {
    /// User id.
    #[serde(rename = "_id")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Picture URL.
    #[serde(
        rename = "profilePicUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub profile_pic_url: Option<String>,
}

impl From<User> for AuthorView {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            name: user.name,
            profile_pic_url: user.profile_pic_url,
        }
    }
}

/// A published blog as the public sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicBlog {
    /// Id.
    #[serde(rename = "_id")]
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// The published text (`""` if none).
    pub text: String,
    /// Slug.
    pub slug: String,
    /// The author's profile.
    pub author: AuthorView,
    /// Cover image (D2).
    #[serde(rename = "imgUrl", default, skip_serializing_if = "Option::is_none")]
    pub img_url: Option<String>,
    /// Score.
    pub score: f64,
    /// Tags.
    pub tags: Vec<String>,
    /// First publication (RFC 3339).
    #[serde(
        rename = "publishedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub published_at: Option<String>,
}

impl PublicBlog {
    /// The public view of `blog` written by `author`.
    pub fn new(blog: Blog, author: AuthorView) -> Self {
        Self {
            id: blog.id.to_string(),
            title: blog.title,
            description: blog.description,
            text: blog.text.unwrap_or_default(),
            slug: blog.slug,
            author,
            img_url: blog.img_url,
            score: blog.score,
            tags: blog.tags,
            published_at: blog.published_at.map(|at| at.to_string()),
        }
    }
}

/// A list entry (ItemBlog, and InfoBlog of the author/editor lists: same shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemBlog {
    /// Id.
    #[serde(rename = "_id")]
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Slug.
    pub slug: String,
    /// Cover image.
    #[serde(rename = "imgUrl", default, skip_serializing_if = "Option::is_none")]
    pub img_url: Option<String>,
    /// Score.
    pub score: f64,
    /// Tags.
    pub tags: Vec<String>,
}

impl From<Blog> for ItemBlog {
    fn from(blog: Blog) -> Self {
        Self {
            id: blog.id.to_string(),
            title: blog.title,
            description: blog.description,
            slug: blog.slug,
            img_url: blog.img_url,
            score: blog.score,
            tags: blog.tags,
        }
    }
}

/// Everything about a blog, for its author and editors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrivateBlog {
    /// Id.
    #[serde(rename = "_id")]
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Published text, omitted until the first publish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Working text.
    #[serde(rename = "draftText")]
    pub draft_text: String,
    /// Slug.
    pub slug: String,
    /// The author.
    pub author: AuthorView,
    /// Cover image (D2).
    #[serde(rename = "imgUrl", skip_serializing_if = "Option::is_none")]
    pub img_url: Option<String>,
    /// Score.
    pub score: f64,
    /// Tags.
    pub tags: Vec<String>,
    /// Waiting for an editor.
    pub submitted: bool,
    /// Being edited.
    pub drafted: bool,
    /// Public.
    pub published: bool,
    /// First publication.
    #[serde(rename = "publishedAt", skip_serializing_if = "Option::is_none")]
    pub published_at: Option<Timestamp>,
    /// Creation time.
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    /// Last write time.
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

impl PrivateBlog {
    /// The private view of `blog` written by `author`.
    pub fn new(blog: Blog, author: AuthorView) -> Self {
        Self {
            id: blog.id.to_string(),
            title: blog.title,
            description: blog.description,
            text: blog.text,
            draft_text: blog.draft_text,
            slug: blog.slug,
            author,
            img_url: blog.img_url,
            score: blog.score,
            tags: blog.tags,
            submitted: blog.submitted,
            drafted: blog.drafted,
            published: blog.published,
            published_at: blog.published_at,
            created_at: blog.created_at,
            updated_at: blog.updated_at,
        }
    }
}
