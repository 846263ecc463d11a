//! One run of a load generator (oha, h2load): waiting for it to end while the process under
//! test is sampled, and stopping it on Ctrl-C.

use std::{
    process::{Child, ExitStatus},
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

/// Waits for a load generator's `child` to end, calling `tick` every 100 ms (to sample the process
/// under test); kills it and returns an error when `stop` is set (Ctrl-C).
pub fn wait_for_load(
    child: &mut Child,
    stop: &AtomicBool,
    tick: &mut dyn FnMut(),
) -> anyhow::Result<ExitStatus> {
    loop {
        if stop.load(Ordering::SeqCst) {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("interrupted");
        }
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        tick();
        std::thread::sleep(Duration::from_millis(100));
    }
}
