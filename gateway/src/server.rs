//! Assembles and runs the Pingora server, and implements `gateway check`.
//!
//! Pingora's `run_forever` may fork and never returns: nothing here starts a thread or a runtime
//! before it (style.md), and every background job is a Pingora service.

use std::{path::Path, process::ExitCode, sync::Arc};

use arc_swap::ArcSwap;
use pingora::{
    listeners::tls::TlsSettings,
    server::{
        Server,
        configuration::{Opt, ServerConf},
    },
    services::{background::background_service, listening::Service},
};

use crate::{
    access_log::AccessLog,
    admin::AdminService,
    cli::RunArgs,
    config::{self, model::GatewaySettings},
    engine::{Engine, TlsGathering},
    health::HealthChecker,
    reload::{ReloadService, Reloader},
    runtime::Runtime,
    sni::SniCertificates,
};

/// Exit status for an unusable config at start (EX_CONFIG).
const EXIT_CONFIG: u8 = 78;

/// `gateway check FILE`: prints every problem; 0 when valid, 1 otherwise.
pub fn check(file: &Path) -> ExitCode {
    match config::load(file) {
        Ok(config) => {
            println!(
                "{}: ok ({} services, {} routes, {} upstreams, {} plugins)",
                file.display(),
                config.services.len(),
                config.routes.len(),
                config.upstreams.len(),
                config.plugins.len()
            );
            for warning in &config.warnings {
                println!("warning: {warning}");
            }
            for service in &config.services {
                if let config::model::ServiceTarget::Host { host, port } = &service.target
                    && crate::runtime::resolve(host, *port).is_none()
                {
                    println!(
                        "warning: service {:?}: host {host:?} does not resolve here; requests get 503 until it does",
                        service.name
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(1)
        }
    }
}

/// `gateway run`: serves until stopped. Returns only when the config cannot be used.
pub fn run(args: &RunArgs) -> ExitCode {
    let mut config = match config::load(&args.config) {
        Ok(config) => config,
        Err(errors) => {
            tracing::error!(errors = %errors, "cannot start");
            eprintln!("{errors}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let file_settings = config.gateway.clone();
    apply_command_line(args, &mut config.gateway);
    let settings = config.gateway.clone();
    for warning in &config.warnings {
        tracing::warn!(%warning, "config warning");
    }
    let runtime = Runtime::build(config, None);
    tracing::info!(
        routes = runtime.config.routes.len(),
        services = runtime.config.services.len(),
        upstreams = runtime.config.upstreams.len(),
        "config loaded"
    );
    let state = Arc::new(ArcSwap::from_pointee(runtime));
    let mut server = pingora_server(args, &settings);
    let proxy = match proxy_service(&state, &settings) {
        Ok(proxy) => proxy,
        Err(err) => {
            tracing::error!(error.message = %err, "cannot set up TLS");
            eprintln!("cannot set up TLS: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    server.add_service(proxy);
    let reloader = Arc::new(Reloader::new(
        args.config.clone(),
        state.clone(),
        file_settings,
    ));
    server.add_service(background_service(
        "config reload",
        ReloadService::new(reloader.clone()),
    ));
    server.add_service(background_service(
        "health checks",
        HealthChecker::new(state.clone()),
    ));
    server.add_service(background_service(
        "admin API",
        AdminService::new(settings.admin_listen, state, reloader),
    ));

    tracing::info!(proxy = %settings.proxy_listen, proxy_tls = ?settings.proxy_listen_tls, admin = %settings.admin_listen, threads = settings.threads, "gateway starting");
    server.run_forever()
}

/// The command line's listeners and threads over the file's.
fn apply_command_line(args: &RunArgs, settings: &mut GatewaySettings) {
    if let Some(listen) = args.proxy_listen {
        settings.proxy_listen = listen;
    }
    if let Some(listen) = args.proxy_listen_tls {
        settings.proxy_listen_tls = Some(listen);
    }
    if let Some(listen) = args.admin_listen {
        settings.admin_listen = listen;
    }
    if let Some(threads) = args.threads.filter(|threads| *threads > 0) {
        settings.threads = threads;
    }
}

/// Pingora's server: worker threads, graceful shutdown and upgrade, daemon mode.
fn pingora_server(args: &RunArgs, settings: &GatewaySettings) -> Server {
    let mut conf = ServerConf {
        threads: settings.threads,
        grace_period_seconds: Some(5),
        graceful_shutdown_timeout_seconds: Some(5),
        ..ServerConf::default()
    };
    conf.daemon = args.daemon;
    let opt = Opt {
        upgrade: args.upgrade,
        daemon: args.daemon,
        ..Opt::default()
    };
    let mut server = Server::new_with_opt_and_conf(opt, conf);
    server.bootstrap();
    server
}

/// The proxy's listeners (cleartext, and TLS with HTTP/2 when configured) on the engine.
fn proxy_service(
    state: &Arc<ArcSwap<Runtime>>,
    settings: &GatewaySettings,
) -> Result<Service<TlsGathering>, Box<pingora::Error>> {
    let access_log = AccessLog::new(settings.access_log.clone(), !cfg!(debug_assertions));
    let engine = Engine::new(state.clone(), settings, Arc::new(access_log));
    let mut proxy = Service::new("proxy".to_owned(), TlsGathering(Arc::new(engine)));
    proxy.add_tcp(&settings.proxy_listen.to_string());
    if let Some(listen_tls) = settings.proxy_listen_tls {
        let mut tls = TlsSettings::with_callbacks(Box::new(SniCertificates::new(state.clone())))?;
        tls.enable_h2();
        proxy.add_tls_with_settings(&listen_tls.to_string(), None, tls);
    }
    Ok(proxy)
}
