//! `response-transformer` (Kong's), its header rules: on the response to the client, in Kong's
//! order, `remove.headers` (`name`), `rename.headers` (`old:new`, when `old` is there),
//! `replace.headers` (`name:value`, when `name` is there), `add.headers` (`name:value`, when `name`
//! is not there) and `append.headers` (`name:value`, one more value). Whether a header "is there"
//! is judged on the response as it came, as Kong does.
//!
//! Its JSON body rules (`*.json`, `*.json_types`) are refused when not empty: this gateway does not
//! rewrite bodies. It runs at Kong's priority 800, after the authentication and limiting plugins,
//! so their refusals do not pass through it; every response it sees, proxied or the gateway's
//! own, gets its rules.

use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_yaml::Value;

use super::{
    effects::{Effects, HeaderFilter},
    plugin::{AccessRequest, BuildContext, Flow, ParseContext, Plugin},
};
use crate::validator::Validator;

/// `config` of `response-transformer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponseTransformerConfig {
    remove: Option<RawRules>,
    rename: Option<RawRules>,
    replace: Option<RawRules>,
    add: Option<RawRules>,
    append: Option<RawRules>,
}

/// One block of rules (`remove`, `rename`, ...).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    headers: Option<Vec<String>>,
    json: Option<Vec<String>>,
    json_types: Option<Vec<String>>,
}

/// `response-transformer` settings: header names lower-cased, values as written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseTransformerConfig {
    /// Headers to remove.
    pub remove: Vec<String>,
    /// (old name, new name).
    pub rename: Vec<(String, String)>,
    /// (name, value), set when the header is there.
    pub replace: Vec<(String, String)>,
    /// (name, value), set when the header is not there.
    pub add: Vec<(String, String)>,
    /// (name, value), added beside any other value.
    pub append: Vec<(String, String)>,
}

/// The blocks of the config and what their entries hold.
const BLOCKS: [&str; 5] = ["remove", "rename", "replace", "add", "append"];

fn parse_config(
    validator: &mut Validator,
    value: &Value,
    path: &str,
) -> Option<ResponseTransformerConfig> {
    let raw = validator.de::<RawResponseTransformerConfig>(value, path)?;
    let errors_before = validator.errors.len();
    let blocks = [raw.remove, raw.rename, raw.replace, raw.add, raw.append];
    let mut config = ResponseTransformerConfig::default();
    for (block, rules) in BLOCKS.into_iter().zip(blocks) {
        let Some(rules) = rules else { continue };
        let block_path = format!("{path}.{block}");
        if rules.json.as_ref().is_some_and(|json| !json.is_empty()) {
            validator.error(
                format!("{block_path}.json"),
                "JSON body rules are not supported: this gateway transforms headers only",
            );
        }
        let _ = rules.json_types;
        for (i, entry) in rules.headers.unwrap_or_default().iter().enumerate() {
            let entry_path = format!("{block_path}.headers[{i}]");
            if block == "remove" {
                if let Some(name) = validator.header_name(entry, &entry_path) {
                    config.remove.push(name);
                }
                continue;
            }
            let Some(pair) = header_pair(validator, block, entry, &entry_path) else {
                continue;
            };
            match block {
                "rename" => config.rename.push(pair),
                "replace" => config.replace.push(pair),
                "add" => config.add.push(pair),
                _ => config.append.push(pair),
            }
        }
    }
    (validator.errors.len() == errors_before).then_some(config)
}

/// `name:value` (`old:new` for `rename`), split at the first colon.
fn header_pair(
    validator: &mut Validator,
    block: &str,
    entry: &str,
    path: &str,
) -> Option<(String, String)> {
    let expected = if block == "rename" {
        "old_name:new_name"
    } else {
        "name:value"
    };
    let Some((name, value)) = entry.split_once(':') else {
        validator.error(path, format!("{entry:?} is not {expected}"));
        return None;
    };
    let name = validator.header_name(name.trim(), path)?;
    let value = value.trim();
    if block == "rename" {
        let new_name = validator.header_name(value, path)?;
        return Some((name, new_name));
    }
    if HeaderValue::from_str(value).is_err() {
        validator.error(path, format!("{value:?} is not a valid header value"));
        return None;
    }
    Some((name, value.to_owned()))
}

