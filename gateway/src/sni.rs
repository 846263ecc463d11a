//! The TLS listener's handshake callback ([`SniCertificates`]): the certificate for the client's
//! SNI from whatever snapshot is current (see `tls::CertificateStore` for the choice). A reload
//! that changes a certificate serves new handshakes at once; connections already made keep the one
//! they got.

use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use openssl::ssl::NameType;
use pingora::{listeners::TlsAccept, protocols::tls::TlsRef, tls::ext};

use crate::{metrics::metrics, runtime::Runtime};

/// Pingora's certificate callback: the current snapshot's certificate for the client's SNI.
pub struct SniCertificates {
    state: Arc<ArcSwap<Runtime>>,
}

impl SniCertificates {
    /// Callbacks that read `state` at each handshake.
    pub fn new(state: Arc<ArcSwap<Runtime>>) -> Self {
        Self { state }
    }
}

#[async_trait]
impl TlsAccept for SniCertificates {
    async fn certificate_callback(&self, ssl: &mut TlsRef) {
        let runtime = self.state.load();
        let sni = ssl.servername(NameType::HOST_NAME).map(str::to_owned);
        let Some(certificate) = runtime.certificates.select(sni.as_deref()) else {
            // No certificate at all: the handshake fails for want of one.
            metrics().tls_handshake("no_certificate");
            tracing::warn!(sni = ?sni, "no certificate to serve");
            return;
        };
        metrics().tls_handshake("started");
        for (chain, key) in &certificate.pairs {
            let result = ext::ssl_use_certificate(ssl, &chain[0])
                .and_then(|()| ext::ssl_use_private_key(ssl, key))
                .and_then(|()| {
                    chain[1..]
                        .iter()
                        .try_for_each(|intermediate| ext::ssl_add_chain_cert(ssl, intermediate))
                });
            if let Err(err) = result {
                tracing::error!(certificate = %certificate.id, error.message = %err, "cannot use the certificate");
            }
        }
    }

    async fn handshake_complete_callback(
        &self,
        _ssl: &TlsRef,
    ) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        metrics().tls_handshake("completed");
        None
    }
}
