//! `certificates`, `snis` and `ca_certificates` (Kong 3.x DB-less) and a service's TLS fields →
//! the model: every PEM parsed, every key checked against its certificate, every SNI unique across
//! the file, every reference resolved. An expired certificate is a warning (clients will refuse
//! it, but the file is valid). Keys are secrets: no message quotes one.

use std::collections::HashMap;

use openssl::{
    asn1::Asn1Time,
    pkey::{PKey, Private},
    x509::X509,
};
use serde_yaml::Value;
use uuid::Uuid;

use super::{
    ConfigError,
    model::{Certificate, Secret, UpstreamTls},
    raw::{RawCaCertificate, RawCertificate, RawService, RawSni},
    validate::TlsReferences,
};
use crate::validator::Validator;

/// Namespace of the ids derived for certificates that have none in the file.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x0b5c_7f3e_91a2_4e8d_b6c1_5d2e_7a90_c3f4);

/// The validated certificates and which is the default.
pub(super) struct Certificates {
    pub(super) certificates: Vec<Certificate>,
    pub(super) default: Option<usize>,
}

impl Validator {
    /// Validates `certificates[]` (with nested SNIs) and top-level `snis[]`; `default` is
    /// `_gateway.default_certificate` (an id), `listen_tls` whether a TLS listener is configured.
    pub(super) fn certificates(
        &mut self,
        certificates: &[Value],
        snis: &[Value],
        default: Option<&str>,
        listen_tls: bool,
    ) -> Certificates {
        let mut out = Vec::new();
        let mut ids: HashMap<String, usize> = HashMap::new();
        // SNI → the path that named it first.
        let mut names: HashMap<String, String> = HashMap::new();
        for (i, value) in certificates.iter().enumerate() {
            let path = format!("certificates[{i}]");
            let Some(raw) = self.de::<RawCertificate>(value, &path) else {
                continue;
            };
            // SNIs are checked also when the certificate is refused, so every problem shows.
            let mut certificate = self.certificate(&raw, &path, i);
            for (j, sni) in raw.snis.iter().enumerate() {
                let sni_path = format!("{path}.snis[{j}]");
                if let Some(name) = self.nested_sni(sni, &sni_path, &mut names)
                    && let Some(certificate) = &mut certificate
                {
                    certificate.snis.push(name);
                }
            }
            let Some(certificate) = certificate else {
                continue;
            };
            if ids.insert(certificate.id.clone(), out.len()).is_some() {
                self.error(format!("{path}.id"), "duplicate certificate id");
                continue;
            }
            out.push(certificate);
        }
        for (i, value) in snis.iter().enumerate() {
            if let Some((index, name)) =
                self.top_level_sni(value, &format!("snis[{i}]"), &ids, &mut names)
            {
                out[index].snis.push(name);
            }
        }
        let default = match default {
            Some(id) => match ids.get(id) {
                Some(&index) => Some(index),
                None => {
                    self.error(
                        "_gateway.default_certificate",
                        format!("no certificate with id {id:?}"),
                    );
                    None
                }
            },
            None => (!out.is_empty()).then_some(0),
        };
        if listen_tls && out.is_empty() {
            self.warnings.push(ConfigError {
                path: "_gateway.proxy_listen_tls".to_owned(),
                line: None,
                message: "no certificates: serving a self-signed one made at start (clients will \
                          not trust it; add certificates for real use)"
                    .to_owned(),
            });
        }
        Certificates {
            certificates: out,
            default,
        }
    }

    /// A certificate's nested SNI (a name, or `{name: ...}` without `certificate`), checked and
    /// recorded in `names`.
    fn nested_sni(
        &mut self,
        sni: &Value,
        path: &str,
        names: &mut HashMap<String, String>,
    ) -> Option<String> {
        let name = match sni {
            Value::String(name) => name.clone(),
            other => {
                let sni = self.de::<RawSni>(other, path)?;
                if sni.certificate.is_some() {
                    self.error(
                        format!("{path}.certificate"),
                        "a nested SNI belongs to its certificate",
                    );
                    return None;
                }
                sni.name
            }
        };
        self.sni(&name, path, names)
    }

