//! Hot reload (spec gateway.md section 4): the config file is re-read when it changes on disk (the
//! directory is watched, so editors that replace the file by rename work, and so does a Kubernetes
//! ConfigMap volume, whose `..data` symlink is swapped), on SIGHUP, and on request
//! of the admin API. The new file is validated and a whole new [`Runtime`] is built off the request
//! path; only then is it swapped in, atomically. A refused file changes nothing and is logged with
//! every error's path and line; [`ReloadStatus`] keeps the outcome for the admin API.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use notify::{RecursiveMode, Watcher};
use pingora::{server::ShutdownWatch, services::background::BackgroundService};
use tokio::sync::mpsc;

use crate::{
    config::{self, ConfigError, ConfigErrors, model::GatewaySettings},
    runtime::{self, Runtime},
};

/// How long file events are gathered before one reload (editors write in several steps).
const DEBOUNCE: Duration = Duration::from_millis(50);

/// What triggered a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReloadSource {
    /// The file changed on disk.
    File,
    /// SIGHUP.
    Signal,
    /// `POST /config`.
    Admin,
}

/// The outcome of the last reload attempt.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LastReload {
    /// Whether the new config is live.
    pub ok: bool,
    /// When it was attempted.
    #[serde(serialize_with = "rfc3339")]
    pub at: SystemTime,
    /// What triggered it.
    pub source: ReloadSource,
    /// Every problem, when refused.
    pub errors: Vec<ConfigError>,
}

/// Reload counters and the last outcome (admin `GET /status`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReloadStatus {
    /// Attempts, SIGHUP included even when the file is unchanged.
    pub count: u64,
    /// Refused attempts.
    pub failed: u64,
    /// The last attempt.
    pub last: Option<LastReload>,
}

fn rfc3339<S: serde::Serializer>(at: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    let formatted = time::OffsetDateTime::from(*at)
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(serde::ser::Error::custom)?;
    serializer.serialize_str(&formatted)
}

/// Loads, validates and swaps configs into the shared state.
#[derive(Debug)]
pub struct Reloader {
    path: PathBuf,
    state: Arc<ArcSwap<Runtime>>,
    status: Mutex<ReloadStatus>,
    /// `_gateway` as last read from a config (before command-line and environment overrides).
    file_settings: Mutex<GatewaySettings>,
    /// Held while a snapshot is built and stored, so two swaps never interleave.
    swapping: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// A reloader of the file at `path` into `state`; `file_settings` is the `_gateway` block the
    /// process started from, as written in the file.
    pub fn new(
        path: PathBuf,
        state: Arc<ArcSwap<Runtime>>,
        file_settings: GatewaySettings,
    ) -> Self {
        Self {
            path,
            state,
            status: Mutex::new(ReloadStatus::default()),
            file_settings: Mutex::new(file_settings),
            swapping: tokio::sync::Mutex::new(()),
        }
    }

    /// Resolves the current config's host names again and, when an address changed (a container
    /// recreated with a new IP), swaps in a snapshot rebuilt from the same config. Not a reload:
    /// the reload counters do not move.
    pub async fn refresh_addresses(&self) {
        let _swapping = self.swapping.lock().await;
        let current = self.state.load_full();
        if !runtime::has_host_names(&current.config) {
            return;
        }
        let previous = current.clone();
        let rebuilt = tokio::task::spawn_blocking(move || {
            let config = &previous.config;
            (runtime::resolve_names(config) != previous.resolved)
                .then(|| Runtime::build((**config).clone(), Some(&previous)))
        })
        .await;
        if let Ok(Some(runtime)) = rebuilt {
            tracing::info!("target addresses changed; snapshot rebuilt with the new addresses");
            self.state.store(Arc::new(runtime));
        }
    }

    /// The config file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A copy of the reload counters.
    pub fn status(&self) -> ReloadStatus {
        self.status
            .lock()
            .map(|status| status.clone())
            .unwrap_or_default()
    }

    /// Re-reads the file and swaps it in if valid.
    pub async fn reload_file(&self, source: ReloadSource) -> Result<(), ConfigErrors> {
        let path = self.path.clone();
        let loaded = tokio::task::spawn_blocking(move || config::load(&path)).await;
        let config = match loaded {
            Ok(result) => result,
            Err(join_error) => Err(ConfigErrors {
                origin: self.path.display().to_string(),
                errors: vec![ConfigError {
                    path: String::new(),
                    line: None,
                    message: format!("BUG: config loading panicked: {join_error}"),
                }],
            }),
        };
        self.apply(config, source).await
    }

