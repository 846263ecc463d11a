//! `cargo xtask test`: build every workspace binary (cross-process tests spawn them), then run every
//! test of the workspace.

use std::process::Command;

use process_kit::{Infra, which};

use crate::{apt::ensure_build_tools, run};

/// Builds the binaries, then runs `cargo test --workspace` with any extra `args`.
pub fn run_all(args: &[String]) -> anyhow::Result<()> {
    for binary in [Infra::Nats.binary(), Infra::Redis.binary()] {
        if which(binary).is_none() {
            anyhow::bail!(
                "{binary} is not installed; tests start real servers: `apt-get install -y nats-server redis-server`"
            );
        }
    }
    ensure_build_tools()?;
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
