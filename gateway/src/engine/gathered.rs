//! Client TLS connections whose writes are gathered until a flush: [`GatheredWrites`], and the
//! listener app that puts every TLS connection in one ([`TlsGathering`]).
//!
//! pingora-core's HTTP/1 server writes an answer's head and then its body, each straight to the
//! stream. On a TLS stream every write is an `SSL_write` and so a TLS record of its own, and a
//! record costs OpenSSL 3 about 8k instructions whatever its size (provider look-ups, the BIO's
//! `ctrl` calls, its own allocations): a small answer cost two. Gathered here, head and body leave
//! as one record at the flush Pingora already does when an answer is complete (its cleartext
//! stream buffers writes the same way), as nginx sends them. Cleartext connections are not
//! wrapped: their socket stream buffers already.

use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Duration,
};

use async_trait::async_trait;
use pingora::{
    apps::ServerApp,
    protocols::{
        ALPN, GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl,
        Stream, TimingDigest, UniqueID, UniqueIDType,
        raw_connect::ProxyDigest,
        tls::{SslDigest, TlsRef},
    },
    server::ShutdownWatch,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::Engine;

/// Most bytes gathered before they are written on: one TLS record's worth of plaintext.
const GATHER_LIMIT: usize = 16 * 1024;
/// A connection keeps a gathering buffer up to this size between answers (most answers' heads
/// and bodies fit); a larger one is let go after its flush.
const KEPT_BUFFER: usize = 4 * 1024;

/// The engine as the listeners' app: TLS connections get their writes gathered, then the engine
/// serves them as any connection (HTTP/1 or h2 by ALPN).
pub struct TlsGathering(pub Arc<Engine>);

#[async_trait]
impl ServerApp for TlsGathering {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let stream: Stream = if stream.get_ssl().is_some() {
            Box::new(GatheredWrites::new(stream))
        } else {
            stream
        };
        ServerApp::process_new(&self.0, stream, shutdown).await
    }

    async fn cleanup(&self) {
        ServerApp::cleanup(&*self.0).await;
    }
}

/// A stream whose writes wait in a buffer until it is flushed or holds [`GATHER_LIMIT`] bytes.
#[derive(Debug)]
pub struct GatheredWrites {
    inner: Stream,
    pending: Vec<u8>,
    /// How much of `pending` the inner stream has taken.
    sent: usize,
}

impl GatheredWrites {
    fn new(inner: Stream) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            sent: 0,
        }
    }

    /// Writes what is pending to the inner stream.
    fn poll_send_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let written =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.sent..]))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += written;
        }
        if self.pending.capacity() > KEPT_BUFFER {
            self.pending = Vec::new();
        } else {
            self.pending.clear();
        }
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for GatheredWrites {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for GatheredWrites {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending.len() + buf.len() > GATHER_LIMIT {
            ready!(this.poll_send_pending(cx))?;
            if buf.len() >= GATHER_LIMIT {
                return Pin::new(&mut this.inner).poll_write(cx, buf);
            }
        }
        this.pending.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[async_trait]
impl Shutdown for GatheredWrites {
    async fn shutdown(&mut self) {
        // What is pending goes out first; a connection being closed has no one to tell of an error.
        let _ = self.flush().await;
        Shutdown::shutdown(&mut *self.inner).await;
    }
}

impl UniqueID for GatheredWrites {
    fn id(&self) -> UniqueIDType {
        self.inner.id()
    }
}

impl Ssl for GatheredWrites {
    fn get_ssl(&self) -> Option<&TlsRef> {
        self.inner.get_ssl()
    }

    fn get_ssl_digest(&self) -> Option<Arc<SslDigest>> {
        self.inner.get_ssl_digest()
    }

    fn selected_alpn_proto(&self) -> Option<ALPN> {
        self.inner.selected_alpn_proto()
    }
}

impl GetTimingDigest for GatheredWrites {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.get_timing_digest()
    }

    fn get_read_pending_time(&self) -> Duration {
        self.inner.get_read_pending_time()
    }

    fn get_write_pending_time(&self) -> Duration {
        self.inner.get_write_pending_time()
    }
}

impl GetProxyDigest for GatheredWrites {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.get_proxy_digest()
    }
}

impl GetSocketDigest for GatheredWrites {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.get_socket_digest()
    }
}

#[async_trait]
impl Peek for GatheredWrites {
    async fn try_peek(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        self.inner.try_peek(buf).await
    }
}
