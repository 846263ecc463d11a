//! `GET /certificates`, `/certificates/{id}`, `/snis` and `/snis/{name}` in Kong's shapes, from the
//! current snapshot. Keys are never shown (`key` and `key_alt` read [`REDACTED`]); each
//! certificate also says when it expires.

use axum::{
    extract::{Path, State},
    response::Response,
};
use serde_json::{Value as Json, json};

use super::{AdminState, by_name, kong_json::REDACTED, list};
use crate::config::{Config, model::Certificate, tls::parse_chain};

/// One certificate as Kong's admin API shows it, keys redacted, plus its leaf's expiry.
fn certificate_json(certificate: &Certificate) -> Json {
    let expires = parse_chain(&certificate.cert)
        .ok()
        .and_then(|chain| chain.first().map(|leaf| leaf.not_after().to_string()));
    json!({
        "id": certificate.id,
        "cert": certificate.cert,
        "key": REDACTED,
        "cert_alt": certificate.alt.as_ref().map(|(cert, _)| cert),
        "key_alt": certificate.alt.as_ref().map(|_| REDACTED),
        "snis": certificate.snis,
        "tags": null,
        "expires": expires,
    })
}

/// Every SNI of `config` with the certificate it belongs to.
fn snis(config: &Config) -> impl Iterator<Item = (&str, &Certificate)> {
    config.certificates.iter().flat_map(|certificate| {
        certificate
            .snis
            .iter()
            .map(move |name| (name.as_str(), certificate))
    })
}

fn sni_json(name: &str, certificate: &Certificate) -> Json {
    json!({
        "name": name,
        "certificate": { "id": certificate.id },
        "tags": null,
    })
}

pub(super) async fn certificates(State(admin): State<AdminState>) -> Response {
    let runtime = admin.state.load();
    list(
        runtime
            .config
            .certificates
            .iter()
            .map(certificate_json)
            .collect(),
    )
}

pub(super) async fn certificate(
    State(admin): State<AdminState>,
    Path(id): Path<String>,
) -> Response {
    let runtime = admin.state.load();
    let certificates = &runtime.config.certificates;
    by_name(certificates.iter().map(|c| c.id.as_str()), &id, |index| {
        certificate_json(&certificates[index])
    })
}

pub(super) async fn all_snis(State(admin): State<AdminState>) -> Response {
    let runtime = admin.state.load();
    list(
        snis(&runtime.config)
            .map(|(name, certificate)| sni_json(name, certificate))
            .collect(),
    )
}

pub(super) async fn sni(State(admin): State<AdminState>, Path(name): Path<String>) -> Response {
    let runtime = admin.state.load();
    let all: Vec<(&str, &Certificate)> = snis(&runtime.config).collect();
    by_name(all.iter().map(|(name, _)| *name), &name, |index| {
        let (name, certificate) = all[index];
        sni_json(name, certificate)
    })
}
