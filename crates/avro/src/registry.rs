//! A client of the Confluent Schema Registry REST API, with caches both ways:
//!
//! - `POST {url}/subjects/{subject}/versions` with `{"schema": "<json>"}` answers `{"id": N}`:
//!   registers a schema (or finds it, if already registered) under a subject;
//! - `GET {url}/schemas/ids/{id}` answers `{"schema": "<json>"}`: the schema with an id.
//!
//! Each (subject, schema) is registered and each id fetched at most once per client: a miss
//! takes an async lock, so concurrent misses make one request, not many.

use crate::catalog::{find_fingerprint, value_schemas, Known, ValueSchema};
use crate::error::AvroError;
use crate::fingerprint::Fingerprint;
use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::Schema;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

/// The registry API's content type.
pub const REGISTRY_CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// How long one registry request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// At most this much of an error answer's body is kept in messages.
const MAX_BODY_IN_ERROR: usize = 500;

/// The writer schema behind a registry id.
#[derive(Debug)]
pub(crate) enum WriterSchema {
    /// A schema of this repository (current or published version), found by fingerprint.
    Known(Known),
    /// A schema the repository does not have (e.g. registered by a newer producer).
    Foreign {
        full_name: String,
        fingerprint: Fingerprint,
        schema: Schema,
        /// Why the current schema of the same name cannot read it, if it cannot (checked once,
        /// when fetched).
        incompatibility: Option<String>,
    },
}

/// A schema registry client with its caches.
#[derive(Debug)]
pub(crate) struct Registry {
    base: String,
    http: reqwest::Client,
    /// Registered ids, by fingerprint then topic (so a lookup borrows the topic).
    registered: RwLock<HashMap<Fingerprint, HashMap<String, u32>>>,
    /// Writer schemas by id.
    schemas: RwLock<HashMap<u32, Arc<WriterSchema>>>,
    /// Held while a miss is served, so that one request serves concurrent misses.
    miss: tokio::sync::Mutex<()>,
}

/// The subject of a topic's values under the TopicNameStrategy: `<topic>-value`.
pub fn subject_for(topic: &str) -> String {
    format!("{topic}-value")
}

impl Registry {
    pub(crate) fn new(url: &str) -> Result<Registry, AvroError> {
        let invalid = |reason: &str| AvroError::InvalidRegistryUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let base = url.trim().trim_end_matches('/');
        let Some(host) = base.strip_prefix("http://") else {
            return Err(invalid(if base.starts_with("https://") {
                "https is not supported by this build (reqwest without TLS); use http:// \
                 (e.g. through a local TLS-terminating proxy)"
            } else {
                "must start with http://"
            }));
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| invalid(&format!("cannot build the HTTP client: {e}")))?;
        Ok(Registry {
            base: base.to_owned(),
            http,
            registered: RwLock::default(),
            schemas: RwLock::default(),
            miss: tokio::sync::Mutex::new(()),
        })
    }

    pub(crate) fn url(&self) -> &str {
        &self.base
    }

    /// The id under which `topic`'s subject has this schema, if registered by this client.
    pub(crate) fn cached_id(&self, topic: &str, fingerprint: Fingerprint) -> Option<u32> {
        let registered = self
            .registered
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        registered.get(&fingerprint)?.get(topic).copied()
    }

    /// The writer schema with this id, if fetched (or registered) by this client.
    pub(crate) fn cached_schema(&self, id: u32) -> Option<Arc<WriterSchema>> {
        let schemas = self.schemas.read().unwrap_or_else(PoisonError::into_inner);
        schemas.get(&id).cloned()
    }

    /// Registers `value`'s current schema under `topic`'s subject (once) and returns its id.
    pub(crate) async fn register(
        &self,
        topic: &str,
        value: &'static ValueSchema,
    ) -> Result<u32, AvroError> {
        let fingerprint = value.fingerprint();
        if let Some(id) = self.cached_id(topic, fingerprint) {
            return Ok(id);
        }
        let _miss = self.miss.lock().await;
        if let Some(id) = self.cached_id(topic, fingerprint) {
            return Ok(id);
        }
        let url = format!(
            "{}/subjects/{}/versions",
            self.base,
            encode_path_segment(&subject_for(topic))
        );
        let body = serde_json::json!({ "schema": value.compact_json() }).to_string();
        let request = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, REGISTRY_CONTENT_TYPE)
            .header(
                reqwest::header::ACCEPT,
                format!("{REGISTRY_CONTENT_TYPE}, application/json"),
            )
            .body(body);
        let answer: serde_json::Value = self.send(request, &url).await?;
        let id = answer
            .get("id")
            .and_then(serde_json::Value::as_u64)
            .and_then(|id| u32::try_from(id).ok())
            .ok_or_else(|| AvroError::RegistryResponse {
                url: url.clone(),
                reason: format!("expected {{\"id\": <u32>}}, got {answer}"),
            })?;
        self.registered
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(fingerprint)
            .or_default()
            .insert(topic.to_owned(), id);
        self.schemas
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id)
            .or_insert_with(|| Arc::new(WriterSchema::Known(Known::Current(value))));
        Ok(id)
    }

    /// The writer schema with this id, fetched from the registry on the first request.
    pub(crate) async fn schema(&self, id: u32) -> Result<Arc<WriterSchema>, AvroError> {
        if let Some(schema) = self.cached_schema(id) {
            return Ok(schema);
        }
        let _miss = self.miss.lock().await;
        if let Some(schema) = self.cached_schema(id) {
            return Ok(schema);
        }
        let url = format!("{}/schemas/ids/{id}", self.base);
        let request = self.http.get(&url).header(
            reqwest::header::ACCEPT,
            format!("{REGISTRY_CONTENT_TYPE}, application/json"),
        );
        let answer: serde_json::Value = self.send(request, &url).await?;
        let writer = Arc::new(parse_schema_answer(&answer, id, &url)?);
        self.schemas
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Arc::clone(&writer));
        Ok(writer)
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<serde_json::Value, AvroError> {
        let unreachable = |e: reqwest::Error| AvroError::RegistryUnreachable {
            url: url.to_owned(),
            reason: error_chain(&e.without_url()),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            let mut text = String::from_utf8_lossy(&body).into_owned();
            if text.len() > MAX_BODY_IN_ERROR {
                let mut cut = MAX_BODY_IN_ERROR;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
                text.push_str("...");
            }
            return Err(AvroError::RegistryStatus {
                url: url.to_owned(),
                status: status.as_u16(),
                body: text,
            });
        }
        serde_json::from_slice(&body).map_err(|e| AvroError::RegistryResponse {
            url: url.to_owned(),
            reason: format!("answer is not JSON: {e}"),
        })
    }
}

