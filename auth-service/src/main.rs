//! Entry point: parse the command line, run it, map errors to exit codes.

use std::process::ExitCode;

use auth_service::cli::{self, Cli, EXIT_CONFIG};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if cli::is_config_error(&err) => {
            // every problem at once, one per line (shared::config::ConfigErrors)
            eprintln!("auth-service: {err}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(err) => {
            eprintln!("auth-service: {err:#}");
            ExitCode::FAILURE
        }
    }
}
