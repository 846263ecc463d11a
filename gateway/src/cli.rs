//! The command line: `gateway [run] [--config FILE]` and `gateway check FILE` (spec gateway.md 6).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A Kong-compatible API gateway on Pingora.
#[derive(Debug, Parser)]
// `gateway -c FILE run` would otherwise parse `-c` into the top-level options and then run with
// `run`'s own default file; now it is refused (options go after `run`, or without it).
#[command(
    name = "gateway",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
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
    /// Override `_gateway.proxy_listen_tls` (a TLS listener).
    #[arg(long, env = "GATEWAY_PROXY_LISTEN_TLS")]
    pub proxy_listen_tls: Option<std::net::SocketAddr>,
    /// Override `_gateway.admin_listen`.
    #[arg(long, env = "GATEWAY_ADMIN_LISTEN")]
    pub admin_listen: Option<std::net::SocketAddr>,
    /// Override `_gateway.threads`.
    #[arg(long, env = "GATEWAY_THREADS")]
    pub threads: Option<usize>,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn config_of(args: &[&str]) -> Result<PathBuf, clap::Error> {
        let cli = Cli::try_parse_from(args)?;
        Ok(match cli.command {
            Some(Command::Run(run)) => run.config,
            Some(Command::Check { file }) => file,
            None => cli.run.config,
        })
    }

    #[test]
    fn the_config_file_is_taken_with_or_without_run() {
        assert_eq!(
            config_of(&["gateway", "-c", "a.yml"]).unwrap(),
            PathBuf::from("a.yml")
        );
        assert_eq!(
            config_of(&["gateway", "run", "-c", "b.yml"]).unwrap(),
            PathBuf::from("b.yml")
        );
        assert_eq!(
            config_of(&["gateway", "check", "c.yml"]).unwrap(),
            PathBuf::from("c.yml")
        );
    }

    #[test]
    fn options_before_a_subcommand_are_refused_rather_than_ignored() {
        let error = config_of(&["gateway", "-c", "a.yml", "run"]).unwrap_err();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::ArgumentConflict,
            "{error}"
        );
    }
}
