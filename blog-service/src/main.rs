//! Entry point: `blog-service [serve]`.

use blog_service::{configuration::Settings, startup};
use clap::{Parser, Subcommand};
use shared::{
    config::{Env, RunMode, Source},
    shutdown::shutdown_signal,
    telemetry,
};

#[derive(Parser)]
#[command(about = "gomicro-compatible blog service")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let (Some(Command::Serve) | None) = Cli::parse().command;
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) if err.is::<shared::config::ConfigErrors>() => {
            eprintln!("blog-service: {err}");
            std::process::ExitCode::from(64)
        }
        Err(err) => {
            eprintln!("blog-service: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let env = Env::load()?;
    let mode = env
        .get("GO_MODE")
        .and_then(|m| m.parse().ok())
        .unwrap_or(RunMode::Debug);
    let telemetry = telemetry::init("blog-service", mode, "info");
    let served = async {
        let app = startup::build(Settings::load(&env)?).await?;
        app.run_until_stopped(shutdown_signal()).await
    }
    .await;
    telemetry.shutdown().await;
    served
}