/// One configured `response-transformer` instance.
#[derive(Debug)]
pub struct ResponseTransformer {
    rules: Arc<HeaderRules>,
}

/// The rules as headers, ready to apply.
#[derive(Debug, Default)]
struct HeaderRules {
    remove: Vec<HeaderName>,
    rename: Vec<(HeaderName, HeaderName)>,
    replace: Vec<(HeaderName, HeaderValue)>,
    add: Vec<(HeaderName, HeaderValue)>,
    append: Vec<(HeaderName, HeaderValue)>,
}

impl HeaderRules {
    fn from_config(config: &ResponseTransformerConfig) -> Self {
        // Validation checked every name and value; anything else is skipped, never a panic.
        let name = |text: &str| HeaderName::from_bytes(text.as_bytes()).ok();
        let pairs = |pairs: &[(String, String)]| -> Vec<(HeaderName, HeaderValue)> {
            pairs
                .iter()
                .filter_map(|(n, v)| Some((name(n)?, HeaderValue::from_str(v).ok()?)))
                .collect()
        };
        Self {
            remove: config.remove.iter().filter_map(|n| name(n)).collect(),
            rename: config
                .rename
                .iter()
                .filter_map(|(old, new)| Some((name(old)?, name(new)?)))
                .collect(),
            replace: pairs(&config.replace),
            add: pairs(&config.add),
            append: pairs(&config.append),
        }
    }
}

impl HeaderFilter for HeaderRules {
    fn filter(&self, headers: &mut HeaderMap) {
        // Kong judges presence on the response as it came, before any rule ran.
        let renamed: Vec<bool> = self
            .rename
            .iter()
            .map(|(old, _)| headers.contains_key(old))
            .collect();
        let replaced: Vec<bool> = self
            .replace
            .iter()
            .map(|(name, _)| headers.contains_key(name))
            .collect();
        let added: Vec<bool> = self
            .add
            .iter()
            .map(|(name, _)| !headers.contains_key(name))
            .collect();
        for name in &self.remove {
            headers.remove(name);
        }
        for ((old, new), present) in self.rename.iter().zip(renamed) {
            let values: Vec<HeaderValue> = headers.get_all(old).iter().cloned().collect();
            if present && !values.is_empty() {
                headers.remove(old);
                headers.remove(new);
                for value in values {
                    headers.append(new.clone(), value);
                }
            }
        }
        for ((name, value), present) in self.replace.iter().zip(replaced) {
            if present {
                headers.insert(name.clone(), value.clone());
            }
        }
        for ((name, value), absent) in self.add.iter().zip(added) {
            if absent {
                headers.insert(name.clone(), value.clone());
            }
        }
        for (name, value) in &self.append {
            headers.append(name.clone(), value.clone());
        }
    }
}

impl Plugin for ResponseTransformer {
    type Config = ResponseTransformerConfig;

    fn parse(
        validator: &mut Validator,
        value: &Value,
        path: &str,
        _context: &ParseContext<'_>,
    ) -> Option<ResponseTransformerConfig> {
        parse_config(validator, value, path)
    }

    fn build(config: &ResponseTransformerConfig, _context: &BuildContext<'_>) -> Self {
        Self {
            rules: Arc::new(HeaderRules::from_config(config)),
        }
    }

    /// The access phase.
    fn access_now(&self, _request: &AccessRequest<'_>, effects: &mut Effects) -> Flow {
        effects.filter_response_headers(self.rules.clone());
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<ResponseTransformerConfig, Vec<String>> {
        let value: Value = serde_yaml::from_str(yaml).unwrap();
        let mut validator = Validator::default();
        parse_config(&mut validator, &value, "plugins[0].config").ok_or_else(|| {
            validator
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.path, e.message))
                .collect()
        })
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    fn values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    #[test]
    fn kong_files_with_empty_blocks_and_header_rules_are_read() {
        let config = parse(
            "{remove: {headers: [X-Powered-By, server], json: []}, rename: {headers: ['X-Old:X-New']}, \
             replace: {headers: ['Cache-Control: no-store'], json: [], json_types: []}, \
             add: {headers: ['X-Frame-Options:DENY']}, append: {headers: ['Vary:Origin']}}",
        )
        .unwrap();
        assert_eq!(config.remove, ["x-powered-by", "server"]);
        assert_eq!(config.rename, [("x-old".into(), "x-new".into())]);
        assert_eq!(
            config.replace,
            [("cache-control".into(), "no-store".into())]
        );
        assert_eq!(config.add, [("x-frame-options".into(), "DENY".into())]);
        assert_eq!(config.append, [("vary".into(), "Origin".into())]);
        assert_eq!(parse("{}").unwrap(), ResponseTransformerConfig::default());
    }

