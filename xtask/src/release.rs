//! The release binaries the local stack and the bench run: building them, and where they are.

use std::{path::PathBuf, process::Command};

use crate::{apt::ensure_build_tools, run, workspace_root};

/// `cargo build --release` of the three binaries, plus `extra` arguments.
pub(crate) fn build_release(extra: &[&str]) -> anyhow::Result<()> {
    ensure_build_tools()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(&cargo);
    build
        .args([
            "build",
            "--release",
            "-p",
            "gateway",
            "-p",
            "auth-service",
            "-p",
            "blog-service",
        ])
        .args(extra);
    run(build)
}

/// The path of a release binary in the target directory.
pub(crate) fn release_bin(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    let target = if target.is_relative() {
        workspace_root().join(target)
    } else {
        target
    };
    target.join("release").join(name)
}
