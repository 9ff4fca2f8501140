//! The `[open311]` section of the config, and `config/open311.toml` (the attributes some
//! services ask for).

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The `[open311]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Open311Config {
    /// SHA-256 (hex) of each API key allowed to file requests (`printf %s "$KEY" | sha256sum`).
    pub api_keys_sha256: Vec<String>,
    /// The one jurisdiction served; requests naming another get 404.
    pub jurisdiction_id: String,
    /// The attributes file.
    pub services: PathBuf,
    /// Public base URL of the endpoint, for the discovery document.
    pub public_url: String,
    /// Who to contact, for the discovery document.
    pub contact: String,
    /// Where a developer gets an API key, for the discovery document.
    pub key_service: String,
}

impl Default for Open311Config {
    fn default() -> Self {
        Self {
            api_keys_sha256: Vec::new(),
            jurisdiction_id: "shenyang.gov.cn".to_owned(),
            services: PathBuf::from("config/open311.toml"),
            public_url: "http://127.0.0.1:8081/open311/v2".to_owned(),
            contact: "沈阳市城市运行管理中心 12345".to_owned(),
            key_service: "向市城市运行管理中心申请 API key".to_owned(),
        }
    }
}

impl Open311Config {
    /// Whether `key` is one of the configured API keys (compared by hash, in constant time).
    pub fn key_allowed(&self, key: &str) -> bool {
        let presented = hex::encode(Sha256::digest(key.as_bytes()));
        let mut found = false;
        for h in &self.api_keys_sha256 {
            let h = h.trim().to_ascii_lowercase();
            let same = h.len() == presented.len()
                && h.bytes()
                    .zip(presented.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0;
            found |= same;
        }
        found
    }
}

/// One value of a list attribute.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeValue {
    pub key: String,
    pub name: String,
}

/// An attribute a service asks for (GeoReport v2 service definition).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    pub service_code: String,
    pub code: String,
    /// string, number, datetime, text, singlevaluelist or multivaluelist.
    pub datatype: String,
    pub required: bool,
    #[serde(default)]
    pub datatype_description: String,
    pub order: u32,
    pub description: String,
    #[serde(default)]
    pub values: Vec<AttributeValue>,
}

/// `config/open311.toml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicesFile {
    #[serde(default, rename = "attribute")]
    pub attributes: Vec<Attribute>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_by_hash() {
        let c = Open311Config {
            api_keys_sha256: vec![hex::encode(Sha256::digest(b"app-key-1"))],
            ..Open311Config::default()
        };
        assert!(c.key_allowed("app-key-1"));
        assert!(!c.key_allowed("app-key-2"));
        assert!(!c.key_allowed(""));
    }
}
