//! TLS on both sides. Upstream: [`UpstreamTlsRuntime`], an `https` service's verification
//! settings, CAs and client certificate, parsed once per snapshot, and [`probe_connector`], the
//! TLS client of an upstream's `https` health probes. Downstream, the TLS listener's
//! certificates: a [`CertificateStore`] per config snapshot (built with the runtime snapshot;
//! `crate::sni` picks from the current one at each handshake).
//!
//! Choice (Kong's order): the exact name, then a leading wildcard (`*.example.com` for
//! `a.example.com`, one label), then a trailing one (`example.*`), else the default certificate
//! (also for clients that send no SNI). A TLS listener without any certificate serves a
//! self-signed one made once at start (`localhost`, `127.0.0.1`, `::1`), as Kong does.

use std::{
    collections::HashMap,
    hash::{BuildHasher, Hash, Hasher},
    sync::{Arc, OnceLock},
};

use openssl::{
    asn1::Asn1Time,
    bn::{BigNum, MsbOption},
    ec::{EcGroup, EcKey},
    error::ErrorStack,
    hash::MessageDigest,
    nid::Nid,
    pkey::{PKey, Private},
    ssl::{SslConnector, SslMethod, SslVerifyMode},
    x509::{X509, X509NameBuilder, extension::SubjectAlternativeName},
};
use pingora::{protocols::tls::CaType, utils::tls::CertKey};

use crate::config::{
    model::{ActiveHealthcheck, Config, ProbeKind, ServiceTarget, UpstreamTls},
    tls as pem,
};

/// An `https` service's TLS to its targets, ready for Pingora's connector.
#[derive(Debug)]
pub struct UpstreamTlsRuntime {
    /// Verify the certificate chain and the name (the SNI).
    pub verify: bool,
    /// The CAs to verify against; `None`: the system's store.
    pub ca: Option<Arc<CaType>>,
    /// The client certificate (mTLS).
    pub client: Option<Arc<CertKey>>,
    /// Tells pooled connections of different TLS settings apart (never 0, cleartext's key).
    pub pool_key: u64,
}

impl UpstreamTlsRuntime {
    /// Parses `tls`'s CAs and client certificate (validated, so they parse).
    pub fn build(tls: &UpstreamTls, config: &Config) -> Self {
        let ca: Vec<X509> = tls
            .ca_certificates
            .iter()
            .filter_map(|pem| pem::parse_chain(pem).ok())
            .flatten()
            .collect();
        let client = tls
            .client_certificate
            .and_then(|index| config.certificates.get(index))
            .and_then(|certificate| {
                let chain = pem::parse_chain(&certificate.cert).ok()?;
                let key = pem::parse_key(certificate.key.expose()).ok()?;
                Some(Arc::new(CertKey::new(chain, key)))
            });
        let mut hasher = foldhash::quality::FixedState::default().build_hasher();
        tls.hash(&mut hasher);
        let client_pem = tls
            .client_certificate
            .and_then(|index| config.certificates.get(index))
            .map(|certificate| certificate.cert.as_str());
        client_pem.hash(&mut hasher);
        Self {
            verify: tls.verify,
            ca: (!ca.is_empty()).then(|| Arc::new(ca.into_boxed_slice())),
            client,
            pool_key: hasher.finish() | 1,
        }
    }
}

/// The TLS client of the `https` probes of upstream `upstream` (its index), `None` unless its
/// probes are `https`. With `https_verify_certificate` (the default), the target's chain must reach
/// the system's CAs or the `ca_certificates` of the services balanced over this upstream (what
/// their own requests trust); the first client certificate of those services is sent (mTLS
/// targets). The probe itself chooses the SNI and the verified name.
pub fn probe_connector(
    upstream: usize,
    active: &ActiveHealthcheck,
    config: &Config,
) -> Option<Arc<SslConnector>> {
    if active.kind != ProbeKind::Https {
        return None;
    }
    let services: Vec<&UpstreamTls> = config
        .services
        .iter()
        .filter(
            |service| matches!(service.target, ServiceTarget::Upstream(index) if index == upstream),
        )
        .filter_map(|service| service.tls.as_ref())
        .collect();
    let build = || -> Result<SslConnector, ErrorStack> {
        let mut builder = SslConnector::builder(SslMethod::tls_client())?;
        if active.https_verify_certificate {
            let cas = services
                .iter()
                .flat_map(|tls| &tls.ca_certificates)
                .filter_map(|pem| pem::parse_chain(pem).ok())
                .flatten();
            for ca in cas {
                // The same CA named by two services is already in the store: not an error.
                let _ = builder.cert_store_mut().add_cert(ca);
            }
        } else {
            builder.set_verify(SslVerifyMode::NONE);
        }
        let client = services
            .iter()
            .find_map(|tls| tls.client_certificate)
            .and_then(|index| config.certificates.get(index));
        if let Some(certificate) = client
            && let Ok(chain) = pem::parse_chain(&certificate.cert)
            && let Ok(key) = pem::parse_key(certificate.key.expose())
            && let Some((leaf, intermediates)) = chain.split_first()
        {
            builder.set_certificate(leaf)?;
            for intermediate in intermediates {
                builder.add_extra_chain_cert(intermediate.clone())?;
            }
            builder.set_private_key(&key)?;
        }
        Ok(builder.build())
    };
    match build() {
        Ok(connector) => Some(Arc::new(connector)),
        Err(err) => {
            tracing::error!(upstream = upstream, error = %err, "cannot set up TLS for https probes; they count as failures");
            None
        }
    }
}

