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
    Bench {
        /// Workers of every proxy: nginx worker_processes, HAProxy nbthread, gateway threads.
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Rounds; each runs every target once, in turn.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Length of one measurement (10s, 500ms, 1m).
        #[arg(long, default_value = "10s", value_parser = xtask::bench::parse_duration)]
        duration: std::time::Duration,
        /// oha's concurrent connections.
        #[arg(long, default_value_t = 50)]
        connections: usize,
        /// A fast check: 3 s runs, one round; results go to loadtest/results/tmp/.
        #[arg(long)]
        quick: bool,
        /// Use the release binaries already built.
        #[arg(long)]
        no_build: bool,
        /// Skip the end-to-end blog reads (no NATS, Redis or services).
        #[arg(long)]
        no_blog: bool,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Test { args } => xtask::test::run_all(&args),
        Command::Up { mongodb_url } => xtask::up::up(&xtask::up::UpOptions { mongodb_url }),
        Command::Bench {
            workers,
            rounds,
            duration,
            connections,
            quick,
            no_build,
            no_blog,
        } => {
            anyhow::ensure!(
                workers > 0 && rounds > 0 && connections > 0,
                "--workers, --rounds and --connections must be at least 1"
            );
            let options = xtask::bench::BenchOptions {
                workers,
                rounds,
                duration,
                connections,
                quick,
                no_build,
                no_blog,
            };
            xtask::bench::bench(&options.quick())
        }
    }
}
