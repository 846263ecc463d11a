//! `key-auth` (Kong's) against the file's consumers and `keyauth_credentials`.
//!
//! The key is looked for under each of `key_names` (default `apikey`), in the headers
//! (`key_in_header`) then the query string (`key_in_query`). No key → 401
//! `{"message":"No API key found in request"}`; an unknown key → 401 `{"message":"Unauthorized"}`;
//! the same name twice → 401 `{"message":"Duplicate API key found"}`; each with
//! `WWW-Authenticate: Key realm="<realm>"`. With `anonymous`, a failure lets the request through as
//! that consumer instead. A success sends `X-Consumer-ID`, `X-Consumer-Custom-ID`,
//! `X-Consumer-Username` and `X-Credential-Identifier` upstream (clearing any the client sent);
//! `hide_credentials` removes the key header and query argument. `run_on_preflight: false` lets
//! `OPTIONS` through unauthenticated.
//!
//! Credentials are one `HashMap` per snapshot ([`Credentials`]), shared by every key-auth instance:
//! O(1) per request, rebuilt on reload. Keys never appear in `Debug` output or logs.

use std::{borrow::Cow, collections::HashMap, sync::Arc};

use http::{HeaderName, HeaderValue, Method};
use serde::Deserialize;
use serde_yaml::Value;

use super::{
    credentials::{ConsumerRecord, CredentialRecord, Credentials},
    effects::{Authenticated, Effects},
    plugin::{AccessRequest, BuildContext, Flow, ParseContext, Plugin, header_value},
};
use crate::{responses, validator::Validator};

/// `config` of `key-auth`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeyAuthConfig {
    key_names: Option<Vec<String>>,
    key_in_header: Option<bool>,
    key_in_query: Option<bool>,
    key_in_body: Option<bool>,
    hide_credentials: Option<bool>,
    anonymous: Option<String>,
    run_on_preflight: Option<bool>,
    realm: Option<String>,
}

/// `key-auth` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAuthConfig {
    /// Header / query-argument names that carry the key (default `[apikey]`), lower case.
    pub key_names: Vec<String>,
    /// Look in the headers (default true).
    pub key_in_header: bool,
    /// Look in the query string (default true).
    pub key_in_query: bool,
    /// Remove the key from the upstream request (default false).
    pub hide_credentials: bool,
    /// Consumer (index in [`Config::consumers`]) used when authentication fails, instead of 401.
    pub anonymous: Option<usize>,
    /// Authenticate `OPTIONS` requests too (default true).
    pub run_on_preflight: bool,
    /// `realm` of `WWW-Authenticate: Key realm="…"` (default `kong`).
    pub realm: String,
}

impl Validator {
    fn key_auth_config(
        &mut self,
        value: &Value,
        path: &str,
        consumers: &HashMap<String, usize>,
    ) -> Option<KeyAuthConfig> {
        let raw = self.de::<RawKeyAuthConfig>(value, path)?;
        let errors_before = self.errors.len();
        let names = raw.key_names.unwrap_or_else(|| vec!["apikey".to_owned()]);
        if names.is_empty() {
            self.error(format!("{path}.key_names"), "needs at least one name");
        }
        let key_names: Vec<String> = names
            .iter()
            .enumerate()
            .filter_map(|(i, name)| self.header_name(name, &format!("{path}.key_names[{i}]")))
            .collect();
        if raw.key_in_body == Some(true) {
            self.error(
                format!("{path}.key_in_body"),
                "key_in_body is not supported: send the key in a header or the query string",
            );
        }
        let anonymous = match raw.anonymous.as_deref() {
            None | Some("") => None,
            Some(name) => match consumers.get(name) {
                Some(index) => Some(*index),
                None => {
                    self.error(
                        format!("{path}.anonymous"),
                        format!("unknown consumer {name:?}: expected a consumer's username or id"),
                    );
                    None
                }
            },
        };
        let realm = raw.realm.unwrap_or_else(|| "kong".to_owned());
        if realm.contains('"') || http::HeaderValue::from_str(&realm).is_err() {
            self.error(
                format!("{path}.realm"),
                "must be printable text without double quotes",
            );
        }
        (self.errors.len() == errors_before).then(|| KeyAuthConfig {
            key_names,
            key_in_header: raw.key_in_header.unwrap_or(true),
            key_in_query: raw.key_in_query.unwrap_or(true),
            hide_credentials: raw.hide_credentials.unwrap_or(false),
            anonymous,
            run_on_preflight: raw.run_on_preflight.unwrap_or(true),
            realm,
        })
    }
}

