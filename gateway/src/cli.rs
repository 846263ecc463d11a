//! The command line: `gateway [run] [--config FILE]` and `gateway check FILE` (spec gateway.md 6).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A Kong-compatible API gateway on Pingora.
#[derive(Debug, Parser)]
#[command(name = "gateway", version, about)]
pub struct Cli {
    /// What to do (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `run` when no subcommand is given.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve traffic with the given config (the default).
    Run(RunArgs),
    /// Parse and validate a config file, print every problem with its path and line; exit 0 or 1.
    Check {
        /// The declarative config file.
        file: PathBuf,
    },
}

/// Options of `run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The declarative config file (Kong format).
    #[arg(
        long,
        short = 'c',
        env = "GATEWAY_CONFIG",
        default_value = "gateway.yml"
    )]
    pub config: PathBuf,
    /// Take over the listeners of a running gateway (Pingora's graceful upgrade).
    #[arg(long, short = 'u')]
    pub upgrade: bool,
    /// Run in the background.
    #[arg(long, short = 'd')]
    pub daemon: bool,
    /// Override `_gateway.proxy_listen`.
    #[arg(long, env = "GATEWAY_PROXY_LISTEN")]
    pub proxy_listen: Option<std::net::SocketAddr>,
    /// Override `_gateway.admin_listen`.
    #[arg(long, env = "GATEWAY_ADMIN_LISTEN")]
    pub admin_listen: Option<std::net::SocketAddr>,
    /// Override `_gateway.threads`.
    #[arg(long, env = "GATEWAY_THREADS")]
    pub threads: Option<usize>,
}
