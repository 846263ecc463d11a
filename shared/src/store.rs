//! [`StoreError`]: how a store call of either service fails, whichever backend (SQLite, MongoDB)
//! answered. The stores themselves (traits, backends, queries) are each service's.

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated; the text names it (auth's `email`, blog's `slug`).
    #[error("duplicate {0}")]
    Conflict(&'static str),
    /// The database failed or is unreachable.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;
