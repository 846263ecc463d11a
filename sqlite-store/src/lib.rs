//! `sqlite-store`: opening a service's SQLite database, one file per service shared safely by its
//! replicas on one machine (D14). The SQLite backends of `auth-service` and `blog-service`
//! (`store/sqlite.rs`) open their pool here; their queries and migrations stay with them.
//!
//! WAL lets readers and one writer work at once across processes; the busy timeout makes a writer
//! wait for the file lock instead of failing. Replicas starting together on a new file race for the
//! switch to WAL, which SQLite answers with `SQLITE_BUSY` without waiting, and their migrations race
//! the same way: [`open`] retries both, with a growing pause.
//!
//! # Layout
//! - [`open`]: the pool on `DATABASE_URL`, its directory created and the service's migrations applied.
#![forbid(unsafe_code)]

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    SqlitePool,
    migrate::Migrator,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections per process; SQLite serialises writers anyway.
const MAX_CONNECTIONS: u32 = 8;
/// Attempts at opening and migrating when replicas start together and race for the file.
const OPEN_ATTEMPTS: u32 = 8;

/// Opens (creating the file and its directory when missing) the database `url` (`sqlite://path`
/// or `sqlite::memory:`) and applies `migrator`'s migrations.
pub async fn open(url: &str, migrator: &Migrator) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("parse DATABASE_URL {url:?}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    if let Some(parent) = options.get_filename().parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("create the directory of {}", parent.display()))?;
    }
    let mut attempt = 1;
    loop {
        match open_once(&options, migrator).await {
            Ok(pool) => return Ok(pool),
            Err(err) if attempt < OPEN_ATTEMPTS => {
                tracing::warn!(error.message = %format!("{err:#}"), attempt, "opening sqlite failed, retrying");
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(err) => return Err(err).with_context(|| format!("open sqlite database {url:?}")),
        }
    }
}

async fn open_once(
    options: &SqliteConnectOptions,
    migrator: &Migrator,
) -> anyhow::Result<SqlitePool> {
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options.clone())
        .await
        .context("connect")?;
    migrator
        .run(&pool)
        .await
        .context("apply sqlite migrations")?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    static MIGRATOR: Migrator = sqlx::migrate!("./tests/fixtures/sqlite-migrations");

    #[tokio::test]
    async fn replicas_opening_a_new_file_together_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/db.sqlite", dir.path().display());
        let opens = (0..6).map(|_| open(&url, &MIGRATOR));
        let pools = futures::future::join_all(opens).await;
        for pool in pools {
            let pool = pool.expect("every replica opens the shared file");
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(mode, "wal");
            let tables: i64 =
                sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'notes'")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            assert_eq!(tables, 1);
        }
    }

    #[tokio::test]
    async fn a_file_where_the_directory_should_be_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("data");
        std::fs::write(&blocker, "not a directory").unwrap();
        let url = format!("sqlite://{}/db.sqlite", blocker.display());
        let err = open(&url, &MIGRATOR).await.unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains("create the directory"), "{message}");
        assert!(
            message.contains(&blocker.display().to_string()),
            "{message}"
        );
    }
}
