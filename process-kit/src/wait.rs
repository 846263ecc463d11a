//! Deadline-bound polling, and the TCP readiness probe.

use std::{
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

/// How often conditions are polled.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// How long one TCP probe may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);

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

/// Whether something accepts TCP connections on `addr` (within 200 ms).
pub fn accepts_tcp(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).is_ok()
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn listening(port: u16) -> bool {
    accepts_tcp(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Waits until something accepts TCP connections on `addr`.
pub fn wait_for_tcp(addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    wait_until(&format!("a listener on {addr}"), timeout, || {
        accepts_tcp(addr)
    })
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn a_listener_is_seen_and_a_condition_that_never_holds_times_out_naming_what() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(listening(addr.port()));
        wait_for_tcp(addr, Duration::from_secs(1)).unwrap();
        let err = wait_until("the moon", Duration::from_millis(50), || false).unwrap_err();
        assert_eq!(err.to_string(), "timed out after 50ms waiting for the moon");
    }
}
