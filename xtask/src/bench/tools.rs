//! The programs the bench drives, found on this machine: the load generators (oha, h2load), the
//! required peers (nginx, HAProxy), the optional ones (Envoy, Traefik, Caddy) and what the HTTPS
//! groups need (openssl, curl). A missing required tool is an error that says how to install it;
//! a missing optional one skips its rows or groups, with the reason.

use std::path::PathBuf;

use process_kit::which;

use super::{h2load, oha, peers};

/// The tools the bench drives, found on this machine.
pub struct Tools {
    pub oha: PathBuf,
    pub nginx: PathBuf,
    pub haproxy: PathBuf,
    /// The optional peers found (Envoy, Traefik, Caddy).
    pub peers: Vec<peers::Found>,
    /// Why each other optional peer has no row, one line each.
    pub skipped: Vec<String>,
    /// `openssl` (makes the HTTPS groups' certificate), `None` when missing.
    pub openssl: Option<PathBuf>,
    /// `curl` (checks each TLS target answers, by the protocol it is measured with).
    pub curl: Option<PathBuf>,
    /// `h2load` (the HTTP/2 group).
    pub h2load: Option<PathBuf>,
}

impl Tools {
    /// Why the HTTPS/1.1 group cannot run, if it cannot.
    pub fn https_missing(&self) -> Option<String> {
        let missing: Vec<&str> = [
            ("openssl", self.openssl.is_none()),
            ("curl", self.curl.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, absent)| absent.then_some(name))
        .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "{} not installed: `apt-get install -y {}`",
                missing.join(" and "),
                missing.join(" ")
            )
        })
    }

    /// Why the HTTP/2 group cannot run, if it cannot.
    pub fn h2_missing(&self) -> Option<String> {
        self.https_missing().or_else(|| {
            self.h2load
                .is_none()
                .then(|| h2load::INSTALL_HINT.to_owned())
        })
    }

    /// Finds every tool; fails naming how to install the required ones that are missing.
    pub fn find() -> anyhow::Result<Self> {
        let cargo_bin = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
            .map(|home| home.join("bin/oha"));
        let oha = which("oha").or_else(|| cargo_bin.filter(|path| path.exists()));
        let mut missing = Vec::new();
        if oha.is_none() {
            missing.push(oha::INSTALL_HINT.to_owned());
        }
        let nginx = which("nginx");
        let haproxy = which("haproxy");
        let apt: Vec<&str> = [("nginx", nginx.is_none()), ("haproxy", haproxy.is_none())]
            .into_iter()
            .filter_map(|(name, absent)| absent.then_some(name))
            .collect();
        if !apt.is_empty() {
            missing.push(format!(
                "{} not installed: `apt-get install -y {}` (only the binaries are used; stop the \
                 services apt starts with `systemctl disable --now nginx haproxy` if you like)",
                apt.join(" and "),
                apt.join(" ")
            ));
        }
        let (peers, skipped) = peers::find();
        for line in &skipped {
            println!("skipped {line}");
        }
        match (oha, nginx, haproxy) {
            (Some(oha), Some(nginx), Some(haproxy)) => Ok(Self {
                oha,
                nginx,
                haproxy,
                peers,
                skipped,
                openssl: which("openssl"),
                curl: which("curl"),
                h2load: which("h2load"),
            }),
            _ => anyhow::bail!("the bench needs more tools:\n  {}", missing.join("\n  ")),
        }
    }
}
