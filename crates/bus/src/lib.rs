//! Kafka for cityops, over rdkafka (librdkafka).
//!
//! - [`Producer`]: idempotent (`enable.idempotence=true`), reports each delivery.
//! - [`Consumer`]: at-least-once. It hands out [`Delivery`]s; the caller acknowledges each one
//!   when what it produced or wrote is safe, and the consumer stores, per partition and in
//!   order, only the offset below which everything was acknowledged (Vector's Kafka source is
//!   the model). Offsets are committed by librdkafka's auto-commit of *stored* offsets, and on
//!   revoke and close.
//! - [`DeadLetters`]: the original bytes to `city.dlq.v1` with error, stage and origin headers.
//! - [`admin::ensure_topics`]: topic creation with partition counts from config.
//! - [`run_stage`]: the consume → handle → produce → acknowledge loop every service runs.
//! - [`replay::read_partition`]: one partition from its beginning, to rebuild state.
//! - Metrics: throughput counters per topic and consumer lag per partition.

pub mod ack;
pub mod admin;
mod config;
mod consumer;
mod dlq;
mod error;
mod metrics_ctx;
mod producer;
mod record;
pub mod replay;
mod stage;
pub mod topics;

pub use config::{KafkaConfig, TopicsConfig};
pub use consumer::{Consumer, Delivery};
pub use dlq::{headers as dlq_headers, DeadLetters};
pub use error::BusError;
pub use producer::{Delivered, InFlight, Producer};
pub use record::{OutRecord, Record};
pub use stage::{run_stage, run_stage_prepared, Outcome, StageConfig, StageSummary};
