//! Domain types of the blog service: parsed on construction, no IO.
//!
//! Validation texts are the contract's (spec `api.md` 0.4-0.6, 1.3), so the HTTP layer only maps a
//! parse error to a 400.

mod blog;
mod page;
mod slug;
mod timestamp;
mod validate;

pub use blog::{Blog, BlogEdit, NewBlog};
pub use page::Page;
pub use shared::id::{Id, IdError};
pub use slug::{Slug, normalise_slug};
pub use timestamp::Timestamp;
pub use validate::{TextRules, Violations, is_uppercase, is_valid_uri};