/// Reads a `GET /schemas/ids/{id}` answer: `{"schema": "...", "schemaType"?: "AVRO",
/// "references"?: []}`.
fn parse_schema_answer(
    answer: &serde_json::Value,
    id: u32,
    url: &str,
) -> Result<WriterSchema, AvroError> {
    let bad = |reason: String| AvroError::RegistryResponse {
        url: url.to_owned(),
        reason,
    };
    if let Some(kind) = answer.get("schemaType").and_then(serde_json::Value::as_str) {
        if kind != "AVRO" {
            return Err(bad(format!("schema id {id} is a {kind} schema, not Avro")));
        }
    }
    if let Some(refs) = answer
        .get("references")
        .and_then(serde_json::Value::as_array)
    {
        if !refs.is_empty() {
            return Err(bad(format!(
                "schema id {id} uses schema references, which cityops does not support \
                 (its schemas are self-contained)"
            )));
        }
    }
    let json = answer
        .get("schema")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| bad(format!("expected {{\"schema\": \"<json>\"}}, got {answer}")))?;
    let invalid = |reason: String| AvroError::InvalidSchema {
        schema: format!("id {id} from {url}"),
        reason,
    };
    let fingerprint = Fingerprint::of_schema_json(json).map_err(invalid)?;
    if let Some(known) = find_fingerprint(fingerprint) {
        return Ok(WriterSchema::Known(known));
    }
    let schema = Schema::parse_str(json).map_err(|e| invalid(e.to_string()))?;
    let full_name = schema
        .name()
        .map(|n| n.fullname(None))
        .unwrap_or_else(|| format!("(unnamed {json})"));
    let incompatibility = value_schemas()
        .iter()
        .find(|v| v.full_name() == full_name)
        .and_then(|reader| SchemaCompatibility::can_read(&schema, reader.schema()).err())
        .map(|e| e.to_string());
    Ok(WriterSchema::Foreign {
        full_name,
        fingerprint,
        schema,
        incompatibility,
    })
}

/// An error and its sources, joined: reqwest's own message rarely says why.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// Percent-encodes a URL path segment (keeps RFC 3986 unreserved characters).
fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_the_topic_name_strategy() {
        assert_eq!(subject_for("city.events.v1"), "city.events.v1-value");
        assert_eq!(
            encode_path_segment("city.dept.a b/c.orders.v1-value"),
            "city.dept.a%20b%2Fc.orders.v1-value"
        );
    }

    #[test]
    fn registry_urls_are_checked() {
        assert!(Registry::new("http://127.0.0.1:8081/").is_ok());
        let https = Registry::new("https://registry.example").expect_err("no TLS");
        assert!(
            https.to_string().contains("https is not supported"),
            "{https}"
        );
        assert!(Registry::new("registry:8081").is_err());
        assert!(Registry::new("http://").is_err());
    }

    #[test]
    fn schema_answers_are_checked() {
        let url = "http://r/schemas/ids/3";
        let proto = serde_json::json!({"schema": "syntax = \"proto3\";", "schemaType": "PROTOBUF"});
        let err = parse_schema_answer(&proto, 3, url).expect_err("not Avro");
        assert!(
            err.to_string().contains("PROTOBUF schema, not Avro"),
            "{err}"
        );
        let refs = serde_json::json!({"schema": "\"string\"", "references": [{"name": "x"}]});
        assert!(parse_schema_answer(&refs, 3, url).is_err());
        let garbage = serde_json::json!({"schema": "{not json"});
        let err = parse_schema_answer(&garbage, 3, url).expect_err("invalid");
        assert!(
            err.to_string().starts_with("invalid Avro schema id 3"),
            "{err}"
        );
        let foreign =
            serde_json::json!({"schema": r#"{"type":"record","name":"x.Y","fields":[]}"#});
        match parse_schema_answer(&foreign, 3, url).expect("valid") {
            WriterSchema::Foreign { full_name, .. } => assert_eq!(full_name, "x.Y"),
            other => panic!("expected a foreign schema, got {other:?}"),
        }
    }
}
