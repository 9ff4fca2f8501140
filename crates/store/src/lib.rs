//! ClickHouse for cityops: where the server is ([`ClickHouseConfig`]), the schema and its
//! [migrations](migrate), one row type per table ([`rows`]), and the [batched writer](writer)
//! that tells the sink which Kafka offsets a finished insert covers.
//!
//! Every table is idempotent: rows have deterministic keys and the tables are
//! `ReplacingMergeTree`s partitioned by the row's own immutable time, so a replay never
//! counts twice once read with `FINAL` (see `docs/clickhouse.md`).
//!
//! The schema runs on ClickHouse 18.16 (Debian's, used by the tests here) and on current
//! releases. The `clickhouse` crate needs [`ClickHouseConfig::validation`] off and
//! [`ClickHouseConfig::compression`] `none` for 18.16; the defaults suit current releases.

pub mod classify;
pub mod config;
pub mod migrate;
pub mod orders;
pub mod rows;
pub mod writer;

#[cfg(test)]
#[path = "../tests/common/fixtures.rs"]
mod fixtures;

pub use classify::{classify, ErrorClass};
pub use config::{ClickHouseConfig, Compression, ConfigError};
pub use migrate::{migrate, MigrationError, MigrationReport};
pub use rows::{
    DeadLetter, DeadLetterRow, EventRow, IncidentRow, PayloadPolicy, TableRow, TelemetryRow,
    WorkOrderEventRow, WorkOrderRow,
};
pub use writer::{
    flush_timer, Batch, BatchConfig, BatchWriter, CoveredOffsets, FlushReason, Flushed,
    InsertError, Origin,
};
