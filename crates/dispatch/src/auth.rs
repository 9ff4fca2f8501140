//! Who is calling: a bearer token resolved to an [`Actor`]. Tokens are configured as their
//! SHA-256 (hex), never in clear, and compared in constant time; a department's token reaches
//! its own orders only (the state machine answers "not your order" otherwise).

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use crate::command::Actor;
use cityops_core::DepartmentId;

/// The `[dispatch.tokens]` section: SHA-256 (hex) of each caller's bearer token.
/// `printf %s "$TOKEN" | sha256sum` gives the value to configure.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenConfig {
    /// The command centre (指挥中心): re-dispatch, extensions, close, reopen, callbacks.
    pub command_center_sha256: Option<String>,
    /// Department id (`gas`, `street_office.210106001`...) → its token's SHA-256.
    pub departments: BTreeMap<String, String>,
}

/// Why a caller is not authenticated (HTTP 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token: send `Authorization: Bearer <your department's token>`")]
    Missing,
    #[error("unknown token: check your department's token with the operations centre")]
    Unknown,
    #[error("token hash of {who} in the configuration is not 64 hex digits")]
    BadConfig { who: String },
}

/// The configured callers, ready to check tokens.
#[derive(Debug, Clone)]
pub struct Authenticator {
    callers: Vec<([u8; 32], Actor)>,
}

/// The SHA-256 (hex) of a token, as the configuration holds it.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn parse_hash(who: &str, hex_hash: &str) -> Result<[u8; 32], AuthError> {
    let bytes = hex::decode(hex_hash.trim()).map_err(|_| AuthError::BadConfig {
        who: who.to_owned(),
    })?;
    bytes.try_into().map_err(|_| AuthError::BadConfig {
        who: who.to_owned(),
    })
}

/// Equal without revealing where two hashes differ.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Authenticator {
    pub fn new(config: &TokenConfig) -> Result<Self, AuthError> {
        let mut callers = Vec::new();
        if let Some(h) = &config.command_center_sha256 {
            callers.push((parse_hash("the command centre", h)?, Actor::CommandCenter));
        }
        for (dept, h) in &config.departments {
            callers.push((
                parse_hash(dept, h)?,
                Actor::Department(DepartmentId::from(dept.as_str())),
            ));
        }
        Ok(Self { callers })
    }

    /// The caller of an `Authorization` header value.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Actor, AuthError> {
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        // Look at every caller, so the time taken does not tell which one matched.
        for (hash, actor) in &self.callers {
            if constant_time_eq(hash, &presented) && found.is_none() {
                found = Some(actor.clone());
            }
        }
        found.ok_or(AuthError::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Authenticator {
        Authenticator::new(&TokenConfig {
            command_center_sha256: Some(token_sha256("cc-secret")),
            departments: BTreeMap::from([
                ("gas".to_owned(), token_sha256("gas-secret")),
                (
                    "street_office.210106001".to_owned(),
                    token_sha256("xinghua-secret"),
                ),
            ]),
        })
        .expect("config")
    }

    #[test]
    fn tokens_resolve_to_their_callers() {
        let a = auth();
        assert_eq!(
            a.authenticate(Some("Bearer gas-secret")),
            Ok(Actor::Department(DepartmentId::from("gas")))
        );
        assert_eq!(
            a.authenticate(Some("Bearer cc-secret")),
            Ok(Actor::CommandCenter)
        );
        assert_eq!(
            a.authenticate(Some("Bearer xinghua-secret")),
            Ok(Actor::Department(DepartmentId::from(
                "street_office.210106001"
            )))
        );
    }

    #[test]
    fn missing_or_wrong_tokens_are_refused() {
        let a = auth();
        assert_eq!(a.authenticate(None), Err(AuthError::Missing));
        assert_eq!(
            a.authenticate(Some("Basic Z2FzOmdhcw==")),
            Err(AuthError::Missing)
        );
        assert_eq!(a.authenticate(Some("Bearer ")), Err(AuthError::Missing));
        assert_eq!(
            a.authenticate(Some("Bearer gas-secreT")),
            Err(AuthError::Unknown)
        );
        // The configured hash itself is not a token.
        assert_eq!(
            a.authenticate(Some(&format!("Bearer {}", token_sha256("gas-secret")))),
            Err(AuthError::Unknown)
        );
    }

    #[test]
    fn a_malformed_hash_in_the_config_names_its_owner() {
        let e = Authenticator::new(&TokenConfig {
            command_center_sha256: None,
            departments: BTreeMap::from([("water".to_owned(), "not-hex".to_owned())]),
        })
        .unwrap_err();
        assert_eq!(
            e,
            AuthError::BadConfig {
                who: "water".into()
            }
        );
        assert!(e.to_string().contains("water"));
    }
}