    #[test]
    fn bad_rules_are_refused_with_their_path() {
        let errors = parse("{add: {headers: ['no-colon', 'bad name:x']}}").unwrap_err();
        assert_eq!(
            errors,
            [
                "plugins[0].config.add.headers[0]: \"no-colon\" is not name:value",
                "plugins[0].config.add.headers[1]: \"bad name\" is not a valid header name",
            ]
        );
        let errors = parse("{replace: {json: ['a:b']}}").unwrap_err();
        assert_eq!(
            errors,
            [
                "plugins[0].config.replace.json: JSON body rules are not supported: this gateway transforms headers only"
            ]
        );
        let errors = parse("{remove: {headers: [a], body: [b]}}").unwrap_err();
        assert!(
            errors[0].starts_with("plugins[0].config.remove.body: unknown field"),
            "{errors:?}"
        );
    }

    #[test]
    fn rules_run_in_kongs_order_on_the_response_as_it_came() {
        let config = parse(
            "{remove: {headers: [server, x-gone]}, rename: {headers: ['x-old:x-new', 'x-missing:x-other']}, \
             replace: {headers: ['cache-control:no-store', 'x-absent:1', 'x-gone:back']}, \
             add: {headers: ['x-frame-options:DENY', 'content-type:text/plain']}, \
             append: {headers: ['vary:Origin']}}",
        )
        .unwrap();
        let rules = HeaderRules::from_config(&config);
        let mut response = headers(&[
            ("server", "upstream"),
            ("x-gone", "1"),
            ("x-old", "a"),
            ("x-old", "b"),
            ("cache-control", "max-age=60"),
            ("content-type", "application/json"),
            ("vary", "Accept"),
        ]);
        rules.filter(&mut response);
        assert!(values(&response, "server").is_empty());
        assert_eq!(
            values(&response, "x-new"),
            ["a", "b"],
            "renamed with every value"
        );
        assert!(values(&response, "x-old").is_empty());
        assert!(values(&response, "x-other").is_empty(), "nothing to rename");
        assert_eq!(values(&response, "cache-control"), ["no-store"]);
        assert!(
            values(&response, "x-absent").is_empty(),
            "replace needs the header"
        );
        assert_eq!(
            values(&response, "x-gone"),
            ["back"],
            "presence is judged before removal, as in Kong"
        );
        assert_eq!(values(&response, "x-frame-options"), ["DENY"]);
        assert_eq!(
            values(&response, "content-type"),
            ["application/json"],
            "add keeps a header that is there"
        );
        assert_eq!(values(&response, "vary"), ["Accept", "Origin"]);
    }

    #[tokio::test]
    async fn the_access_phase_hands_the_rules_to_the_response() {
        let config = parse("{add: {headers: ['x-added:yes']}}").unwrap();
        let credentials = Arc::new(crate::plugins::credentials::Credentials::new(
            Vec::new(),
            [],
        ));
        let context = BuildContext {
            credentials: &credentials,
            route: None,
            service: None,
        };
        let plugin = ResponseTransformer::build(&config, &context);
        let header = crate::plugins::test_header("GET", "/", &[]);
        let mut effects = Effects::default();
        let flow = plugin
            .access(&AccessRequest::for_test(&header, None), &mut effects)
            .await;
        assert!(matches!(flow, Flow::Continue));
        let mut response = HeaderMap::new();
        effects.apply_to_response(&mut response);
        assert_eq!(values(&response, "x-added"), ["yes"]);
    }
}
