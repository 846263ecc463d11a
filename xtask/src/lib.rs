//! `cargo xtask`: developer tooling for this workspace (never shipped).
//!
//! Finding programs, free ports, probes and the nats/redis command lines come from `process-kit`,
//! shared with `testkit`.
//!
//! # Layout
//! - [`test`]: the README's test command — builds every binary, then runs every test.
//! - [`up`]: the whole local stack (gateway, 2 auth + 2 blog replicas, NATS, Redis), seeded.
//! - [`bench`]: the side-by-side benchmark (gateway, nginx, HAProxy, bare Pingora) and its results.
//! - `stack`: the services of a stack (NATS, Redis, keys, seed, replicas), for `up` and `bench`.
//! - `children`: the processes xtask starts: logs, restarts, stopping them.
//! - `release`: building and finding the release binaries.
//! - `apt`: Debian packages the tooling needs, installed when root.
#![forbid(unsafe_code)]

mod apt;
pub mod bench;
mod children;
mod release;
mod stack;
pub mod test;
pub mod up;

use std::{path::PathBuf, process::Command};

/// The workspace root (the parent of this crate's manifest directory). `cargo run` sets
/// `CARGO_MANIFEST_DIR` for the running process; it wins over the compile-time value so that a
/// binary built from another checkout sharing the target dir still works on this one.
pub fn workspace_root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest
        .parent()
        .map(PathBuf::from)
        .expect("BUG: xtask lives one level below the workspace root")
}

/// Runs `command` in the workspace root, failing with its exit status.
pub fn run(mut command: Command) -> anyhow::Result<()> {
    command.current_dir(workspace_root());
    let status = command
        .status()
        .map_err(|err| anyhow::anyhow!("cannot run {command:?}: {err}"))?;
    anyhow::ensure!(status.success(), "{command:?} failed with {status}");
    Ok(())
}