impl Plugin for KeyAuth {
    type Config = KeyAuthConfig;

    fn parse(
        validator: &mut Validator,
        value: &Value,
        path: &str,
        context: &ParseContext<'_>,
    ) -> Option<KeyAuthConfig> {
        validator.key_auth_config(value, path, context.consumers)
    }

    fn build(config: &KeyAuthConfig, context: &BuildContext<'_>) -> Self {
        Self::new(config.clone(), context.credentials.clone())
    }

    /// The access phase: authenticates, falls back to `anonymous`, or answers 401.
    fn access_now(&self, request: &AccessRequest<'_>, effects: &mut Effects) -> Flow {
        if !self.run_on_preflight && request.header.method == Method::OPTIONS {
            return Flow::Continue;
        }
        if self.anonymous.is_some()
            && effects
                .consumer
                .as_ref()
                .is_some_and(|who| who.credential_id.is_some())
        {
            // Already authenticated by another plugin: Kong's "logical OR" of auth plugins.
            return Flow::Continue;
        }
        match self.authenticate(request, effects) {
            Ok(credential) => {
                set_consumer(effects, &credential.consumer, Some(credential));
                Flow::Continue
            }
            Err(failure) => match &self.anonymous {
                Some(anonymous) => {
                    set_consumer(effects, anonymous, None);
                    Flow::Continue
                }
                None => Flow::Respond(responses::plugin_error(401, failure.message()).with_header(
                    http::header::WWW_AUTHENTICATE,
                    self.www_authenticate.clone(),
                )),
            },
        }
    }
}

const CONSUMER_ID: HeaderName = HeaderName::from_static("x-consumer-id");
const CONSUMER_CUSTOM_ID: HeaderName = HeaderName::from_static("x-consumer-custom-id");
const CONSUMER_USERNAME: HeaderName = HeaderName::from_static("x-consumer-username");
const CREDENTIAL_IDENTIFIER: HeaderName = HeaderName::from_static("x-credential-identifier");
const ANONYMOUS_CONSUMER: HeaderName = HeaderName::from_static("x-anonymous-consumer");

/// Why authentication failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    NoKey,
    Duplicate,
    Unknown,
}

impl Failure {
    fn message(self) -> &'static str {
        match self {
            Self::NoKey => "No API key found in request",
            Self::Duplicate => "Duplicate API key found",
            Self::Unknown => "Unauthorized",
        }
    }
}

/// One configured `key-auth` instance.
#[derive(Debug)]
pub struct KeyAuth {
    key_names: Vec<HeaderName>,
    key_in_header: bool,
    key_in_query: bool,
    hide_credentials: bool,
    run_on_preflight: bool,
    anonymous: Option<Arc<ConsumerRecord>>,
    www_authenticate: HeaderValue,
    credentials: Arc<Credentials>,
}

impl KeyAuth {
    /// An instance of `config` over the snapshot's `credentials`.
    pub fn new(config: KeyAuthConfig, credentials: Arc<Credentials>) -> Self {
        let key_names = config
            .key_names
            .iter()
            .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
            .collect();
        let anonymous = config
            .anonymous
            .and_then(|index| credentials.consumer(index).cloned());
        let www_authenticate = header_value(&format!("Key realm=\"{}\"", config.realm))
            .unwrap_or_else(|| HeaderValue::from_static("Key"));
        Self {
            key_names,
            key_in_header: config.key_in_header,
            key_in_query: config.key_in_query,
            hide_credentials: config.hide_credentials,
            run_on_preflight: config.run_on_preflight,
            anonymous,
            www_authenticate,
            credentials,
        }
    }

