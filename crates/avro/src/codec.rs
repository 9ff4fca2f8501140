//! Encoding and decoding of topic values in either framing.

use crate::catalog::{find_fingerprint, Known, TopicValue};
use crate::error::AvroError;
use crate::framing::{Framing, Header, SINGLE_OBJECT_HEADER_LEN};
use crate::registry::{subject_for, Registry, WriterSchema};
use std::sync::Arc;
use std::time::Duration;

/// Initial capacity of an encoded value's buffer (most values are a few hundred bytes).
const INITIAL_CAPACITY: usize = 512;

/// Encodes topic values in one framing and decodes values in both.
///
/// - [`Codec::single_object`] writes Avro single-object encoding (`C3 01` + fingerprint); no
///   network is ever involved.
/// - [`Codec::with_registry`] writes the Confluent wire format (`00` + schema id), registering
///   each schema under `<topic>-value` on first use.
///
/// Both read both framings: a single-object value's writer schema is found by fingerprint among
/// the current schemas and every published version in the repository; a Confluent value's by
/// its id in the registry (a codec without a registry rejects such values with
/// [`AvroError::NoRegistry`]). Data written with an older schema is resolved into the current
/// one.
///
/// The codec is cheap to clone (clones share the registry caches) and `Send + Sync`.
///
/// The async methods ([`Codec::encode`], [`Codec::decode`]) reach the registry on a cache miss
/// only; once a subject is registered and an id fetched, they complete without awaiting
/// anything. The `*_cached` variants never touch the network, for synchronous code: in registry
/// mode they need [`Codec::register`] to have run first (for encoding) or the id to have been
/// seen (for decoding).
#[derive(Debug, Clone)]
pub struct Codec {
    registry: Option<Arc<Registry>>,
}

impl Codec {
    /// A codec that writes Avro single-object encoding and needs no registry.
    pub fn single_object() -> Codec {
        Codec { registry: None }
    }

    /// A codec that writes the Confluent wire format with ids from the schema registry at `url`
    /// (e.g. `http://127.0.0.1:8081`; `http` only). Nothing is requested until the first
    /// registration or unknown id.
    pub fn with_registry(url: &str) -> Result<Codec, AvroError> {
        Ok(Codec {
            registry: Some(Arc::new(Registry::new(url)?)),
        })
    }

    /// The framing this codec writes.
    pub fn framing(&self) -> Framing {
        match self.registry {
            None => Framing::SingleObject,
            Some(_) => Framing::Confluent,
        }
    }

    /// The registry's base URL, in registry mode.
    pub fn registry_url(&self) -> Option<&str> {
        self.registry.as_deref().map(Registry::url)
    }

    /// Registers `T`'s current schema under `<topic>-value` and returns its id (`None` in
    /// single-object mode, where there is nothing to register). Call it at startup for each
    /// output topic to find a registry problem before the first record, and to let
    /// [`Codec::encode_cached`] work. The registry is asked once per topic and schema.
    pub async fn register<T: TopicValue>(&self, topic: &str) -> Result<Option<u32>, AvroError> {
        match &self.registry {
            None => Ok(None),
            Some(registry) => registry.register(topic, T::value_schema()).await.map(Some),
        }
    }

    /// Encodes `value` for `topic`, registering its schema under `<topic>-value` first if this
    /// is a registry codec that has not done so yet.
    pub async fn encode<T: TopicValue>(
        &self,
        topic: &str,
        value: &T,
    ) -> Result<Vec<u8>, AvroError> {
        if let Some(registry) = &self.registry {
            let schema = T::value_schema();
            let id = match registry.cached_id(topic, schema.fingerprint()) {
                Some(id) => id,
                None => registry.register(topic, schema).await?,
            };
            return encode_with(Header::Confluent(id), value);
        }
        self.encode_cached(topic, value)
    }

    /// Encodes `value` for `topic` without touching the network. In registry mode the schema
    /// must already be registered for `topic` ([`Codec::register`] or an earlier
    /// [`Codec::encode`]), else [`AvroError::NotRegistered`].
    pub fn encode_cached<T: TopicValue>(
        &self,
        topic: &str,
        value: &T,
    ) -> Result<Vec<u8>, AvroError> {
        let schema = T::value_schema();
        let header = match &self.registry {
            None => Header::SingleObject(schema.fingerprint()),
            Some(registry) => {
                Header::Confluent(registry.cached_id(topic, schema.fingerprint()).ok_or_else(
                    || AvroError::NotRegistered {
                        subject: subject_for(topic),
                        schema: schema.full_name().to_owned(),
                    },
                )?)
            }
        };
        encode_with(header, value)
    }

