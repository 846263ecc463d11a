//! What the tooling needs from Debian: found on this machine, or installed with `apt-get` when
//! running as root, else named with the command that installs it.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use process_kit::which;

use crate::run;

/// The path of `binary`; installs its Debian package when missing and running as root.
pub(crate) fn ensure_installed(binary: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = which(binary) {
        return Ok(path);
    }
    apt_install(&[binary])?;
    which(binary).ok_or_else(|| anyhow::anyhow!("{binary} still missing after apt-get"))
}

/// What building the workspace needs from Debian: cmake (Pingora's zlib-ng), pkg-config and
/// libssl-dev (the gateway's TLS links the system's OpenSSL). Installs what is missing when root,
/// else says what to install.
pub(crate) fn ensure_build_tools() -> anyhow::Result<()> {
    let missing: Vec<&str> = [
        ("cmake", which("cmake").is_some()),
        ("pkg-config", which("pkg-config").is_some()),
        (
            "libssl-dev",
            Path::new("/usr/include/openssl/ssl.h").exists(),
        ),
    ]
    .into_iter()
    .filter(|(_, present)| !present)
    .map(|(package, _)| package)
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing)
}

/// `apt-get install` of `packages` when running as root; otherwise an error naming the command.
fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    let list = packages.join(" ");
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0"));
    anyhow::ensure!(
        is_root,
        "{list} not installed and this is not root: run `sudo apt-get install -y {list}`"
    );
    println!("{list} not installed: installing with apt-get (root)…");
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    run(update)?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-qq"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive");
    run(install)
}
