//! The consumers and key-auth credentials of one snapshot ([`Credentials`]): one `HashMap` from key
//! to credential, shared by every `key-auth` instance, and the consumer records that requests carry
//! once authenticated ([`ConsumerRecord`]). Keys never appear in `Debug` output or logs.

use std::{collections::HashMap, sync::Arc};

use http::HeaderValue;

/// A consumer as the proxy uses it: its identity and the header values that carry it upstream.
#[derive(Debug)]
pub struct ConsumerRecord {
    /// Kong's consumer id.
    pub id: Arc<str>,
    pub(super) id_header: Option<HeaderValue>,
    pub(super) username_header: Option<HeaderValue>,
    pub(super) custom_id_header: Option<HeaderValue>,
}

/// A header value of validated text; `None` for bytes no header can carry.
fn header_value(text: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(text).ok()
}

impl ConsumerRecord {
    /// Consumer `id` with its `username` and `custom_id`.
    pub fn new(id: &str, username: Option<&str>, custom_id: Option<&str>) -> Self {
        Self {
            id: Arc::from(id),
            id_header: header_value(id),
            username_header: username.and_then(header_value),
            custom_id_header: custom_id.and_then(header_value),
        }
    }
}

/// One credential: its id and its consumer.
#[derive(Debug)]
pub(super) struct CredentialRecord {
    pub(super) id: Arc<str>,
    pub(super) id_header: Option<HeaderValue>,
    pub(super) consumer: Arc<ConsumerRecord>,
}

/// Every consumer and key-auth credential of one snapshot.
pub struct Credentials {
    by_key: HashMap<String, CredentialRecord>,
    consumers: Vec<Arc<ConsumerRecord>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        f.debug_struct("Credentials")
            .field("consumers", &self.consumers.len())
            .field("keys", &self.by_key.len())
            .finish()
    }
}

impl Credentials {
    /// The table of `consumers` (in file order) and `keys`: each credential's key, its id and the
    /// index of its consumer in `consumers` (validated: keys are unique, indices in range).
    pub fn new<'a>(
        consumers: Vec<ConsumerRecord>,
        keys: impl IntoIterator<Item = (&'a str, &'a str, usize)>,
    ) -> Self {
        let consumers: Vec<Arc<ConsumerRecord>> = consumers.into_iter().map(Arc::new).collect();
        let by_key = keys
            .into_iter()
            .filter_map(|(key, id, consumer)| {
                let consumer = consumers.get(consumer)?.clone();
                let record = CredentialRecord {
                    id: Arc::from(id),
                    id_header: header_value(id),
                    consumer,
                };
                Some((key.to_owned(), record))
            })
            .collect();
        Self { by_key, consumers }
    }

    /// The credential whose key is `key`.
    pub(super) fn find(&self, key: &str) -> Option<&CredentialRecord> {
        self.by_key.get(key)
    }

    /// The consumer at `index` of `config.consumers`.
    pub fn consumer(&self, index: usize) -> Option<&Arc<ConsumerRecord>> {
        self.consumers.get(index)
    }
}