    /// Decodes a value in either framing into `T`, fetching an unknown registry id from the
    /// registry (once).
    pub async fn decode<T: TopicValue>(&self, bytes: &[u8]) -> Result<T, AvroError> {
        let (header, datum) = Header::parse(bytes)?;
        match header {
            Header::SingleObject(fingerprint) => decode_single_object(fingerprint, datum),
            Header::Confluent(id) => {
                let registry = self.registry.as_ref().ok_or(AvroError::NoRegistry { id })?;
                let writer = registry.schema(id).await?;
                decode_with_writer(&writer, id, datum)
            }
        }
    }

    /// Registers `T`'s schema under `<topic>-value` like [`Codec::register`], waiting out a
    /// registry that is unreachable or failing ([`AvroError::is_retryable`]): a service calls
    /// it at startup for every topic it writes, so that its hot path encodes with
    /// [`Codec::encode_cached`] and never meets the registry. Only an answer that retrying
    /// cannot change (an incompatible schema, a refused subject) is returned as an error.
    pub async fn register_waiting<T: TopicValue>(&self, topic: &str) -> Result<(), AvroError> {
        waiting_out_the_registry(|| self.register::<T>(topic))
            .await
            .map(drop)
    }

    /// [`Codec::encode`], waiting out a registry that is unreachable or failing when the
    /// schema still has to be registered: for outputs that must not be dropped.
    pub async fn encode_waiting<T: TopicValue>(
        &self,
        topic: &str,
        value: &T,
    ) -> Result<Vec<u8>, AvroError> {
        waiting_out_the_registry(|| self.encode(topic, value)).await
    }

    /// Whether [`Codec::decode_cached`] would have to learn the writer schema of `bytes` from
    /// the registry first: only a Confluent-framed value whose id this codec has not seen yet.
    fn needs_writer_schema(&self, bytes: &[u8]) -> bool {
        match (&self.registry, Header::parse(bytes)) {
            (Some(registry), Ok((Header::Confluent(id), _))) => {
                registry.cached_schema(id).is_none()
            }
            _ => false,
        }
    }

    /// Makes sure [`Codec::decode_cached`] knows the writer schema of `bytes`: a registry id
    /// this codec has not seen yet is fetched, waiting out a registry that is unreachable or
    /// failing ([`AvroError::is_retryable`]); a value must never be dead-lettered because the
    /// registry was down. Returns at once for single-object values, known ids and bytes that
    /// are not framed values (decoding reports those); an error only when the registry answers
    /// for good (e.g. it has no such id: the value's own fault).
    async fn await_writer_schema(&self, bytes: &[u8]) -> Result<(), AvroError> {
        let (Some(registry), Ok((Header::Confluent(id), _))) =
            (&self.registry, Header::parse(bytes))
        else {
            return Ok(());
        };
        waiting_out_the_registry(|| registry.schema(id))
            .await
            .map(drop)
    }