/// One certificate ready to serve: chains and keys parsed once per snapshot.
pub struct ServedCertificate {
    /// The id it has in the config.
    pub id: String,
    /// Each key type's chain (leaf first) and key: the certificate, then its `cert_alt`.
    pub pairs: Vec<(Vec<X509>, PKey<Private>)>,
}

/// The certificates of one snapshot, by the names they serve.
#[derive(Default)]
pub struct CertificateStore {
    exact: HashMap<String, Arc<ServedCertificate>>,
    /// `*.example.com` under `example.com`.
    leading_wildcard: HashMap<String, Arc<ServedCertificate>>,
    /// `example.*` under `example`.
    trailing_wildcard: HashMap<String, Arc<ServedCertificate>>,
    default: Option<Arc<ServedCertificate>>,
}

impl std::fmt::Debug for CertificateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateStore")
            .field("exact", &self.exact.keys().collect::<Vec<_>>())
            .field(
                "leading_wildcard",
                &self.leading_wildcard.keys().collect::<Vec<_>>(),
            )
            .field(
                "trailing_wildcard",
                &self.trailing_wildcard.keys().collect::<Vec<_>>(),
            )
            .field("default", &self.default.as_ref().map(|served| &served.id))
            .finish()
    }
}

impl CertificateStore {
    /// Parses the certificates of `config` (validated, so they parse).
    pub fn build(config: &Config) -> Self {
        let mut store = Self::default();
        for (index, certificate) in config.certificates.iter().enumerate() {
            let mut pairs = Vec::new();
            let alt = certificate
                .alt
                .as_ref()
                .map(|(cert, key)| (cert.as_str(), key.expose()));
            for (cert, key) in
                std::iter::once((certificate.cert.as_str(), certificate.key.expose())).chain(alt)
            {
                match (pem::parse_chain(cert), pem::parse_key(key)) {
                    (Ok(chain), Ok(key)) => pairs.push((chain, key)),
                    (Err(message), _) | (_, Err(message)) => {
                        tracing::error!(certificate = %certificate.id, %message, "BUG: a validated certificate does not parse");
                    }
                }
            }
            if pairs.is_empty() {
                continue;
            }
            let served = Arc::new(ServedCertificate {
                id: certificate.id.clone(),
                pairs,
            });
            for sni in &certificate.snis {
                if let Some(domain) = sni.strip_prefix("*.") {
                    store
                        .leading_wildcard
                        .insert(domain.to_owned(), served.clone());
                } else if let Some(prefix) = sni.strip_suffix(".*") {
                    store
                        .trailing_wildcard
                        .insert(prefix.to_owned(), served.clone());
                } else {
                    store.exact.insert(sni.clone(), served.clone());
                }
            }
            if config.default_certificate == Some(index) {
                store.default = Some(served);
            }
        }
        if store.default.is_none() && config.gateway.proxy_listen_tls.is_some() {
            store.default = self_signed_default();
        }
        store
    }

    /// The certificate for `sni` (any case), else the default.
    pub fn select(&self, sni: Option<&str>) -> Option<&Arc<ServedCertificate>> {
        let by_name = sni.map(str::to_ascii_lowercase).and_then(|name| {
            let name = name.trim_end_matches('.');
            self.exact
                .get(name)
                .or_else(|| {
                    let (_, domain) = name.split_once('.')?;
                    self.leading_wildcard.get(domain)
                })
                .or_else(|| {
                    let (prefix, _) = name.rsplit_once('.')?;
                    self.trailing_wildcard.get(prefix)
                })
        });
        by_name.or(self.default.as_ref())
    }
}

/// The self-signed certificate of a TLS listener without certificates: made once per process.
fn self_signed_default() -> Option<Arc<ServedCertificate>> {
    static GENERATED: OnceLock<Option<Arc<ServedCertificate>>> = OnceLock::new();
    GENERATED
        .get_or_init(|| match self_signed("localhost") {
            Ok(pair) => {
                tracing::warn!(
                    "the TLS listener has no certificate: serving a self-signed one for localhost"
                );
                Some(Arc::new(ServedCertificate {
                    id: "self-signed".to_owned(),
                    pairs: vec![pair],
                }))
            }
            Err(err) => {
                tracing::error!(error.message = %err, "cannot make a self-signed certificate");
                None
            }
        })
        .clone()
}

/// A self-signed P-256 certificate for `name` (and the loopback addresses), valid for a year.
fn self_signed(name: &str) -> Result<(Vec<X509>, PKey<Private>), ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
    let mut subject = X509NameBuilder::new()?;
    subject.append_entry_by_nid(Nid::COMMONNAME, name)?;
    let subject = subject.build();
    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&subject)?;
    builder.set_issuer_name(&subject)?;
    builder.set_pubkey(&key)?;
    let (not_before, not_after) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(365)?);
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    let san = SubjectAlternativeName::new()
        .dns(name)
        .ip("127.0.0.1")
        .ip("::1")
        .build(&builder.x509v3_context(None, None))?;
    builder.append_extension(san)?;
    builder.sign(&key, MessageDigest::sha256())?;
    Ok((vec![builder.build()], key))
}
