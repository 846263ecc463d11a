//! `correlation-id` (Kong's): keeps the id the client sent in `header_name`, otherwise makes one
//! and sends it upstream; with `echo_downstream` the client gets it back too. The id is kept in
//! [`Effects::correlation_id`] for the access log.
//!
//! Generators: `uuid` (a random UUID per request) and `uuid#counter` (Kong's default: one UUID per
//! plugin instance, then `#<n>`; no random numbers on the request path). `tracker` is refused by
//! validation: it needs nginx's connection serials.

use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde_yaml::Value;
use uuid::Uuid;

use super::{
    effects::Effects,
    plugin::{AccessRequest, BuildContext, Flow, ParseContext, Plugin},
};
use crate::validator::Validator;

/// Kong's default `correlation-id` header.
const DEFAULT_CORRELATION_HEADER: &str = "Kong-Request-ID";

/// `config` of `correlation-id`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCorrelationIdConfig {
    header_name: Option<String>,
    generator: Option<String>,
    echo_downstream: Option<bool>,
}

/// `correlation-id` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationIdConfig {
    /// The header that carries the id (default `Kong-Request-ID`), lower case.
    pub header_name: String,
    /// How a missing id is made.
    pub generator: CorrelationIdGenerator,
    /// Also send the id back to the client (default false).
    pub echo_downstream: bool,
}

/// `correlation-id` `generator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationIdGenerator {
    /// A random UUID per request.
    Uuid,
    /// `<uuid>#<counter>`: one UUID per plugin instance and a counter (Kong's default).
    UuidCounter,
}

impl Validator {
    fn correlation_id_config(&mut self, value: &Value, path: &str) -> Option<CorrelationIdConfig> {
        let raw = self.de::<RawCorrelationIdConfig>(value, path)?;
        let errors_before = self.errors.len();
        let header_name = self.header_name(
            raw.header_name
                .as_deref()
                .unwrap_or(DEFAULT_CORRELATION_HEADER),
            &format!("{path}.header_name"),
        );
        let generator = match raw.generator.as_deref() {
            None | Some("uuid#counter") => CorrelationIdGenerator::UuidCounter,
            Some("uuid") => CorrelationIdGenerator::Uuid,
            Some("tracker") => {
                self.error(
                    format!("{path}.generator"),
                    "generator \"tracker\" is not supported: use uuid or uuid#counter",
                );
                CorrelationIdGenerator::Uuid
            }
            Some(other) => {
                self.error(
                    format!("{path}.generator"),
                    format!("unknown generator {other:?}: expected uuid or uuid#counter"),
                );
                CorrelationIdGenerator::Uuid
            }
        };
        (self.errors.len() == errors_before).then(|| CorrelationIdConfig {
            header_name: header_name.unwrap_or_default(),
            generator,
            echo_downstream: raw.echo_downstream.unwrap_or(false),
        })
    }
}

impl Plugin for CorrelationId {
    type Config = CorrelationIdConfig;

    fn parse(
        validator: &mut Validator,
        value: &Value,
        path: &str,
        _context: &ParseContext<'_>,
    ) -> Option<CorrelationIdConfig> {
        validator.correlation_id_config(value, path)
    }

    fn build(config: &CorrelationIdConfig, _context: &BuildContext<'_>) -> Self {
        Self::new(config.clone())
    }

    /// The access phase: never answers.
    fn access_now(&self, request: &AccessRequest<'_>, effects: &mut Effects) -> Flow {
        let given = request
            .header
            .headers
            .get(&self.header)
            .filter(|value| !value.is_empty())
            .and_then(|value| value.to_str().ok());
        let (id, value) = match given {
            Some(id) => {
                let value = request.header.headers.get(&self.header).cloned();
                (id.to_owned(), value)
            }
            None => {
                let id = self.generate();
                let value = HeaderValue::from_str(&id).ok();
                if let Some(value) = &value {
                    effects.set_upstream_header(self.header.clone(), value.clone());
                }
                (id, value)
            }
        };
        if self.echo_downstream
            && let Some(value) = value
        {
            effects.set_response_header(self.header.clone(), value);
        }
        effects.correlation_id = Some(id);
        Flow::Continue
    }
}