    /// The wait until [`Codec::decode_cached`] knows the writer schema of `bytes`, as an owned
    /// future, or `None` when there is nothing to wait for (a single-object value, an id
    /// already seen, bytes that are not a framed value): the step a stage runs before its
    /// synchronous handler decodes. The future fetches the schema, waiting out a registry that
    /// is unreachable or failing ([`AvroError::is_retryable`]), so that no value is ever
    /// dead-lettered because the registry was down; it fails only when the registry answers
    /// for good (e.g. it has no such id: the value's own fault).
    pub fn writer_schema_wait(
        &self,
        bytes: &[u8],
    ) -> Option<impl std::future::Future<Output = Result<(), AvroError>> + Send + 'static> {
        if !self.needs_writer_schema(bytes) {
            return None;
        }
        let (codec, bytes) = (self.clone(), bytes.to_vec());
        Some(async move { codec.await_writer_schema(&bytes).await })
    }

    /// Decodes `bytes` like [`Codec::decode`], but waits out a registry outage instead of
    /// failing (see [`Codec::writer_schema_wait`]).
    pub async fn decode_waiting<T: TopicValue>(&self, bytes: &[u8]) -> Result<T, AvroError> {
        self.await_writer_schema(bytes).await?;
        self.decode_cached(bytes)
    }

    /// Decodes a value in either framing into `T` without touching the network: a registry id
    /// this codec has not seen yet gives [`AvroError::SchemaIdNotCached`].
    pub fn decode_cached<T: TopicValue>(&self, bytes: &[u8]) -> Result<T, AvroError> {
        let (header, datum) = Header::parse(bytes)?;
        match header {
            Header::SingleObject(fingerprint) => decode_single_object(fingerprint, datum),
            Header::Confluent(id) => {
                let registry = self.registry.as_ref().ok_or(AvroError::NoRegistry { id })?;
                let writer =
                    registry
                        .cached_schema(id)
                        .ok_or_else(|| AvroError::SchemaIdNotCached {
                            id,
                            url: registry.url().to_owned(),
                        })?;
                decode_with_writer(&writer, id, datum)
            }
        }
    }
}

/// Runs `attempt` until it succeeds or fails for good, waiting out a registry that is
/// unreachable or failing ([`AvroError::is_retryable`]): pauses from 100 ms, doubling, at most
/// 10 s, each logged as a warning.
async fn waiting_out_the_registry<R, F, Fut>(mut attempt: F) -> Result<R, AvroError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<R, AvroError>>,
{
    let mut pause = Duration::ZERO;
    loop {
        match attempt().await {
            Err(error) if error.is_retryable() => {
                pause = (pause * 2).clamp(Duration::from_millis(100), Duration::from_secs(10));
                tracing::warn!(%error, retry_in = ?pause, "the schema registry is not answering; waiting for it");
                tokio::time::sleep(pause).await;
            }
            other => return other,
        }
    }
}

fn encode_with<T: TopicValue>(header: Header, value: &T) -> Result<Vec<u8>, AvroError> {
    let mut out = Vec::with_capacity(INITIAL_CAPACITY.max(SINGLE_OBJECT_HEADER_LEN));
    header.write_to(&mut out);
    T::value_schema().encode_datum(value, &mut out)?;
    Ok(out)
}

fn decode_single_object<T: TopicValue>(
    fingerprint: crate::Fingerprint,
    datum: &[u8],
) -> Result<T, AvroError> {
    let known = find_fingerprint(fingerprint).ok_or_else(|| AvroError::UnknownFingerprint {
        fingerprint,
        expected: T::value_schema().full_name().to_owned(),
    })?;
    decode_known(known, None, datum)
}

fn decode_known<T: TopicValue>(
    known: Known,
    id: Option<u32>,
    datum: &[u8],
) -> Result<T, AvroError> {
    let expected = T::value_schema();
    if known.value_schema().kind() != T::KIND {
        let mut found = known.label();
        if let Some(id) = id {
            found.push_str(&format!(" (registry id {id})"));
        }
        return Err(AvroError::WrongSchema {
            found,
            expected: expected.full_name().to_owned(),
        });
    }
    match known {
        Known::Current(schema) => schema.decode_current(datum),
        Known::Version(schema, version) => schema.decode_version(version, datum),
    }
}

fn decode_with_writer<T: TopicValue>(
    writer: &WriterSchema,
    id: u32,
    datum: &[u8],
) -> Result<T, AvroError> {
    match writer {
        WriterSchema::Known(known) => decode_known(*known, Some(id), datum),
        WriterSchema::Foreign {
            full_name,
            fingerprint,
            schema,
            incompatibility,
        } => {
            let expected = T::value_schema();
            let label = format!("{full_name} (registry id {id}, fingerprint {fingerprint})");
            if full_name != expected.full_name() {
                return Err(AvroError::WrongSchema {
                    found: label,
                    expected: expected.full_name().to_owned(),
                });
            }
            if let Some(reason) = incompatibility {
                return Err(AvroError::Incompatible {
                    writer: label,
                    reader: expected.label(),
                    reason: reason.clone(),
                });
            }
            expected.decode_foreign(schema, &label, datum)
        }
    }
}
