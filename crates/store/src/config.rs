//! Where ClickHouse is and how to talk to it: [`ClickHouseConfig`], the `[clickhouse]` section
//! of `cityops.toml`, and the [`clickhouse::Client`] built from it.

use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

/// HTTP compression of inserts and query results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// LZ4 (the `clickhouse` crate's default). Current servers support it; ClickHouse 18.16
    /// does not, so the local stack sets `none`.
    #[default]
    Lz4,
    /// No compression: needed by ClickHouse 18.16, harmless (more bytes on the wire) elsewhere.
    None,
}

impl From<Compression> for clickhouse::Compression {
    fn from(c: Compression) -> Self {
        match c {
            Compression::Lz4 => clickhouse::Compression::Lz4,
            Compression::None => clickhouse::Compression::None,
        }
    }
}

/// The `[clickhouse]` section of the configuration. Every field has a default, so a service
/// configuration may embed it and set only what differs.
///
/// ```toml
/// [clickhouse]
/// url = "http://127.0.0.1:18123"
/// database = "cityops"
/// user = "default"
/// password = ""
/// validation = false     # ClickHouse 18.16 (the local stack); true on current releases
/// compression = "none"   # ClickHouse 18.16; "lz4" on current releases
/// # migrations_dir = "schemas/clickhouse"   # apply these files instead of the embedded ones
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClickHouseConfig {
    /// HTTP endpoint of the server, e.g. `http://127.0.0.1:8123`. Use `127.0.0.1` rather
    /// than `localhost` on machines where the server listens on IPv4 only.
    pub url: String,
    /// The database that holds every cityops table; migrations create it when missing.
    pub database: String,
    pub user: String,
    /// Never printed: the `Debug` output redacts it.
    pub password: String,
    /// Check each row type against the table's columns before inserting
    /// (`RowBinaryWithNamesAndTypes`). What current servers do and the default; ClickHouse
    /// 18.16 cannot describe its columns that way, so it needs `false` (plain `RowBinary`).
    pub validation: bool,
    /// HTTP compression: `lz4` (default) or `none` (needed by ClickHouse 18.16).
    pub compression: Compression,
    /// Read migrations from this directory instead of the copies embedded in the binary
    /// (for trying a new migration without rebuilding). `None`: the embedded ones.
    pub migrations_dir: Option<PathBuf>,
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8123".to_owned(),
            database: "cityops".to_owned(),
            user: "default".to_owned(),
            password: String::new(),
            validation: true,
            compression: Compression::Lz4,
            migrations_dir: None,
        }
    }
}

impl fmt::Debug for ClickHouseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClickHouseConfig")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("user", &self.user)
            .field(
                "password",
                &if self.password.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("validation", &self.validation)
            .field("compression", &self.compression)
            .field("migrations_dir", &self.migrations_dir)
            .finish()
    }
}

/// A configuration value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "clickhouse.url {0:?} is not an HTTP URL: set it to the server's HTTP endpoint, \
         e.g. http://127.0.0.1:8123"
    )]
    Url(String),
    #[error(
        "clickhouse.database {0:?} is not a plain identifier: use letters, digits and `_`, \
         not starting with a digit (e.g. cityops)"
    )]
    Database(String),
}

impl ClickHouseConfig {
    /// Checks the values that would otherwise only fail at the first request.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.url.trim();
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        if !rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/')) {
            return Err(ConfigError::Url(self.url.clone()));
        }
        if !is_identifier(&self.database) {
            return Err(ConfigError::Database(self.database.clone()));
        }
        Ok(())
    }

    /// A client for the server, with no default database: for statements that must run
    /// before the database exists (`CREATE DATABASE`).
    pub fn server_client(&self) -> clickhouse::Client {
        clickhouse::Client::default()
            .with_url(self.url.trim())
            .with_user(&self.user)
            .with_password(&self.password)
            .with_validation(self.validation)
            .with_compression(self.compression.into())
    }

    /// A client whose statements run in [`database`](Self::database): what the writer and
    /// readers use. Cheap to clone; clones share the connection pool.
    pub fn client(&self) -> clickhouse::Client {
        self.server_client().with_database(&self.database)
    }
}

/// Whether `s` is an identifier ClickHouse accepts unquoted (and we may quote safely).
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<ClickHouseConfig, String> {
        // `key = "value"` lines through serde's map deserializer (string values only), so
        // the serde attributes are exercised without a TOML dependency.
        use serde::de::value::{Error, MapDeserializer};
        let pairs: Vec<(String, String)> = toml_text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
            .collect();
        let de = MapDeserializer::<_, Error>::new(pairs.into_iter());
        ClickHouseConfig::deserialize(de).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_what_current_servers_do() {
        let c = ClickHouseConfig::default();
        assert_eq!(c.database, "cityops");
        assert!(c.validation);
        assert_eq!(c.compression, Compression::Lz4);
        assert_eq!(c.migrations_dir, None);
        c.validate().expect("defaults are valid");
    }

    #[test]
    fn missing_fields_take_defaults() {
        let c = parse("url = \"http://127.0.0.1:18123\"\ncompression = \"none\"").expect("parses");
        assert_eq!(c.url, "http://127.0.0.1:18123");
        assert_eq!(c.compression, Compression::None);
        assert_eq!(c.database, "cityops");
        assert!(c.validation);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = parse("validaton = \"false\"").expect_err("typo refused");
        assert!(err.contains("validaton"), "{err}");
    }

    #[test]
    fn debug_redacts_the_password() {
        let c = ClickHouseConfig {
            password: "s3cret".to_owned(),
            ..Default::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn validate_names_the_wrong_value() {
        let bad_url = ClickHouseConfig {
            url: "127.0.0.1:8123".to_owned(),
            ..Default::default()
        };
        let e = bad_url.validate().expect_err("no scheme");
        assert!(e.to_string().contains("127.0.0.1:8123"));

        let bad_db = ClickHouseConfig {
            database: "city-ops; DROP".to_owned(),
            ..Default::default()
        };
        assert!(matches!(bad_db.validate(), Err(ConfigError::Database(_))));
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("cityops"));
        assert!(is_identifier("_t_1a2b"));
        assert!(!is_identifier("1abc"));
        assert!(!is_identifier(""));
        assert!(!is_identifier("a.b"));
        assert!(!is_identifier("a`b"));
    }
}
