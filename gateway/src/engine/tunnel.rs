//! An upgraded connection (WebSocket): after the upstream's `101`, bytes are piped both ways
//! until either side closes or fails, or nothing moves for the service's read timeout.
//!
//! Unlike pingora-proxy 0.9.1 (cloudflare/pingora#946), the end of the upgrade request's own
//! (empty) body never ends the tunnel: the request body is not read before the `101`, and after
//! it the client codec reads the client's bytes until the client closes.

use std::time::Duration;

use pingora::protocols::http::{ServerSession, v1::client::HttpSession};

/// Bytes moved through a tunnel.
#[derive(Debug, Default, Clone, Copy)]
pub struct Moved {
    /// From the client to the upstream.
    pub up: usize,
    /// From the upstream to the client.
    pub down: usize,
}

/// Pipes `client` and `upstream` into each other until one of them closes, fails, or both stay
/// silent for `idle`.
pub async fn pipe(client: &mut ServerSession, upstream: &mut HttpSession, idle: Duration) -> Moved {
    upstream.maybe_upgrade_body_writer();
    // The idle timer below covers both directions: a tunnel where only the client talks is
    // not idle.
    upstream.read_timeout = None;
    let mut moved = Moved::default();
    loop {
        tokio::select! {
            from_client = client.read_request_body() => {
                let Ok(Some(bytes)) = from_client else { break };
                moved.up += bytes.len();
                if !bytes.is_empty() && upstream.write_body(&bytes).await.is_err() {
                    break;
                }
            }
            from_upstream = upstream.read_body_bytes() => {
                let Ok(Some(bytes)) = from_upstream else { break };
                moved.down += bytes.len();
                if !bytes.is_empty() && client.write_response_body(bytes, false).await.is_err() {
                    break;
                }
            }
            () = tokio::time::sleep(idle) => break,
        }
    }
    upstream.shutdown().await;
    moved
}