    fn authenticate(
        &self,
        request: &AccessRequest<'_>,
        effects: &mut Effects,
    ) -> Result<&CredentialRecord, Failure> {
        let mut key: Option<Cow<'_, str>> = None;
        for name in &self.key_names {
            let mut found = None;
            if self.key_in_header {
                let mut values = request.header.headers.get_all(name).iter();
                if let Some(value) = values.next() {
                    if values.next().is_some() {
                        return Err(Failure::Duplicate);
                    }
                    found = Some(String::from_utf8_lossy(value.as_bytes()));
                }
            }
            if found.is_none()
                && self.key_in_query
                && let Some(query) = request.header.uri.query()
            {
                let mut values = query_values(query, name.as_str());
                if let Some(value) = values.next() {
                    if values.next().is_some() {
                        return Err(Failure::Duplicate);
                    }
                    // `?apikey` without a value is no key (Kong reads it as `true`).
                    found = value;
                }
            }
            if let Some(value) = found {
                if self.hide_credentials {
                    effects.remove_upstream_header(name.clone());
                    effects.hide_query_arg(name.clone());
                }
                key = Some(value);
                break;
            }
        }
        let key = key.filter(|key| !key.is_empty()).ok_or(Failure::NoKey)?;
        self.credentials.find(key.as_ref()).ok_or(Failure::Unknown)
    }
}

/// Records the consumer (and credential) for later plugins and sends Kong's consumer headers
/// upstream, clearing the ones it does not set so that a client cannot forge them.
fn set_consumer(
    effects: &mut Effects,
    consumer: &Arc<ConsumerRecord>,
    credential: Option<&CredentialRecord>,
) {
    let mut set = |name: HeaderName, value: Option<&HeaderValue>| match value {
        Some(value) => effects.set_upstream_header(name, value.clone()),
        None => effects.remove_upstream_header(name),
    };
    set(CONSUMER_ID, consumer.id_header.as_ref());
    set(CONSUMER_CUSTOM_ID, consumer.custom_id_header.as_ref());
    set(CONSUMER_USERNAME, consumer.username_header.as_ref());
    set(
        CREDENTIAL_IDENTIFIER,
        credential.and_then(|c| c.id_header.as_ref()),
    );
    match credential {
        Some(_) => effects.remove_upstream_header(ANONYMOUS_CONSUMER),
        None => {
            effects.set_upstream_header(ANONYMOUS_CONSUMER, HeaderValue::from_static("true"));
        }
    }
    effects.consumer = Some(Authenticated {
        consumer: consumer.clone(),
        credential_id: credential.map(|c| c.id.clone()),
    });
}

/// The values of query argument `name` (decoded); `None` for an argument without `=`.
fn query_values<'q>(
    query: &'q str,
    name: &'q str,
) -> impl Iterator<Item = Option<Cow<'q, str>>> + 'q {
    query.split('&').filter_map(move |pair| {
        let (key, value) = match pair.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (pair, None),
        };
        (!key.is_empty() && decode_component(key) == name).then(|| value.map(decode_component))
    })
}

