//! `consumers` and `keyauth_credentials` → the model. Credentials may be nested in their consumer
//! or written at the top level with `consumer: <username|id>`; keys are unique across both forms.
//!
//! Keys are secrets: no error message here quotes one, and the model wraps them in [`Secret`].

use std::collections::HashMap;

use serde_yaml::Value;
use uuid::Uuid;

use super::{
    model::{Consumer, KeyAuthCredential, Secret},
    raw::{RawConsumer, RawKeyAuthCredential},
    validate::lookup,
};
use crate::validator::Validator;

/// Namespace of the ids derived for consumers and credentials that have none in the file, so that
/// the same file always yields the same ids (Kong derives its DB-less ids the same way).
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a8e_4b1d_4c55_9a3e_0d7b_58c2_e941);

/// The validated consumers and credentials, and how plugins may name a consumer.
pub(super) struct Consumers {
    /// In file order.
    pub(super) consumers: Vec<Consumer>,
    /// Nested ones first (in consumer order), then top-level ones.
    pub(super) credentials: Vec<KeyAuthCredential>,
    /// id and username → index in `consumers`.
    pub(super) index: HashMap<String, usize>,
}

impl Validator {
    /// Validates `consumers[]` (with nested credentials) and top-level `keyauth_credentials[]`.
    pub(super) fn consumers(&mut self, consumers: &[Value], credentials: &[Value]) -> Consumers {
        let mut out = Consumers {
            consumers: Vec::new(),
            credentials: Vec::new(),
            index: HashMap::new(),
        };
        let mut custom_ids: HashMap<String, usize> = HashMap::new();
        // Credentials per consumer so far, for derived credential ids.
        let mut per_consumer: Vec<usize> = Vec::new();
        // key → path of the credential that has it.
        let mut keys: HashMap<String, String> = HashMap::new();

        for (i, value) in consumers.iter().enumerate() {
            let path = format!("consumers[{i}]");
            let Some(raw) = self.de::<RawConsumer>(value, &path) else {
                continue;
            };
            if !raw.plugins.is_empty() {
                self.error(
                    format!("{path}.plugins"),
                    "consumer-scoped plugins are not supported",
                );
            }
            let Some(consumer) = self.consumer(&raw, &path, &out.index, &custom_ids) else {
                continue;
            };
            let index = out.consumers.len();
            out.index.insert(consumer.id.clone(), index);
            if let Some(username) = &consumer.username {
                out.index.insert(username.clone(), index);
            }
            if let Some(custom_id) = &consumer.custom_id {
                custom_ids.insert(custom_id.clone(), index);
            }
            out.consumers.push(consumer);
            per_consumer.push(0);
            for (j, credential) in raw.keyauth_credentials.iter().enumerate() {
                let credential_path = format!("{path}.keyauth_credentials[{j}]");
                let Some(raw) = self.de::<RawKeyAuthCredential>(credential, &credential_path)
                else {
                    continue;
                };
                if raw.consumer.is_some() {
                    self.error(
                        format!("{credential_path}.consumer"),
                        "a nested credential cannot name a consumer",
                    );
                    continue;
                }
                self.credential(
                    raw,
                    &credential_path,
                    index,
                    &mut out,
                    &mut per_consumer,
                    &mut keys,
                );
            }
        }

        for (i, value) in credentials.iter().enumerate() {
            let path = format!("keyauth_credentials[{i}]");
            let Some(raw) = self.de::<RawKeyAuthCredential>(value, &path) else {
                continue;
            };
            let Some(reference) = raw.consumer.clone() else {
                self.error(format!("{path}.consumer"), "required field missing");
                continue;
            };
            let Some(index) = lookup(&out.index, &reference) else {
                self.error(
                    format!("{path}.consumer"),
                    format!("unknown consumer {:?}", reference.keys()),
                );
                continue;
            };
            self.credential(raw, &path, index, &mut out, &mut per_consumer, &mut keys);
        }
        out
    }

    fn consumer(
        &mut self,
        raw: &RawConsumer,
        path: &str,
        known: &HashMap<String, usize>,
        custom_ids: &HashMap<String, usize>,
    ) -> Option<Consumer> {
        let errors_before = self.errors.len();
        let username = raw.username.clone().filter(|name| !name.is_empty());
        let custom_id = raw.custom_id.clone().filter(|id| !id.is_empty());
        let identity = match (&username, &custom_id) {
            (Some(username), _) => format!("username:{username}"),
            (None, Some(custom_id)) => format!("custom_id:{custom_id}"),
            (None, None) => String::new(),
        };
        if identity.is_empty() {
            self.error(
                path.to_owned(),
                "at least one of username or custom_id is required",
            );
            return None;
        }
        if let Some(username) = &username
            && known.contains_key(username)
        {
            self.error(
                format!("{path}.username"),
                format!("duplicate consumer username {username:?}"),
            );
        }
        if let Some(custom_id) = &custom_id
            && custom_ids.contains_key(custom_id)
        {
            self.error(
                format!("{path}.custom_id"),
                format!("duplicate consumer custom_id {custom_id:?}"),
            );
        }
        if let Some(id) = &raw.id
            && known.contains_key(id)
        {
            self.error(
                format!("{path}.id"),
                format!("duplicate consumer id {id:?}"),
            );
        }
        let id = raw.id.clone().unwrap_or_else(|| {
            Uuid::new_v5(&ID_NAMESPACE, format!("consumers:{identity}").as_bytes()).to_string()
        });
        (self.errors.len() == errors_before).then_some(Consumer {
            id,
            username,
            custom_id,
        })
    }

    fn credential(
        &mut self,
        raw: RawKeyAuthCredential,
        path: &str,
        consumer: usize,
        out: &mut Consumers,
        per_consumer: &mut [usize],
        keys: &mut HashMap<String, String>,
    ) {
        if raw.ttl.is_some() {
            self.error(
                format!("{path}.ttl"),
                "ttl is not supported in a declarative file (remove the credential instead)",
            );
            return;
        }
        let key = match raw.key {
            Some(key) if !key.0.is_empty() => key.0,
            Some(_) => {
                self.error(format!("{path}.key"), "must not be empty");
                return;
            }
            None => {
                // Kong would generate a random key, which nobody could know in a DB-less file.
                self.error(format!("{path}.key"), "required field missing");
                return;
            }
        };
        if let Some(first) = keys.get(&key) {
            // Never quote the key itself: it is a secret.
            self.error(
                format!("{path}.key"),
                format!("duplicate key (the same key is already used at {first})"),
            );
            return;
        }
        keys.insert(key.clone(), path.to_owned());
        let ordinal = per_consumer[consumer];
        per_consumer[consumer] += 1;
        let id = raw.id.unwrap_or_else(|| {
            let consumer_id = &out.consumers[consumer].id;
            Uuid::new_v5(
                &ID_NAMESPACE,
                format!("keyauth_credentials:{consumer_id}:{ordinal}").as_bytes(),
            )
            .to_string()
        });
        out.credentials.push(KeyAuthCredential {
            id,
            consumer,
            key: Secret::new(key),
        });
    }
}
