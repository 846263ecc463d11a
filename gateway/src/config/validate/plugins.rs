//! `plugins` at every scope (global, a service's, a route's; nested or naming their service or
//! route): the scope, one instance per plugin and scope, and the plugin's own `config` block, which
//! the plugin's module reads (see `crate::plugins::table`).

use std::collections::HashSet;

use serde_yaml::Value;

use super::{PendingPlugin, References, lookup};
use crate::{
    config::{
        model::{Plugin, PluginScope},
        raw::RawPlugin,
    },
    plugins::{PLUGIN_NAMES, ParseContext, PluginConfig},
    validator::Validator,
};

impl Validator {
    /// Every enabled plugin instance; a plugin twice in one scope is an error.
    pub(super) fn plugins(
        &mut self,
        pending: Vec<PendingPlugin>,
        references: &References<'_>,
    ) -> Vec<Plugin> {
        let mut plugins = Vec::new();
        let mut seen_scopes: HashSet<(PluginScope, &'static str)> = HashSet::new();
        for PendingPlugin { path, value, scope } in pending {
            let Some(plugin) = self.plugin(&value, &path, scope, references) else {
                continue;
            };
            if !seen_scopes.insert((plugin.scope, plugin.name())) {
                self.error(
                    format!("{path}.name"),
                    format!(
                        "plugin {:?} is configured twice for the same scope",
                        plugin.name()
                    ),
                );
                continue;
            }
            plugins.push(plugin);
        }
        plugins
    }

    fn plugin(
        &mut self,
        value: &Value,
        path: &str,
        scope: PluginScope,
        references: &References<'_>,
    ) -> Option<Plugin> {
        let raw = self.de::<RawPlugin>(value, path)?;
        let scope = self.plugin_scope(scope, &raw, path, references)?;
        if raw.enabled == Some(false) {
            return None;
        }
        let config = self.plugin_config(&raw, path, references)?;
        Some(Plugin { scope, config })
    }

    /// The plugin's scope: where it is nested, else the service or route it names.
    fn plugin_scope(
        &mut self,
        nested: PluginScope,
        raw: &RawPlugin,
        path: &str,
        references: &References<'_>,
    ) -> Option<PluginScope> {
        let (services, routes) = (references.services, references.routes);
        let mut scope = nested;
        if raw.consumer.is_some() {
            self.error(
                format!("{path}.consumer"),
                "consumer-scoped plugins are not supported",
            );
            return None;
        }
        match (scope, &raw.service, &raw.route) {
            (PluginScope::Global, Some(_), Some(_)) => {
                self.error(
                    path.to_owned(),
                    "a plugin scoped to both a service and a route is not supported",
                );
                return None;
            }
            (PluginScope::Global, Some(reference), None) => match lookup(services, reference) {
                Some(index) => scope = PluginScope::Service(index),
                None => {
                    self.error(
                        format!("{path}.service"),
                        format!("unknown service {:?}", reference.keys()),
                    );
                    return None;
                }
            },
            (PluginScope::Global, None, Some(reference)) => match lookup(routes, reference) {
                Some(index) => scope = PluginScope::Route(index),
                None => {
                    self.error(
                        format!("{path}.route"),
                        format!("unknown route {:?}", reference.keys()),
                    );
                    return None;
                }
            },
            (_, None, None) => {}
            _ => {
                self.error(
                    path.to_owned(),
                    "a nested plugin cannot name a service or route",
                );
                return None;
            }
        }
        Some(scope)
    }

    /// The plugin's typed `config`, read by its own module.
    fn plugin_config(
        &mut self,
        raw: &RawPlugin,
        path: &str,
        references: &References<'_>,
    ) -> Option<PluginConfig> {
        let name = raw.name.clone().unwrap_or_default();
        let config_value = raw
            .config
            .clone()
            .unwrap_or(Value::Mapping(Default::default()));
        let config_path = format!("{path}.config");
        let name_path = format!("{path}.name");
        let context = ParseContext {
            consumers: references.consumers,
        };
        match PluginConfig::parse(&name, self, &config_value, &config_path, &context) {
            Some(config) => config,
            None if name.is_empty() => {
                self.error(name_path, "required field missing");
                None
            }
            None => {
                self.error(
                    name_path,
                    format!(
                        "unknown plugin {name:?}: this gateway implements {}",
                        PLUGIN_NAMES.join(", ")
                    ),
                );
                None
            }
        }
    }
}
