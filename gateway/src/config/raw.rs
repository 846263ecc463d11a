//! Serde types mirroring the declarative file one to one (Kong's field names); no logic.
//!
//! Every struct refuses unknown fields. Nested collections are kept as [`Value`]s so that the
//! validator can convert each entity on its own and report *every* broken entity, not just the first.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::Value;

/// A reference to another entity: `service: auth` or `service: {name: auth}` / `{id: ...}`
/// (consumers: `{username: ...}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum EntityRef {
    /// By name or id.
    Name(String),
    /// `{id}` and/or `{name}`.
    Object {
        /// The entity id.
        #[serde(default)]
        id: Option<String>,
        /// The entity name.
        #[serde(default)]
        name: Option<String>,
        /// A consumer's username.
        #[serde(default)]
        username: Option<String>,
    },
}

impl EntityRef {
    /// The names/ids this reference may match.
    pub fn keys(&self) -> Vec<&str> {
        match self {
            Self::Name(name) => vec![name.as_str()],
            Self::Object { id, name, username } => id
                .iter()
                .chain(name.iter())
                .chain(username.iter())
                .map(String::as_str)
                .collect(),
        }
    }
}

/// A secret as written in the file (a key, a password); `Debug` never shows it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct RawSecret(pub String);

impl std::fmt::Debug for RawSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// The top level of the file.
#[expect(
    dead_code,
    reason = "Kong's fields: read so that Kong's files load, then unused"
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    #[serde(rename = "_format_version")]
    pub format_version: Option<String>,
    #[serde(rename = "_transform", default)]
    pub transform: Option<bool>,
    #[serde(rename = "_comment", default)]
    pub comment: Option<Value>,
    #[serde(rename = "_ignore", default)]
    pub ignore: Option<Value>,
    #[serde(rename = "_gateway", default)]
    pub gateway: Option<Value>,
    #[serde(default)]
    pub services: Vec<Value>,
    #[serde(default)]
    pub routes: Vec<Value>,
    #[serde(default)]
    pub upstreams: Vec<Value>,
    #[serde(default)]
    pub targets: Vec<Value>,
    #[serde(default)]
    pub plugins: Vec<Value>,
    #[serde(default)]
    pub consumers: Vec<Value>,
    #[serde(default)]
    pub keyauth_credentials: Vec<Value>,
    #[serde(default)]
    pub certificates: Vec<Value>,
    #[serde(default)]
    pub snis: Vec<Value>,
    #[serde(default)]
    pub ca_certificates: Vec<Value>,
}

/// `ca_certificates[]`: a trusted CA for HTTPS upstreams (`tls_verify`).
#[expect(
    dead_code,
    reason = "Kong's fields: read so that Kong's files load, then unused"
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCaCertificate {
    pub id: String,
    pub cert: String,
    pub cert_digest: Option<String>,
    pub tags: Option<Vec<String>>,
    #[serde(rename = "_comment")]
    pub comment: Option<Value>,
    #[serde(rename = "_ignore")]
    pub ignore: Option<Value>,
}

/// `certificates[]` (Kong 3.x): a PEM certificate (chain) and its key, an optional second pair of
/// another key type (`cert_alt`/`key_alt`), and the SNIs it serves.
#[expect(
    dead_code,
    reason = "Kong's fields: read so that Kong's files load, then unused"
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCertificate {
    pub id: Option<String>,
    pub cert: String,
    pub key: RawSecret,
    pub cert_alt: Option<String>,
    pub key_alt: Option<RawSecret>,
    /// Names (`a.example.com`) or `{name: ...}` objects.
    #[serde(default)]
    pub snis: Vec<Value>,
    pub tags: Option<Vec<String>>,
    #[serde(rename = "_comment")]
    pub comment: Option<Value>,
    #[serde(rename = "_ignore")]
    pub ignore: Option<Value>,
}

/// `snis[]` at the top level, or an object in a certificate's `snis`.
#[expect(
    dead_code,
    reason = "Kong's fields: read so that Kong's files load, then unused"
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSni {
    pub id: Option<String>,
    pub name: String,
    /// Required at the top level; a nested SNI belongs to its certificate.
    pub certificate: Option<EntityRef>,
    pub tags: Option<Vec<String>>,
    #[serde(rename = "_comment")]
    pub comment: Option<Value>,
    #[serde(rename = "_ignore")]
    pub ignore: Option<Value>,
}

/// Our extension block `_gateway` (process settings; fixed at start).
#[expect(
    dead_code,
    reason = "Kong's fields: read so that Kong's files load, then unused"
)]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGateway {
    pub proxy_listen: Option<String>,
    pub proxy_listen_tls: Option<String>,
    pub default_certificate: Option<String>,
    pub admin_listen: Option<String>,
    pub admin_token: Option<String>,
    pub threads: Option<usize>,
    pub upstream_keepalive_pool_size: Option<usize>,
    pub upstream_idle_timeout: Option<u64>,
    pub client_body_timeout: Option<u64>,
    pub access_log: Option<String>,
    pub dns_refresh: Option<u64>,
}