    /// Swaps in `config` (already parsed) or records why it was refused.
    pub async fn apply(
        &self,
        config: Result<config::Config, ConfigErrors>,
        source: ReloadSource,
    ) -> Result<(), ConfigErrors> {
        let _swapping = self.swapping.lock().await;
        let outcome = match config {
            Ok(mut config) => {
                let current = self.state.load_full();
                {
                    let mut file_settings = self
                        .file_settings
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if config.gateway != *file_settings {
                        tracing::warn!(
                            "_gateway settings changed: listeners, threads and the access log are fixed at start; restart to apply them"
                        );
                        *file_settings = config.gateway.clone();
                    }
                }
                // The process keeps what it started with (the command line and environment too).
                config.gateway = current.config.gateway.clone();
                // DNS resolution happens while building: keep it off the async workers.
                let built =
                    tokio::task::spawn_blocking(move || Runtime::build(config, Some(&current)))
                        .await;
                match built {
                    Ok(runtime) => {
                        self.state.store(Arc::new(runtime));
                        Ok(())
                    }
                    Err(join_error) => Err(ConfigErrors {
                        origin: self.path.display().to_string(),
                        errors: vec![ConfigError {
                            path: String::new(),
                            line: None,
                            message: format!("BUG: building the snapshot panicked: {join_error}"),
                        }],
                    }),
                }
            }
            Err(errors) => Err(errors),
        };
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        status.count += 1;
        match &outcome {
            Ok(()) => {
                let runtime = self.state.load();
                tracing::info!(
                    ?source,
                    routes = runtime.config.routes.len(),
                    "config reloaded"
                );
                for warning in &runtime.config.warnings {
                    tracing::warn!(?source, %warning, "config warning");
                }
                status.last = Some(LastReload {
                    ok: true,
                    at: SystemTime::now(),
                    source,
                    errors: Vec::new(),
                });
            }
            Err(errors) => {
                status.failed += 1;
                tracing::error!(?source, errors = %errors, "config refused; the running config stays");
                status.last = Some(LastReload {
                    ok: false,
                    at: SystemTime::now(),
                    source,
                    errors: errors.errors.clone(),
                });
            }
        }
        outcome
    }
}

/// The symlink a Kubernetes ConfigMap (or Secret) volume swaps on every update.
const KUBERNETES_DATA_LINK: &str = "..data";

/// The background service that watches the file and SIGHUP.
pub struct ReloadService {
    reloader: Arc<Reloader>,
}

impl ReloadService {
    /// Reloads through `reloader`.
    pub fn new(reloader: Arc<Reloader>) -> Self {
        Self { reloader }
    }
}

#[async_trait]
impl BackgroundService for ReloadService {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let (events_tx, mut events) = mpsc::unbounded_channel::<()>();
        let file_name = self.reloader.path.file_name().map(ToOwned::to_owned);
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // The file itself, or Kubernetes' `..data` symlink: a ConfigMap volume is updated by
            // swapping `..data` to a new directory, and the file (`gateway.yml ->
            // ..data/gateway.yml`) sees no event of its own.
            if let Ok(event) = event
                && !event.kind.is_access()
                && event.paths.iter().any(|path| {
                    path.file_name() == file_name.as_deref()
                        || path.file_name() == Some(std::ffi::OsStr::new(KUBERNETES_DATA_LINK))
                })
            {
                let _ = events_tx.send(());
            }
        });
        let directory = match self.reloader.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let _watcher = match watcher {
            Ok(mut watcher) => match watcher.watch(&directory, RecursiveMode::NonRecursive) {
                Ok(()) => Some(watcher),
                Err(err) => {
                    tracing::error!(error.message = %err, dir = %directory.display(), "cannot watch the config directory; reload with SIGHUP");
                    None
                }
            },
            Err(err) => {
                tracing::error!(error.message = %err, "cannot start the file watcher; reload with SIGHUP");
                None
            }
        };
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            Ok(signal) => Some(signal),
            Err(err) => {
                tracing::error!(error.message = %err, "cannot listen for SIGHUP");
                None
            }
        };
        tracing::info!(file = %self.reloader.path.display(), "watching the config for changes");
        let refresh_every = self.reloader.state.load().config.gateway.dns_refresh;
        let mut refresh = tokio::time::interval(if refresh_every.is_zero() {
            Duration::from_secs(u64::from(u32::MAX))
        } else {
            refresh_every
        });
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        refresh.reset();
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = refresh.tick(), if !refresh_every.is_zero() => {
                    self.reloader.refresh_addresses().await;
                }
                Some(()) = events.recv() => {
                    // Gather the burst of events one save makes, then reload once.
                    tokio::time::sleep(DEBOUNCE).await;
                    while events.try_recv().is_ok() {}
                    let _ = self.reloader.reload_file(ReloadSource::File).await;
                }
                Some(()) = async {
                    match hangup.as_mut() {
                        Some(signal) => signal.recv().await,
                        None => std::future::pending().await,
                    }
                } => {
                    let _ = self.reloader.reload_file(ReloadSource::Signal).await;
                }
            }
        }
    }
}
