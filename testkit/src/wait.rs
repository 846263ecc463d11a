//! Deadline-bound polling: wait on a condition, fail with a message when the deadline passes.

use std::{
    future::Future,
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

/// How often conditions are polled.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Polls `condition` until it returns true; `Err` naming `what` when `timeout` passes first.
pub fn wait_until(
    what: &str,
    timeout: Duration,
    mut condition: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            anyhow::bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// The async form of [`wait_until`].
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

/// Waits until something accepts TCP connections on `addr`.
pub fn wait_for_tcp(addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    wait_until(&format!("a listener on {addr}"), timeout, || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    })
}
