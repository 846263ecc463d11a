//! The HTTPS groups' certificate: one self-signed ECDSA P-256 certificate for `localhost` and
//! 127.0.0.1, made with `openssl` under the bench's work directory at each run (never committed)
//! and served by every proxy of those groups, so they all do the same cryptography.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

/// The certificate's files, and its PEM text for the gateway's inline `certificates`.
#[derive(Debug, Clone)]
pub struct BenchCertificate {
    /// The certificate, PEM (nginx `ssl_certificate`).
    pub cert: PathBuf,
    /// Its private key, PEM (nginx `ssl_certificate_key`).
    pub key: PathBuf,
    /// Certificate then key in one file (HAProxy's `crt`).
    pub combined: PathBuf,
    /// The certificate's PEM text.
    pub cert_pem: String,
    /// The key's PEM text.
    pub key_pem: String,
}

/// Makes the certificate in `dir` with the `openssl` command.
pub fn make(openssl: &Path, dir: &Path) -> anyhow::Result<BenchCertificate> {
    fs::create_dir_all(dir)?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let output = Command::new(openssl)
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg("ec_paramgen_curve:prime256v1")
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext"])
        .arg("subjectAltName=DNS:localhost,IP:127.0.0.1")
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .map_err(|err| anyhow::anyhow!("cannot start {}: {err}", openssl.display()))?;
    anyhow::ensure!(
        output.status.success(),
        "openssl could not make the bench certificate: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let cert_pem = fs::read_to_string(&cert)?;
    let key_pem = fs::read_to_string(&key)?;
    let combined = dir.join("combined.pem");
    fs::write(&combined, format!("{cert_pem}{key_pem}"))?;
    Ok(BenchCertificate {
        cert,
        key,
        combined,
        cert_pem,
        key_pem,
    })
}
