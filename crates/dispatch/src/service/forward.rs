//! Department updates in: every `<prefix>.<dept>.updates.v1` topic (found by pattern, also
//! those created later) is read by one consumer group, and each update becomes an
//! [`OrderCommand`] on the commands topic, keyed by the order's street key, so it reaches the
//! dispatch instance that owns the order, in order with that street's incidents.
//!
//! The topic says who acts: only a department may write to its own updates topic (broker
//! ACLs in production), so the `department` field of the update is checked against it, and an
//! update naming another department is forwarded as refused (recorded on the order).

use cityops_avro::Codec;
use cityops_bus::{
    run_stage_prepared, Consumer, DeadLetters, KafkaConfig, OutRecord, Outcome, Producer, Record,
    StageConfig,
};
use cityops_core::DepartmentUpdate;

use crate::command::command_from_update;
use crate::ids::street_key_of;

/// What a department's update record is, or why it is not one.
pub fn read_update(codec: &Codec, payload: &[u8]) -> Result<DepartmentUpdate, String> {
    // JSON is accepted besides Avro: the easiest form for a department's own system.
    if payload.first() == Some(&b'{') {
        serde_json::from_slice(payload)
            .map_err(|e| format!("not a department update (JSON): {e}; see docs/departments.md"))
    } else {
        codec
            .decode_cached(payload)
            .map_err(|e| format!("not a department update (Avro): {e}; see docs/departments.md"))
    }
}

/// Forwards department updates until `shutdown`.
pub async fn run(
    kafka: &KafkaConfig,
    config: &super::DispatchConfig,
    producer: Producer,
    codec: Codec,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<cityops_bus::StageSummary, cityops_bus::BusError> {
    let topics = &kafka.topics;
    let pattern = topics.department_updates_pattern();
    let consumer = Consumer::with_settings(
        &kafka.with_fetch_wait_max_ms(config.updates_fetch_wait_ms),
        "dispatch-updates",
        &config.updates_group(),
        &[&pattern],
        &[(
            "topic.metadata.refresh.interval.ms",
            &config.updates_discovery_ms.to_string(),
        )],
    )?;
    let dead_letters = DeadLetters::new(
        producer.clone(),
        topics.dead_letter.clone(),
        "dispatch-updates",
    );
    let summary = run_stage_prepared(
        &consumer,
        &producer,
        &dead_letters,
        &StageConfig::new("dispatch-updates"),
        |record: &Record| codec.writer_schema_wait(record.payload.as_deref()?),
        |record: &Record| forward(kafka, &codec, record),
        shutdown,
    )
    .await;
    consumer.close();
    Ok(summary)
}

fn forward(kafka: &KafkaConfig, codec: &Codec, record: &Record) -> Outcome {
    let topics = &kafka.topics;
    let Some(department) = topics.department_of_updates_topic(&record.topic) else {
        return Outcome::reject(format!(
            "{} is not a department updates topic",
            record.topic
        ));
    };
    let update = match read_update(codec, record.payload.as_deref().unwrap_or_default()) {
        Ok(u) => u,
        Err(reason) => return Outcome::reject(reason),
    };
    let Some(street_key) = street_key_of(&update.order_id) else {
        return Outcome::reject(format!(
            "order id {:?} is not a cityops work order id (WO-<street key>-<12 hex digits>)",
            update.order_id
        ));
    };
    if update.update_id.trim().is_empty() {
        return Outcome::reject("the update has no update_id: give each update a unique id");
    }
    let command = command_from_update(&update, department);
    tracing::debug!(command = %command.command_id, order = %command.order_id, "department update forwarded");
    match codec.encode_cached(&topics.commands, &command) {
        Ok(bytes) => Outcome::Produce(vec![OutRecord::new(
            topics.commands.as_str(),
            street_key,
            bytes,
        )]),
        Err(e) => Outcome::reject(format!("cannot encode the order command: {e}")),
    }
}
