//! Deadline-bound polling from async tests: wait on a condition, fail with a message when the
//! deadline passes. The synchronous forms are `process-kit`'s (re-exported by the crate).

use std::{future::Future, time::Duration};

use process_kit::POLL_INTERVAL;

/// The async form of [`wait_until`](crate::wait_until).
pub async fn wait_until_async<F, Fut>(
    what: &str,
    timeout: Duration,
    mut condition: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition().await {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Whether `GET <path>` on `127.0.0.1:<port>` answers 200 ([`process_kit::http_ok`], each step
/// within two seconds), asked on a blocking thread so that the runtime keeps running.
pub async fn http_ok(port: u16, path: &str) -> bool {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || process_kit::http_ok(port, &path))
        .await
        .unwrap_or(false)
}
