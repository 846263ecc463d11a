//! The command line: `auth-service [serve]`, `auth-service keygen`, `auth-service seed [--api-key K]`
//! (the admin's password: `ADMIN_PASSWORD`, else see [`ops::AdminPassword::choose`]).

use clap::{Parser, Subcommand};
use shared::{
    config::{ConfigErrors, Env, RunMode, Source},
    shutdown::shutdown_signal,
    telemetry,
};

use crate::{
    configuration::{KeySettings, SeedSettings, Settings},
    keygen,
    ops::{self, AdminPassword, SeedPlan},
    startup, store,
};

/// What `seed` prints on stdout, followed by the password, when it created the admin with a generated
/// password (one line; scripts take what follows the prefix).
pub const GENERATED_PASSWORD_PREFIX: &str = "generated admin password: ";

/// Exit code for a bad configuration (linkerd's `EX_USAGE`).
pub const EXIT_CONFIG: u8 = 64;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(about = "gomicro-compatible auth service")]
pub struct Cli {
    /// What to do; serving is the default.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP and NATS (the default).
    Serve,
    /// Write a fresh 2048-bit RSA pair to RSA_PRIVATE_KEY_PATH / RSA_PUBLIC_KEY_PATH.
    Keygen {
        /// Replace existing key files (every token they signed stops verifying).
        #[arg(long)]
        force: bool,
    },
    /// Insert the roles, an API key and the admin user into DATABASE_URL (idempotent). The admin
    /// gets ADMIN_PASSWORD; unset, test mode uses the contract's `changeit` and any other mode a
    /// generated password, printed once on stdout (`generated admin password: ...`). An existing
    /// admin keeps its password.
    Seed {
        /// The API key to insert.
        #[arg(long, default_value = ops::DEFAULT_API_KEY)]
        api_key: String,
    },
}

/// Runs `command` with settings from the process environment over `./.env`.
pub async fn run(command: Option<Command>) -> anyhow::Result<()> {
    let env = Env::load()?;
    let mode = env
        .get("GO_MODE")
        .and_then(|mode| mode.parse().ok())
        .unwrap_or(RunMode::Debug);
    let telemetry = telemetry::init("auth-service", mode, "info");
    let result = execute(command.unwrap_or(Command::Serve), &env).await;
    telemetry.shutdown().await;
    result
}

async fn execute(command: Command, env: &Env) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = startup::build(Settings::load(env)?).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Keygen { force } => {
            let keys = KeySettings::load(env)?;
            if !force {
                keygen::refuse_to_replace(&[&keys.private_key_path, &keys.public_key_path])?;
            }
            keygen::write_pair(&keys.private_key_path, &keys.public_key_path)?;
            tracing::info!(private = %keys.private_key_path.display(), public = %keys.public_key_path.display(), "wrote a new RSA key pair");
            Ok(())
        }
        Command::Seed { api_key } => {
            let settings = SeedSettings::load(env)?;
            let store = store::connect(&settings.database.url, true).await?;
            let admin_password = AdminPassword::choose(
                settings.mode,
                settings
                    .admin_password
                    .map(|secret| secret.expose().to_owned()),
            );
            let plan = SeedPlan {
                api_key: &api_key,
                admin_password,
                bcrypt_cost: settings.database.bcrypt_cost,
            };
            let outcome = ops::seed(store.as_ref(), plan).await?;
            if let Some(password) = outcome.generated_password {
                // shown once, on stdout and never in the log, as the operator's tools print the key
                println!("{GENERATED_PASSWORD_PREFIX}{password}");
            }
            Ok(())
        }
    }
}

/// Whether `err` is a configuration problem (exit [`EXIT_CONFIG`]).
pub fn is_config_error(err: &anyhow::Error) -> bool {
    err.is::<ConfigErrors>()
}
