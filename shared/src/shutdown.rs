//! Starting and stopping a service: the shutdown signal (Ctrl-C or SIGTERM), binding the HTTP
//! listener, and serving HTTP and NATS until the signal, then draining both.

/// Resolves when the process is asked to stop (SIGINT or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error.message = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error.message = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("received Ctrl-C, shutting down"),
        () = terminate => tracing::info!("received SIGTERM, shutting down"),
    }
}

/// Binds the HTTP listener on `host:port` (port 0 picks a free one); returns it with its port.
pub async fn bind_http(host: &str, port: u16) -> anyhow::Result<(tokio::net::TcpListener, u16)> {
    use anyhow::Context;
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .with_context(|| format!("bind {host}:{port}"))?;
    let port = listener
        .local_addr()
        .context("read the bound address")?
        .port();
    tracing::info!(port, "listening");
    Ok((listener, port))
}

/// Serves `router` on `listener` and the NATS `micro` service until `shutdown` resolves, then stops
/// both gracefully: HTTP drains its connections while NATS drains in-flight requests.
pub async fn serve_until_stopped(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    micro: crate::nats::MicroService,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let stop = tokio_util::sync::CancellationToken::new();
    let trigger = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        trigger.cancel();
    });
    let http = axum::serve(listener, router).with_graceful_shutdown(stop.clone().cancelled_owned());
    let nats = async move {
        stop.cancelled().await;
        micro.shutdown().await;
    };
    let (http, ()) = tokio::join!(http, nats);
    http.context("serve HTTP")?;
    tracing::info!("stopped");
    Ok(())
}