    /// A top-level SNI: the index (among `ids`) of the certificate it names, and its name.
    fn top_level_sni(
        &mut self,
        value: &Value,
        path: &str,
        ids: &HashMap<String, usize>,
        names: &mut HashMap<String, String>,
    ) -> Option<(usize, String)> {
        let raw = self.de::<RawSni>(value, path)?;
        let Some(reference) = &raw.certificate else {
            self.error(format!("{path}.certificate"), "required field missing");
            return None;
        };
        let Some(&index) = reference.keys().iter().find_map(|key| ids.get(*key)) else {
            self.error(
                format!("{path}.certificate"),
                format!("no certificate with id {:?}", reference.keys().join(", ")),
            );
            return None;
        };
        let name = self.sni(&raw.name, &format!("{path}.name"), names)?;
        Some((index, name))
    }

    /// Validates `ca_certificates[]`: id → PEM.
    pub(super) fn ca_certificates(&mut self, values: &[Value]) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for (i, value) in values.iter().enumerate() {
            let path = format!("ca_certificates[{i}]");
            let Some(raw) = self.de::<RawCaCertificate>(value, &path) else {
                continue;
            };
            if let Err(message) = parse_chain(&raw.cert) {
                self.error(format!("{path}.cert"), message);
                continue;
            }
            if out.insert(raw.id, raw.cert).is_some() {
                self.error(format!("{path}.id"), "duplicate ca_certificate id");
            }
        }
        out
    }

    /// An `https` service's TLS fields, with its references resolved.
    pub(super) fn upstream_tls(
        &mut self,
        raw: &RawService,
        path: &str,
        references: &TlsReferences<'_>,
    ) -> UpstreamTls {
        let mut ca_certificates = Vec::new();
        for (i, id) in raw.ca_certificates.iter().flatten().enumerate() {
            match references.ca_certificates.get(id) {
                Some(pem) => ca_certificates.push(pem.clone()),
                None => self.error(
                    format!("{path}.ca_certificates[{i}]"),
                    format!("no ca_certificate with id {id:?}"),
                ),
            }
        }
        let client_certificate = raw.client_certificate.as_ref().and_then(|reference| {
            let found = reference
                .keys()
                .iter()
                .find_map(|key| references.certificates.get(*key).copied());
            if found.is_none() {
                self.error(
                    format!("{path}.client_certificate"),
                    format!("no certificate with id {:?}", reference.keys().join(", ")),
                );
            }
            found
        });
        UpstreamTls {
            verify: raw.tls_verify.unwrap_or(false),
            verify_depth: raw.tls_verify_depth,
            ca_certificates,
            client_certificate,
        }
    }

    /// One certificate: its PEMs parsed and its keys matched, or the problems recorded.
    fn certificate(
        &mut self,
        raw: &RawCertificate,
        path: &str,
        index: usize,
    ) -> Option<Certificate> {
        let errors_before = self.errors.len();
        self.pair(&raw.cert, &raw.key.0, path, "cert", "key");
        let alt = match (&raw.cert_alt, &raw.key_alt) {
            (Some(cert), Some(key)) => {
                self.pair(cert, &key.0, path, "cert_alt", "key_alt");
                Some((cert.clone(), Secret::new(key.0.clone())))
            }
            (None, None) => None,
            (Some(_), None) => {
                self.error(format!("{path}.key_alt"), "required with cert_alt");
                None
            }
            (None, Some(_)) => {
                self.error(format!("{path}.cert_alt"), "required with key_alt");
                None
            }
        };
        (self.errors.len() == errors_before).then(|| Certificate {
            id: raw.id.clone().unwrap_or_else(|| {
                Uuid::new_v5(&ID_NAMESPACE, index.to_string().as_bytes()).to_string()
            }),
            cert: raw.cert.clone(),
            key: Secret::new(raw.key.0.clone()),
            alt,
            snis: Vec::new(),
        })
    }

    /// Checks one certificate chain and its key: both parse, the key is the leaf's.
    fn pair(&mut self, cert: &str, key: &str, path: &str, cert_field: &str, key_field: &str) {
        let leaf = match parse_chain(cert) {
            Ok(chain) => chain.into_iter().next(),
            Err(message) => {
                self.error(format!("{path}.{cert_field}"), message);
                None
            }
        };
        let key = match parse_key(key) {
            Ok(key) => Some(key),
            Err(message) => {
                self.error(format!("{path}.{key_field}"), message);
                None
            }
        };
        let Some(leaf) = leaf else {
            return;
        };
        if let Some(key) = key
            && !leaf.public_key().is_ok_and(|public| public.public_eq(&key))
        {
            self.error(
                format!("{path}.{key_field}"),
                format!("does not match the public key of {cert_field}"),
            );
        }
        if let Ok(now) = Asn1Time::days_from_now(0)
            && leaf.not_after() < now
        {
            self.warnings.push(ConfigError {
                path: format!("{path}.{cert_field}"),
                line: None,
                message: format!("expired on {}: clients will refuse it", leaf.not_after()),
            });
        }
    }

    /// A lowercase SNI, checked and unique; `None` after recording why not.
    fn sni(
        &mut self,
        name: &str,
        path: &str,
        names: &mut HashMap<String, String>,
    ) -> Option<String> {
        let name = name.to_ascii_lowercase();
        if let Err(message) = check_sni(&name) {
            self.error(path, message);
            return None;
        }
        if let Some(first) = names.get(&name) {
            self.error(path, format!("duplicate SNI {name:?} (also in {first})"));
            return None;
        }
        names.insert(name.clone(), path.to_owned());
        Some(name)
    }
}

