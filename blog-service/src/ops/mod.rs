//! Use cases of the blog service, called by the HTTP handlers. Each returns a view or an
//! [`OpsError`] carrying the contract's message.

mod author;
mod editor;
mod error;
mod health;
mod public;
mod view;

pub use author::{
    Caller, create_blog, delete_blog, get_author_blog, list_author_blogs, set_submitted,
    update_blog,
};
pub use editor::{get_editor_blog, list_editor_blogs, publish_blog, unpublish_blog};
pub use error::OpsError;
pub use public::{PublicKey, get_public_blog, list_public_blogs, list_similar_blogs};
pub use view::{AuthorView, ItemBlog, PrivateBlog, PublicBlog};

use crate::{cache, domain::Blog, state::AppState};

/// D3: after a write that may change what the public sees, drop the blog's id and slug entries
/// (and any former slug) and move similar lists to a new generation.
async fn invalidate_public(state: &AppState, blog: &Blog, other_slug: Option<&str>) {
    let mut keys = vec![
        cache::blog_id_key(blog.id.as_str()),
        cache::blog_slug_key(&blog.slug),
    ];
    keys.extend(other_slug.map(cache::blog_slug_key));
    if !state.cache.invalidate(&keys).await {
        tracing::error!(blog_id = %blog.id, "cache invalidation failed; entries expire by TTL");
    }
}