/// `query` without the arguments named in `hidden` (decoded names); the others are kept as written.
pub fn strip_query_args(query: &str, hidden: &[HeaderName]) -> String {
    query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(key, _)| key);
            !hidden
                .iter()
                .any(|name| decode_component(key) == name.as_str())
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent- and `+`-decoding of one query component (as nginx's `ngx.decode_args`).
fn decode_component(raw: &str) -> Cow<'_, str> {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(raw);
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::plugins::test_header;

    use super::*;
    use crate::config;

    const CONFIG: &str = r#"_format_version: "3.0"
consumers:
  - username: alice
    custom_id: a-1
    keyauth_credentials: [{key: alice-key}]
  - username: guest
keyauth_credentials:
  - consumer: alice
    key: "alice two"
"#;

    fn plugin(configure: impl FnOnce(&mut KeyAuthConfig)) -> KeyAuth {
        let config = config::parse(CONFIG, "test").unwrap();
        let mut settings = KeyAuthConfig {
            key_names: vec!["apikey".into()],
            key_in_header: true,
            key_in_query: true,
            hide_credentials: false,
            anonymous: None,
            run_on_preflight: true,
            realm: "kong".into(),
        };
        configure(&mut settings);
        KeyAuth::new(settings, Arc::new(crate::runtime::credentials(&config)))
    }

    fn run(
        plugin: &KeyAuth,
        method: &str,
        uri: &str,
        headers: &[(&'static str, &str)],
    ) -> (Flow, Effects) {
        let header = test_header(method, uri, headers);
        let request = AccessRequest::for_test(&header, None);
        let mut effects = Effects::default();
        let flow = plugin.access_now(&request, &mut effects);
        (flow, effects)
    }

    fn refusal(flow: Flow) -> (u16, String, String) {
        let Flow::Respond(response) = flow else {
            panic!("expected a refusal")
        };
        (
            response.status,
            String::from_utf8(response.body.to_vec()).unwrap(),
            response
                .header("www-authenticate")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned(),
        )
    }

    #[test]
    fn missing_unknown_and_duplicate_keys_are_401_with_kong_bodies() {
        let plugin = plugin(|_| {});
        type Case<'a> = (&'a str, &'a [(&'static str, &'a str)], &'a str);
        let cases: [Case<'_>; 4] = [
            ("/", &[], "No API key found in request"),
            ("/", &[("apikey", "")], "No API key found in request"),
            ("/?apikey=nope", &[], "Unauthorized"),
            (
                "/",
                &[("apikey", "a"), ("apikey", "b")],
                "Duplicate API key found",
            ),
        ];
        for (uri, headers, message) in cases {
            let (status, body, challenge) = refusal(run(&plugin, "GET", uri, headers).0);
            assert_eq!(status, 401, "{uri} {headers:?}");
            assert_eq!(
                body,
                format!(r#"{{"message":"{message}"}}"#),
                "{uri} {headers:?}"
            );
            assert_eq!(challenge, r#"Key realm="kong""#);
        }
    }

    #[test]
    fn a_valid_key_in_header_or_query_sets_the_consumer_headers() {
        let plugin = plugin(|_| {});
        for (uri, headers) in [
            ("/", &[("apikey", "alice-key")][..]),
            ("/?x=1&apikey=alice+two", &[][..]),
            ("/?apikey=alice%20two", &[][..]),
        ] {
            let (flow, effects) = run(&plugin, "GET", uri, headers);
            assert!(matches!(flow, Flow::Continue), "{uri}");
            let who = effects.consumer.as_ref().unwrap();
            assert_eq!(
                who.consumer
                    .username_header
                    .as_ref()
                    .map(|v| v.to_str().unwrap()),
                Some("alice")
            );
            assert!(who.credential_id.is_some());
            let upstream = |name| effects.upstream_header(name).unwrap();
            assert_eq!(upstream("x-consumer-username").unwrap(), "alice");
            assert_eq!(upstream("x-consumer-custom-id").unwrap(), "a-1");
            assert_eq!(
                upstream("x-consumer-id").unwrap().to_str().unwrap(),
                &*who.consumer.id
            );
            assert!(upstream("x-credential-identifier").is_some());
            assert_eq!(upstream("x-anonymous-consumer"), None, "cleared");
            assert!(effects.hidden_query_args().is_empty());
        }
    }

    #[test]
    fn hide_credentials_removes_the_key_from_header_and_query() {
        let plugin = plugin(|c| c.hide_credentials = true);
        let (_, effects) = run(&plugin, "GET", "/?apikey=alice-key&page=2", &[]);
        assert_eq!(effects.upstream_header("apikey"), Some(None));
        assert_eq!(
            effects.hidden_query_args(),
            [HeaderName::from_static("apikey")]
        );
        assert_eq!(
            strip_query_args(
                "apikey=alice-key&page=2&api%6Bey=x",
                effects.hidden_query_args()
            ),
            "page=2"
        );
    }

    #[test]
    fn anonymous_and_preflight_let_requests_through() {
        let config = config::parse(CONFIG, "test").unwrap();
        let guest = config
            .consumers
            .iter()
            .position(|c| c.username.as_deref() == Some("guest"));
        let plugin_anonymous = plugin(|c| c.anonymous = guest);
        let (flow, effects) = run(&plugin_anonymous, "GET", "/", &[("apikey", "bad")]);
        assert!(matches!(flow, Flow::Continue));
        assert_eq!(
            effects
                .upstream_header("x-consumer-username")
                .unwrap()
                .unwrap(),
            "guest"
        );
        assert_eq!(
            effects
                .upstream_header("x-anonymous-consumer")
                .unwrap()
                .unwrap(),
            "true"
        );
        assert!(effects.consumer.unwrap().credential_id.is_none());

        let skip_preflight = plugin(|c| c.run_on_preflight = false);
        assert!(matches!(
            run(&skip_preflight, "OPTIONS", "/", &[]).0,
            Flow::Continue
        ));
        assert!(matches!(
            run(&skip_preflight, "GET", "/", &[]).0,
            Flow::Respond(_)
        ));
    }

    #[test]
    fn debug_output_never_shows_keys() {
        let config = config::parse(CONFIG, "test").unwrap();
        let text = format!("{:?} {:?}", crate::runtime::credentials(&config), config);
        assert!(
            !text.contains("alice-key") && !text.contains("alice two"),
            "{text}"
        );
    }
}