/// One configured `correlation-id` instance.
#[derive(Debug)]
pub struct CorrelationId {
    header: HeaderName,
    generator: CorrelationIdGenerator,
    echo_downstream: bool,
    /// `uuid#counter`: this instance's UUID.
    instance_uuid: String,
    /// `uuid#counter`: ids made so far.
    counter: AtomicU64,
}

impl CorrelationId {
    /// An instance of `config` (validated: the header name parses).
    pub fn new(config: CorrelationIdConfig) -> Self {
        let header = HeaderName::from_bytes(config.header_name.as_bytes())
            .unwrap_or_else(|_| HeaderName::from_static("kong-request-id"));
        Self {
            header,
            generator: config.generator,
            echo_downstream: config.echo_downstream,
            instance_uuid: Uuid::new_v4().to_string(),
            counter: AtomicU64::new(0),
        }
    }

    fn generate(&self) -> String {
        match self.generator {
            CorrelationIdGenerator::Uuid => Uuid::new_v4().to_string(),
            CorrelationIdGenerator::UuidCounter => {
                let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
                format!("{}#{n}", self.instance_uuid)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use pingora::http::RequestHeader;

    use super::*;

    fn plugin(generator: CorrelationIdGenerator, echo: bool) -> CorrelationId {
        CorrelationId::new(CorrelationIdConfig {
            header_name: "kong-request-id".into(),
            generator,
            echo_downstream: echo,
        })
    }

    fn run(plugin: &CorrelationId, header: &RequestHeader) -> Effects {
        let mut effects = Effects::default();
        let request = AccessRequest::for_test(header, None);
        assert!(matches!(
            plugin.access_now(&request, &mut effects),
            Flow::Continue
        ));
        effects
    }

    #[test]
    fn a_missing_id_is_generated_sent_upstream_and_kept_for_the_log() {
        let header = RequestHeader::build("GET", b"/", None).unwrap();
        let effects = run(&plugin(CorrelationIdGenerator::Uuid, false), &header);
        let id = effects.correlation_id.clone().unwrap();
        assert!(Uuid::parse_str(&id).is_ok(), "{id}");
        assert_eq!(
            effects.upstream_header("kong-request-id"),
            Some(Some(&HeaderValue::from_str(&id).unwrap()))
        );
        assert!(
            effects.response_header("kong-request-id").is_none(),
            "no echo by default"
        );
    }

    #[test]
    fn a_client_id_is_kept_and_echoed_when_asked() {
        let mut header = RequestHeader::build("GET", b"/", None).unwrap();
        header.insert_header("Kong-Request-ID", "abc-123").unwrap();
        let effects = run(&plugin(CorrelationIdGenerator::Uuid, true), &header);
        assert_eq!(effects.correlation_id.as_deref(), Some("abc-123"));
        assert_eq!(
            effects.upstream_header("kong-request-id"),
            None,
            "the client's header goes upstream as is"
        );
        assert_eq!(
            effects.response_header("kong-request-id").unwrap(),
            "abc-123"
        );
    }

    #[test]
    fn uuid_counter_ids_share_the_instance_uuid_and_count_up() {
        let plugin = plugin(CorrelationIdGenerator::UuidCounter, false);
        let header = RequestHeader::build("GET", b"/", None).unwrap();
        let first = run(&plugin, &header).correlation_id.unwrap();
        let second = run(&plugin, &header).correlation_id.unwrap();
        let (uuid, n) = first.split_once('#').unwrap();
        assert!(Uuid::parse_str(uuid).is_ok());
        assert_eq!(n, "1");
        assert_eq!(second, format!("{uuid}#2"));
    }
}
