//! The plugin table: every plugin the gateway implements, one line each (its name in the file,
//! Kong's `PRIORITY` and the type that implements [`Plugin`]). From it come the typed config of
//! every plugin ([`PluginConfig`]), the live instances ([`PluginInstance`], dispatched statically:
//! no allocation per request) and [`PLUGIN_NAMES`].
//!
//! Adding a plugin: write its module (config, parser, instance, access phase, tests) and add its
//! line here, in priority order (highest first; a unit test checks it).

use std::sync::Arc;

use serde_yaml::Value;

use super::{
    api_key::ApiKeyAuth,
    correlation_id::CorrelationId,
    cors::Cors,
    effects::Effects,
    ip_restriction::IpRestriction,
    key_auth::KeyAuth,
    opentelemetry::OpenTelemetry,
    plugin::{AccessRequest, BuildContext, Flow, ParseContext, Plugin},
    rate_limiting::RateLimiting,
    request_size::RequestSizeLimiting,
    response_transformer::ResponseTransformer,
};
use crate::validator::Validator;

/// Generates [`PluginConfig`], [`PluginInstance`] and [`PLUGIN_NAMES`] from the table below.
macro_rules! plugin_table {
    ($($variant:ident: $plugin:ty, $name:literal, $priority:literal;)+) => {
        /// Every plugin name the gateway implements, in execution order (Kong's priorities).
        pub const PLUGIN_NAMES: &[&str] = &[$($name),+];

        /// Typed configuration of one plugin instance.
        #[derive(Debug, Clone, PartialEq)]
        pub enum PluginConfig {
            $(#[doc = concat!("`", $name, "`.")] $variant(<$plugin as Plugin>::Config),)+
        }

        impl PluginConfig {
            /// The plugin's name as in the file.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $name,)+
                }
            }

            /// Parses the `config` of plugin `name`; `None` (nothing recorded) for a name
            /// the gateway does not implement.
            pub(crate) fn parse(
                name: &str,
                validator: &mut Validator,
                value: &Value,
                path: &str,
                context: &ParseContext<'_>,
            ) -> Option<Option<Self>> {
                match name {
                    $($name => Some(
                        <$plugin as Plugin>::parse(validator, value, path, context)
                            .map(Self::$variant),
                    ),)+
                    _ => None,
                }
            }
        }

        /// A live plugin instance.
        #[derive(Debug, Clone)]
        pub enum PluginInstance {
            $(#[doc = concat!("`", $name, "`.")] $variant(Arc<$plugin>),)+
        }

        impl PluginInstance {
            /// The plugin's name as in the file.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $name,)+
                }
            }

            /// Kong's `PRIORITY`: higher runs first.
            pub fn priority(&self) -> u32 {
                match self {
                    $(Self::$variant(_) => $priority,)+
                }
            }

            /// The instance of `config`: one of `previous` (the replaced snapshot's instances)
            /// when the plugin [keeps](Plugin::keeps) it, else a new one.
            pub fn build(
                config: &PluginConfig,
                context: &BuildContext<'_>,
                previous: &[PluginInstance],
            ) -> Self {
                match config {
                    $(PluginConfig::$variant(config) => {
                        let kept = previous.iter().find_map(|instance| match instance {
                            Self::$variant(kept)
                                if <$plugin as Plugin>::keeps(kept, config, context) =>
                            {
                                Some(kept.clone())
                            }
                            _ => None,
                        });
                        Self::$variant(kept.unwrap_or_else(|| {
                            Arc::new(<$plugin as Plugin>::build(config, context))
                        }))
                    })+
                }
            }

            /// Runs the access phase.
            pub(super) async fn access(
                &self,
                request: &AccessRequest<'_>,
                effects: &mut Effects,
            ) -> Flow {
                match self {
                    $(Self::$variant(plugin) => Plugin::access(&**plugin, request, effects).await,)+
                }
            }
        }

        #[cfg(test)]
        const PRIORITIES: &[u32] = &[$($priority),+];
    };
}

plugin_table! {
    // Kong's PRIORITY is 14, for its log phase; its request span starts before every plugin.
    OpenTelemetry: OpenTelemetry, "opentelemetry", 1_000_000;
    CorrelationId: CorrelationId, "correlation-id", 100_001;
    Cors: Cors, "cors", 2000;
    KeyAuth: KeyAuth, "key-auth", 1250;
    ApiKeyAuth: ApiKeyAuth, "apikey-auth-plugin", 1000;
    IpRestriction: IpRestriction, "ip-restriction", 990;
    RequestSizeLimiting: RequestSizeLimiting, "request-size-limiting", 951;
    RateLimiting: RateLimiting, "rate-limiting", 910;
    ResponseTransformer: ResponseTransformer, "response-transformer", 800;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_plugins_in_execution_order() {
        assert!(
            PRIORITIES.windows(2).all(|pair| pair[0] > pair[1]),
            "{PLUGIN_NAMES:?} must be listed by priority, highest first: {PRIORITIES:?}"
        );
        assert_eq!(PLUGIN_NAMES.len(), PRIORITIES.len());
    }
}