/// `services[]`.
#[expect(
    dead_code,
    reason = "Kong's fields: read so that Kong's files load, then unused"
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub id: Option<String>,
    pub name: Option<String>,
    pub url: Option<String>,
    pub protocol: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub path: Option<String>,
    pub retries: Option<u32>,
    pub connect_timeout: Option<u64>,
    pub write_timeout: Option<u64>,
    pub read_timeout: Option<u64>,
    pub enabled: Option<bool>,
    pub tags: Option<Vec<String>>,
    /// HTTPS upstreams: verify the upstream's certificate (Kong's default: no).
    pub tls_verify: Option<bool>,
    pub tls_verify_depth: Option<u32>,
    /// Ids of `ca_certificates` entities the upstream's certificate must chain to.
    pub ca_certificates: Option<Vec<String>>,
    /// A `certificates` entity sent to the upstream (mTLS).
    pub client_certificate: Option<EntityRef>,
    #[serde(default)]
    pub routes: Vec<Value>,
    #[serde(default)]
    pub plugins: Vec<Value>,
    #[serde(rename = "_comment")]
    pub comment: Option<Value>,
    #[serde(rename = "_ignore")]
    pub ignore: Option<Value>,
}

/// `routes[]` (top level or nested in a service).
#[expect(
    dead_code,
    reason = "Kong's fields: read so that Kong's files load, then unused"
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub id: Option<String>,
    pub name: Option<String>,
    pub service: Option<EntityRef>,
    pub paths: Option<Vec<String>>,
    pub methods: Option<Vec<String>>,
    pub hosts: Option<Vec<String>>,
    pub headers: Option<BTreeMap<String, Vec<String>>>,
    pub protocols: Option<Vec<String>>,
    pub strip_path: Option<bool>,
    pub preserve_host: Option<bool>,
    pub regex_priority: Option<i64>,
    pub path_handling: Option<String>,
    pub https_redirect_status_code: Option<u16>,
    pub request_buffering: Option<bool>,
    pub response_buffering: Option<bool>,
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub plugins: Vec<Value>,
    #[serde(rename = "_comment")]
    pub comment: Option<Value>,
    #[serde(rename = "_ignore")]
    pub ignore: Option<Value>,
}

/// `upstreams[]`.
#[expect(
    dead_code,
    reason = "Kong's fields: read so that Kong's files load, then unused"
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    pub id: Option<String>,
    pub name: Option<String>,
    pub algorithm: Option<String>,
    pub hash_on: Option<String>,
    pub hash_fallback: Option<String>,
    pub hash_on_header: Option<String>,
    pub hash_fallback_header: Option<String>,
    pub hash_on_cookie: Option<String>,
    pub hash_on_cookie_path: Option<String>,
    pub hash_on_query_arg: Option<String>,
    pub hash_fallback_query_arg: Option<String>,
    pub slots: Option<u32>,
    pub host_header: Option<String>,
    pub healthchecks: Option<Value>,
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub targets: Vec<Value>,
    #[serde(rename = "_comment")]
    pub comment: Option<Value>,
    #[serde(rename = "_ignore")]
    pub ignore: Option<Value>,
}

/// `targets[]` (top level with `upstream:`, or nested).
#[expect(
    dead_code,
    reason = "Kong's fields: read so that Kong's files load, then unused"
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub id: Option<String>,
    pub target: Option<String>,
    pub weight: Option<i64>,
    pub upstream: Option<EntityRef>,
    pub tags: Option<Vec<String>>,
    #[serde(rename = "_comment")]
    pub comment: Option<Value>,
}

/// `plugins[]` at any scope.
#[expect(
    dead_code,
    reason = "Kong's fields: read so that Kong's files load, then unused"
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlugin {
    pub id: Option<String>,
    pub name: Option<String>,
    pub instance_name: Option<String>,
    pub config: Option<Value>,
    pub enabled: Option<bool>,
    pub protocols: Option<Vec<String>>,
    pub service: Option<EntityRef>,
    pub route: Option<EntityRef>,
    pub consumer: Option<EntityRef>,
    pub tags: Option<Vec<String>>,
    #[serde(rename = "_comment")]
    pub comment: Option<Value>,
}

/// `consumers[]`.
#[expect(
    dead_code,
    reason = "Kong's fields: read so that Kong's files load, then unused"
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConsumer {
    pub id: Option<String>,
    pub username: Option<String>,
    pub custom_id: Option<String>,
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub keyauth_credentials: Vec<Value>,
    #[serde(default)]
    pub plugins: Vec<Value>,
    #[serde(rename = "_comment")]
    pub comment: Option<Value>,
    #[serde(rename = "_ignore")]
    pub ignore: Option<Value>,
}

/// `keyauth_credentials[]`.
#[expect(
    dead_code,
    reason = "Kong's fields: read so that Kong's files load, then unused"
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeyAuthCredential {
    pub id: Option<String>,
    pub key: Option<RawSecret>,
    pub consumer: Option<EntityRef>,
    pub ttl: Option<u64>,
    pub tags: Option<Vec<String>>,
    #[serde(rename = "_comment")]
    pub comment: Option<Value>,
}
