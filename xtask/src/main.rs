//! `cargo xtask <command>` (alias in `.cargo/config.toml`).

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Developer tooling for the gateway workspace")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build every binary, then run every test (extra arguments go to `cargo test`).
    Test {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run the whole local stack: gateway on :8000, 2 auth + 2 blog replicas, seeded.
    Up {
        /// Run the services on this MongoDB (e.g. mongodb://localhost:27017) instead of SQLite.
        #[arg(long)]
        mongodb_url: Option<String>,
    },
    /// Benchmark the gateway side by side with nginx and HAProxy; writes loadtest/results/<date>.md
    /// and a PNG chart beside it.
    Bench(xtask::bench::BenchOptions),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Test { args } => xtask::test::run_all(&args),
        Command::Up { mongodb_url } => xtask::up::up(&xtask::up::UpOptions { mongodb_url }),
        Command::Bench(options) => {
            anyhow::ensure!(
                options.workers > 0 && options.rounds > 0 && options.connections > 0,
                "--workers, --rounds and --connections must be at least 1"
            );
            xtask::bench::bench(&options.quick())
        }
    }
}