/// A PEM chain: at least one certificate, the leaf first.
pub fn parse_chain(pem: &str) -> Result<Vec<X509>, String> {
    match X509::stack_from_pem(pem.as_bytes()) {
        Ok(chain) if !chain.is_empty() => Ok(chain),
        Ok(_) => Err("no PEM certificate found (expected -----BEGIN CERTIFICATE-----)".to_owned()),
        Err(err) => Err(match err.errors().iter().rev().find_map(|e| e.reason()) {
            Some(reason) => format!("not a valid PEM certificate ({reason})"),
            None => "not a valid PEM certificate".to_owned(),
        }),
    }
}

/// A PEM private key (PKCS#8, RSA or EC); the message never quotes it.
pub fn parse_key(pem: &str) -> Result<PKey<Private>, String> {
    PKey::private_key_from_pem(pem.as_bytes())
        .map_err(|_| "not a valid PEM private key (unencrypted PKCS#8, RSA or EC)".to_owned())
}

/// An SNI is a host name (`localhost` too), with at most one wildcard label: first
/// (`*.example.com`) or last (`example.*`), as Kong.
fn check_sni(name: &str) -> Result<(), String> {
    let labels: Vec<&str> = name.split('.').collect();
    let wildcards = labels.iter().filter(|label| **label == "*").count();
    if wildcards > 0 && labels.len() < 2 {
        return Err(format!(
            "invalid SNI {name:?}: a wildcard needs a domain (*.example.com or example.*)"
        ));
    }
    let wildcard_ok =
        wildcards == 0 || (wildcards == 1 && (labels[0] == "*" || labels[labels.len() - 1] == "*"));
    if !wildcard_ok || name.contains('*') && wildcards == 0 {
        return Err(format!(
            "invalid SNI {name:?}: a wildcard is only allowed as the whole first or last label"
        ));
    }
    let valid_label = |label: &&str| {
        *label == "*"
            || !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
    };
    if !labels.iter().all(valid_label) || name.len() > 253 {
        return Err(format!("invalid SNI {name:?}: not a host name"));
    }
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Err(format!(
            "invalid SNI {name:?}: an IP address is not a server name"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use openssl::{
        asn1::Asn1Time,
        bn::BigNum,
        ec::{EcGroup, EcKey},
        hash::MessageDigest,
        nid::Nid,
        pkey::PKey,
        x509::{X509, X509NameBuilder},
    };

    use super::check_sni;
    use crate::config::parse;

    /// A self-signed P-256 certificate (PEM) valid between the two Unix times, and its key.
    fn pair(common_name: &str, not_before: i64, not_after: i64) -> (String, String) {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_nid(Nid::COMMONNAME, common_name)
            .unwrap();
        let name = name.build();
        let mut builder = X509::builder().unwrap();
        builder.set_version(2).unwrap();
        builder
            .set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
            .unwrap();
        builder.set_subject_name(&name).unwrap();
        builder.set_issuer_name(&name).unwrap();
        builder.set_pubkey(&key).unwrap();
        builder
            .set_not_before(&Asn1Time::from_unix(not_before).unwrap())
            .unwrap();
        builder
            .set_not_after(&Asn1Time::from_unix(not_after).unwrap())
            .unwrap();
        builder.sign(&key, MessageDigest::sha256()).unwrap();
        (
            String::from_utf8(builder.build().to_pem().unwrap()).unwrap(),
            String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
        )
    }

    fn valid(common_name: &str) -> (String, String) {
        let now = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
        pair(common_name, now - 60, now + 86_400)
    }

    fn indent(pem: &str) -> String {
        pem.lines().map(|line| format!("      {line}\n")).collect()
    }

    /// A file with a TLS listener and these certificates (`(id, cert, key, snis)`) and `extra`.
    fn file(certificates: &[(&str, &str, &str, &str)], extra: &str) -> String {
        let mut text = String::from(
            "_format_version: \"3.0\"\n_gateway:\n  proxy_listen_tls: \"127.0.0.1:8443\"\ncertificates:\n",
        );
        for (id, cert, key, snis) in certificates {
            text.push_str(&format!(
                "  - id: {id}\n    snis: {snis}\n    cert: |\n{}    key: |\n{}",
                indent(cert),
                indent(key)
            ));
        }
        text.push_str(extra);
        text
    }

    fn problems(text: &str) -> Vec<String> {
        match parse(text, "test.yml") {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(errors) => errors.errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn certificates_and_snis_load_with_their_names() {
        let (cert_a, key_a) = valid("a");
        let (cert_b, key_b) = valid("b");
        let text = file(
            &[
                ("a", &cert_a, &key_a, "[a.example, \"*.Wild.example\"]"),
                ("b", &cert_b, &key_b, "[{name: b.example}]"),
            ],
            "snis:\n  - name: c.example\n    certificate: {id: b}\n",
        );
        let config = parse(&text, "test.yml").unwrap();
        assert_eq!(config.certificates.len(), 2);
        assert_eq!(config.certificates[0].snis, ["a.example", "*.wild.example"]);
        assert_eq!(config.certificates[1].snis, ["b.example", "c.example"]);
        assert_eq!(config.default_certificate, Some(0), "the first by default");
        assert_eq!(
            config.gateway.proxy_listen_tls,
            Some("127.0.0.1:8443".parse().unwrap())
        );
        assert!(config.warnings.is_empty());
    }

    #[test]
    fn a_bad_pem_a_foreign_key_and_a_duplicate_sni_are_named_with_their_lines() {
        let (cert_a, key_a) = valid("a");
        let (_, key_b) = valid("b");
        let broken = cert_a.replace("MII", "MIX");
        let text = file(
            &[
                ("a", &cert_a, &key_b, "[a.example]"),
                ("b", &broken, &key_a, "[b.example]"),
                ("c", &cert_a, "not a key", "[A.example]"),
            ],
            "",
        );
        let all = problems(&text);
        let has = |path: &str, message: &str| {
            all.iter().any(|line| {
                line.starts_with("line ") && line.contains(&format!(": {path}: {message}"))
            })
        };
        assert!(
            has(
                "certificates[0].key",
                "does not match the public key of cert"
            ),
            "{all:#?}"
        );
        assert!(
            has("certificates[1].cert", "not a valid PEM certificate"),
            "{all:#?}"
        );
        assert!(
            has("certificates[2].key", "not a valid PEM private key"),
            "{all:#?}"
        );
        assert!(
            has(
                "certificates[2].snis[0]",
                "duplicate SNI \"a.example\" (also in certificates[0].snis[0])"
            ),
            "{all:#?}"
        );
        assert!(
            !all.join("\n").contains("PRIVATE KEY-----"),
            "no key is quoted: {all:#?}"
        );
    }

    #[test]
    fn an_expired_certificate_and_a_tls_listener_without_certificates_are_warnings() {
        let (cert, key) = pair("old", 1_000_000_000, 1_000_086_400);
        let config = parse(
            &file(&[("old", &cert, &key, "[old.example]")], ""),
            "test.yml",
        )
        .unwrap();
        assert_eq!(config.warnings.len(), 1);
        let warning = config.warnings[0].to_string();
        assert!(
            warning.starts_with("line 7: certificates[0].cert: expired on"),
            "{warning}"
        );

        let config = parse(
            "_format_version: \"3.0\"\n_gateway:\n  proxy_listen_tls: \"127.0.0.1:8443\"\n",
            "test.yml",
        )
        .unwrap();
        assert!(
            config.warnings[0].to_string().starts_with(
                "line 3: _gateway.proxy_listen_tls: no certificates: serving a self-signed one"
            ),
            "{:?}",
            config.warnings
        );
        let all = problems(&file(
            &[],
            "snis:\n  - name: x.example\n    certificate: nope\n",
        ));
        assert!(
            all.iter().any(|line| line.contains("snis[0].certificate")),
            "{all:?}"
        );
    }

    #[test]
    fn snis_are_host_names_with_a_wildcard_first_or_last() {
        for good in [
            "a.example.com",
            "*.example.com",
            "example.*",
            "x-1.example",
            "localhost",
        ] {
            assert_eq!(check_sni(good), Ok(()), "{good}");
        }
        for bad in [
            "*",
            "a.*.example",
            "*.*.example",
            "a*.example.com",
            "-a.example",
            "a..example",
            "1.2.3.4",
        ] {
            assert!(check_sni(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_tls_fields_need_https_and_known_references() {
        let text = "_format_version: \"3.0\"\nservices:\n  - name: plain\n    url: http://a.example\n    tls_verify: true\n  - name: secure\n    url: https://b.example\n    ca_certificates: [nope]\n    client_certificate: {id: missing}\n";
        let all = problems(text);
        for expected in [
            "line 5: services[0].tls_verify: only valid with protocol https",
            "line 8: services[1].ca_certificates[0]: no ca_certificate with id \"nope\"",
            "line 9: services[1].client_certificate: no certificate with id \"missing\"",
        ] {
            assert!(
                all.iter().any(|line| line == expected),
                "{expected}\n{all:#?}"
            );
        }
        let config = parse(
            "_format_version: \"3.0\"\nservices:\n  - name: secure\n    url: https://b.example\n",
            "test.yml",
        )
        .unwrap();
        let tls = config.services[0]
            .tls
            .as_ref()
            .expect("https has TLS settings");
        assert!(!tls.verify, "Kong's default: no verification");
        assert_eq!(config.services[0].port, 443);
    }
}
