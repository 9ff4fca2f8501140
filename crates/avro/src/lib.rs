//! Avro schemas and codecs for the values on cityops topics.
//!
//! The schemas in `schemas/avro/*.avsc` are the single source of the wire shape of the
//! `cityops-core` value types ([`TopicValue`]); they are embedded in this crate, parsed once per
//! process, and checked against the Rust types by the crate's tests. Every published version is
//! kept under `schemas/avro/history/<Name>/v<N>.avsc`, so data written with an older version
//! stays readable: it is resolved into the current schema on decoding.
//!
//! | topic | value |
//! |---|---|
//! | `city.events.v1` | [`CityEvent`](cityops_core::CityEvent) |
//! | `city.incidents.v1` | [`Incident`](cityops_core::Incident) |
//! | `city.workorders.events.v1` | [`WorkOrderEvent`](cityops_core::WorkOrderEvent) |
//! | `city.dept.<dept>.orders.v1` | [`WorkOrder`](cityops_core::WorkOrder) |
//! | `city.dept.<dept>.updates.v1` | [`DepartmentUpdate`](cityops_core::DepartmentUpdate) |
//! | `city.telemetry.v1` | [`Reading`](cityops_core::Reading) |
//!
//! A [`Codec`] writes one of two standard framings and reads both:
//!
//! ```text
//! single-object:  C3 01 | CRC-64-AVRO fingerprint of the writer schema, 8 bytes LE | datum
//! Confluent:      00    | schema registry id, 4 bytes BE                           | datum
//! ```
//!
//! ```
//! # async fn demo(event: cityops_core::CityEvent) -> Result<(), cityops_avro::AvroError> {
//! use cityops_avro::Codec;
//! let codec = Codec::single_object();
//! let bytes = codec.encode("city.events.v1", &event).await?;
//! let back: cityops_core::CityEvent = codec.decode(&bytes).await?;
//! assert_eq!(back, event);
//! # Ok(()) }
//! ```
//!
//! See `docs/schemas.md` for the byte layouts, schema evolution and reading the topics from
//! other languages.

/// The `apache-avro` crate this one is built on, for [`ValueSchema::schema`]'s type.
pub use apache_avro;

mod catalog;
mod codec;
mod error;
mod fingerprint;
mod framing;
mod registry;

pub use catalog::{
    value_schema, value_schemas, SchemaVersion, TopicValue, ValueKind, ValueSchema, NAMESPACE,
};
pub use codec::Codec;
pub use error::AvroError;
pub use fingerprint::{canonical_form, canonical_form_of_str, rabin, Fingerprint};
pub use framing::{
    Framing, Header, CONFLUENT_HEADER_LEN, CONFLUENT_MAGIC, SINGLE_OBJECT_HEADER_LEN,
    SINGLE_OBJECT_MAGIC,
};
pub use registry::{subject_for, REGISTRY_CONTENT_TYPE};

/// The published schema versions embedded in the crate, `(kind, version, JSON)`; for the
/// crate's own consistency tests.
#[doc(hidden)]
pub fn embedded_history() -> impl Iterator<Item = (ValueKind, u32, &'static str)> {
    catalog::HISTORY.iter().copied()
}
