//! `cargo xtask test`: build every workspace binary (cross-process tests spawn them), then run every
//! test of the workspace.

use std::process::Command;

use crate::run;

/// Builds the binaries, then runs `cargo test --workspace` with any extra `args`.
pub fn run_all(args: &[String]) -> anyhow::Result<()> {
    for binary in ["nats-server", "redis-server"] {
        if which(binary).is_none() {
            anyhow::bail!(
                "{binary} is not installed; tests start real servers: `apt-get install -y nats-server redis-server`"
            );
        }
    }
    crate::up::ensure_build_tools()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(&cargo);
    build.args(["build", "--workspace", "--bins"]);
    run(build)?;
    let mongodb = std::env::var("MONGODB_TEST_URI").is_ok();
    if !mongodb {
        // The suites' own note goes to captured test output; say it where it is seen.
        println!(
            "MONGODB_TEST_URI is not set: the MongoDB half of the storage conformance suites is skipped \
             (it passes without running); only SQLite is checked"
        );
    }
    let mut test = Command::new(&cargo);
    test.args(["test", "--workspace"]).args(args);
    run(test)?;
    if !mongodb {
        println!("MongoDB conformance: SKIPPED (MONGODB_TEST_URI is not set)");
    }
    Ok(())
}

/// The path of `binary` on `PATH` (or in the sbin directories Debian uses for servers).
pub fn which(binary: &str) -> Option<String> {
    for dir in ["/usr/sbin", "/usr/local/sbin"] {
        let path = format!("{dir}/{binary}");
        if std::path::Path::new(&path).exists() {
            return Some(path);
        }
    }
    let output = Command::new("sh")
        .args(["-c", &format!("command -v {binary}")])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
