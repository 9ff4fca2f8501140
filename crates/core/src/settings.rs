//! Layered configuration: a TOML file, then `CITYOPS_*` environment variables, then
//! command-line overrides, deserialized into one typed struct.
//!
//! An environment variable names a key path with `__` between levels, after the prefix:
//! `CITYOPS_KAFKA__BROKERS=10.0.0.5:9092` sets `kafka.brokers`. A flag override is
//! `kafka.brokers=10.0.0.5:9092`. Values are read as TOML when they parse as a TOML value
//! (`42`, `true`, `["a","b"]`, `"quoted"`) and as a plain string otherwise.

use serde::de::DeserializeOwned;
use std::path::Path;
use toml::{Table, Value};

/// A secret from the configuration (a password, a hashing key): read like a string, never
/// shown by `Debug`, so printing a config or logging it cannot leak it.
#[derive(Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "<empty>"
        } else {
            "<redacted>"
        })
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Parse { path: String, message: String },
    #[error("override {0:?} is not of the form key.path=value")]
    Override(String),
    #[error("{origin} sets {key}, but {conflict} is not a table there")]
    Conflict {
        origin: String,
        key: String,
        conflict: String,
    },
    #[error("invalid configuration: {0} (check the file, the CITYOPS_* variables and the flags)")]
    Invalid(String),
}

/// Where configuration values come from, lowest precedence first.
#[derive(Debug, Default, Clone)]
pub struct Layers {
    /// Contents of the config file (`None`: defaults only).
    pub file: Option<(String, String)>,
    /// `(name, value)` environment variables; only those starting with `prefix` count.
    pub env: Vec<(String, String)>,
    pub prefix: String,
    /// `key.path=value` overrides from flags.
    pub overrides: Vec<String>,
}

impl Layers {
    /// The file at `path` (if any), the process environment with prefix `CITYOPS_`, and
    /// `overrides`.
    pub fn from_process(path: Option<&Path>, overrides: &[String]) -> Result<Self, SettingsError> {
        let file = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| SettingsError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                Some((p.display().to_string(), text))
            }
            None => None,
        };
        Ok(Self {
            file,
            env: std::env::vars().collect(),
            prefix: "CITYOPS_".to_owned(),
            overrides: overrides.to_vec(),
        })
    }

    /// The merged table of every layer.
    pub fn merge(&self) -> Result<Table, SettingsError> {
        let mut table = match &self.file {
            Some((path, text)) => text.parse::<Table>().map_err(|e| SettingsError::Parse {
                path: path.clone(),
                message: e.to_string(),
            })?,
            None => Table::new(),
        };
        let mut env: Vec<_> = self
            .env
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(&self.prefix).map(|rest| (rest, v)))
            .filter(|(rest, _)| !rest.is_empty())
            .collect();
        env.sort();
        for (rest, value) in env {
            let path: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
            set_path(
                &mut table,
                &path,
                parse_value(value),
                &format!("{}{rest}", self.prefix),
            )?;
        }
        for o in &self.overrides {
            let (key, value) = o
                .split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .ok_or_else(|| SettingsError::Override(o.clone()))?;
            let path: Vec<String> = key.trim().split('.').map(str::to_owned).collect();
            set_path(
                &mut table,
                &path,
                parse_value(value),
                &format!("flag {key}"),
            )?;
        }
        Ok(table)
    }

    /// The typed configuration: every layer merged over the struct's defaults.
    pub fn load<T: DeserializeOwned>(&self) -> Result<T, SettingsError> {
        Value::Table(self.merge()?)
            .try_into()
            .map_err(|e: toml::de::Error| SettingsError::Invalid(e.message().to_owned()))
    }
}

fn parse_value(raw: &str) -> Value {
    format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_owned()))
}

fn set_path(
    table: &mut Table,
    path: &[String],
    value: Value,
    origin: &str,
) -> Result<(), SettingsError> {
    let Some((last, parents)) = path.split_last() else {
        return Ok(());
    };
    let mut cur = table;
    for (i, p) in parents.iter().enumerate() {
        let entry = cur
            .entry(p.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        cur = match entry {
            Value::Table(t) => t,
            _ => {
                return Err(SettingsError::Conflict {
                    origin: origin.to_owned(),
                    key: path.join("."),
                    conflict: path[..=i].join("."),
                })
            }
        };
    }
    cur.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Kafka {
        brokers: String,
        partitions: i32,
    }

    #[derive(Debug, Deserialize, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Config {
        name: String,
        kafka: Kafka,
    }

    fn layers(file: &str, env: &[(&str, &str)], overrides: &[&str]) -> Layers {
        Layers {
            file: Some(("test.toml".into(), file.into())),
            env: env
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            prefix: "CITYOPS_".into(),
            overrides: overrides.iter().map(|s| (*s).into()).collect(),
        }
    }

    #[test]
    fn secrets_are_not_shown() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn file_then_env_then_flags() {
        let l = layers(
            "name = \"file\"\n[kafka]\nbrokers = \"a:1\"\npartitions = 3\n",
            &[
                ("CITYOPS_KAFKA__BROKERS", "b:2"),
                ("CITYOPS_NAME", "env"),
                ("HOME", "/root"),
            ],
            &["kafka.brokers=c:3"],
        );
        let c: Config = l.load().expect("config");
        assert_eq!(c.name, "env");
        assert_eq!(c.kafka.brokers, "c:3");
        assert_eq!(c.kafka.partitions, 3);
    }

    #[test]
    fn env_values_are_typed_when_they_parse() {
        let c: Config = layers("", &[("CITYOPS_KAFKA__PARTITIONS", "12")], &[])
            .load()
            .expect("config");
        assert_eq!(c.kafka.partitions, 12);
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let c: Config = Layers::default().load().expect("config");
        assert_eq!(c.kafka.partitions, 0);
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let e = layers("[kafka]\nbrokerz = \"x\"\n", &[], &[])
            .load::<Config>()
            .unwrap_err();
        assert!(e.to_string().contains("brokerz"), "{e}");
        let e = layers("kafka = [", &[], &[]).load::<Config>().unwrap_err();
        assert!(e.to_string().contains("test.toml"), "{e}");
        let e = layers("", &[], &["nonsense"]).load::<Config>().unwrap_err();
        assert!(e.to_string().contains("nonsense"), "{e}");
        let e = layers("name = \"x\"", &[], &["name.inner=1"])
            .load::<Config>()
            .unwrap_err();
        assert!(e.to_string().contains("name"), "{e}");
        let e = layers("", &[("CITYOPS_KAFKA__PARTITIONS", "many")], &[])
            .load::<Config>()
            .unwrap_err();
        assert!(e.to_string().contains("invalid configuration"), "{e}");
    }
}
