use serde::Deserialize;
use std::collections::BTreeMap;

use crate::topics;

/// How cityops reaches Kafka. Every service embeds it as `[kafka]` in its config.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma separated. Use `127.0.0.1`, not `localhost`, for Tansu.
    pub brokers: String,
    /// Prefix of the client id (the service name is appended).
    pub client_id: String,
    /// Consumer session timeout: how soon a dead member's partitions move to another.
    pub session_timeout_ms: u32,
    /// How long the producer keeps retrying a record before reporting it undeliverable.
    pub delivery_timeout_ms: u32,
    /// How often librdkafka reports statistics (consumer lag); 0 disables them.
    pub statistics_interval_ms: u32,
    /// Any further librdkafka settings, passed through as they are.
    pub extra: BTreeMap<String, String>,
    pub topics: TopicsConfig,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:19092".to_owned(),
            client_id: "cityops".to_owned(),
            session_timeout_ms: 10_000,
            delivery_timeout_ms: 30_000,
            statistics_interval_ms: 5_000,
            extra: BTreeMap::new(),
            topics: TopicsConfig::default(),
        }
    }
}

/// Topic names and partition counts.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopicsConfig {
    pub raw_iot: String,
    pub raw_hotline: String,
    pub events: String,
    pub incidents: String,
    pub workorder_events: String,
    pub telemetry: String,
    pub dead_letter: String,
    /// Prefix of the departments' topics: `<prefix>.<dept>.orders.v1` and
    /// `<prefix>.<dept>.updates.v1`.
    pub department_prefix: String,
    /// Partitions of a topic cityops creates when it is not listed in `partitions`.
    pub default_partitions: i32,
    pub replication_factor: i32,
    /// Partition counts by topic name.
    pub partitions: BTreeMap<String, i32>,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        Self {
            raw_iot: topics::RAW_IOT.to_owned(),
            raw_hotline: topics::RAW_HOTLINE.to_owned(),
            events: topics::EVENTS.to_owned(),
            incidents: topics::INCIDENTS.to_owned(),
            workorder_events: topics::WORKORDER_EVENTS.to_owned(),
            telemetry: topics::TELEMETRY.to_owned(),
            dead_letter: topics::DEAD_LETTER.to_owned(),
            department_prefix: "city.dept".to_owned(),
            default_partitions: 6,
            replication_factor: 1,
            partitions: BTreeMap::new(),
        }
    }
}

impl TopicsConfig {
    /// The partition count configured for `topic`.
    pub fn partitions_of(&self, topic: &str) -> i32 {
        self.partitions
            .get(topic)
            .copied()
            .unwrap_or(self.default_partitions)
    }

    /// The topic of work-order snapshots for department `dept`.
    pub fn department_orders(&self, dept: &str) -> String {
        format!("{}.{dept}.orders.v1", self.department_prefix)
    }

    /// The topic a department reports its updates on.
    pub fn department_updates(&self, dept: &str) -> String {
        format!("{}.{dept}.updates.v1", self.department_prefix)
    }

    /// Every fixed topic of the pipeline (department topics are created per department).
    pub fn pipeline_topics(&self) -> Vec<&str> {
        vec![
            &self.raw_iot,
            &self.raw_hotline,
            &self.events,
            &self.incidents,
            &self.workorder_events,
            &self.telemetry,
            &self.dead_letter,
        ]
    }
}

impl KafkaConfig {
    pub(crate) fn client_config(&self, service: &str) -> rdkafka::ClientConfig {
        let mut c = rdkafka::ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", format!("{}-{service}", self.client_id))
            .set(
                "statistics.interval.ms",
                self.statistics_interval_ms.to_string(),
            );
        for (k, v) in &self.extra {
            c.set(k, v);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_counts_fall_back_to_default() {
        let mut t = TopicsConfig::default();
        t.partitions.insert("city.events.v1".into(), 12);
        assert_eq!(t.partitions_of("city.events.v1"), 12);
        assert_eq!(t.partitions_of("city.incidents.v1"), 6);
        assert_eq!(t.pipeline_topics().len(), 7);
        assert_eq!(
            t.department_orders("gas"),
            crate::topics::department_orders("gas")
        );
        assert_eq!(
            t.department_updates("gas"),
            crate::topics::department_updates("gas")
        );
    }
}
