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
    /// Longest a consumer's fetch waits at the broker for new records. Each stage's hop can
    /// take this long when the broker answers only at the end of the wait (Tansu 0.6 does;
    /// Apache Kafka answers as soon as records arrive, so there it only paces idle polls).
    pub fetch_wait_max_ms: u32,
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
            fetch_wait_max_ms: 50,
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
    /// Order commands for dispatch (department updates and HTTP requests), keyed by the
    /// order's street key. Partitioned like `incidents`.
    pub commands: String,
    /// What became of each order command, keyed by command id.
    pub outcomes: String,
    /// Prefix of the departments' topics: `<prefix>.<dept>.orders.v1` and
    /// `<prefix>.<dept>.updates.v1`.
    pub department_prefix: String,
    /// Partitions of a topic cityops creates when it is not listed in `partitions`.
    pub default_partitions: i32,
    /// Partitions of each department's orders and updates topic, unless listed in
    /// `partitions`. One is plenty for one department's orders, and every partition read is
    /// work for the broker at every fetch, data or not: at 6 each, the local stack's 37
    /// departments were 222 partitions for the updates forwarder alone (docs/operations.md,
    /// *Partitions and parallelism*).
    pub department_partitions: i32,
    pub replication_factor: i32,
    /// Partition counts by topic name.
    pub partitions: BTreeMap<String, i32>,
    /// Topic configs set when cityops creates a topic, by topic name, over the defaults of
    /// [`TopicsConfig::settings_of`] (`{ "city.raw.iot.v1" = { "retention.ms" = "86400000" } }`).
    /// A topic that exists already keeps its configs (change them with `kafka-configs.sh`).
    pub settings: BTreeMap<String, BTreeMap<String, String>>,
}

const DAY_MS: u64 = 86_400_000;

/// The last part of a department's orders and updates topic names.
const ORDERS: &str = "orders.v1";
const UPDATES: &str = "updates.v1";

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
            commands: topics::COMMANDS.to_owned(),
            outcomes: topics::OUTCOMES.to_owned(),
            department_prefix: "city.dept".to_owned(),
            default_partitions: 6,
            department_partitions: 1,
            replication_factor: 1,
            partitions: BTreeMap::new(),
            settings: BTreeMap::new(),
        }
    }
}

impl TopicsConfig {
    /// The partition count configured for `topic`.
    /// The commands and work-order topics, unless listed, take the partition count of the
    /// incidents topic: dispatch needs the three partitioned alike (the same street key in
    /// the same partition number).
    pub fn partitions_of(&self, topic: &str) -> i32 {
        if let Some(n) = self.partitions.get(topic) {
            return *n;
        }
        if topic == self.commands || topic == self.workorder_events {
            return self.partitions_of(&self.incidents);
        }
        if self.department_of(topic, ORDERS).is_some()
            || self.department_of(topic, UPDATES).is_some()
        {
            return self.department_partitions;
        }
        self.default_partitions
    }

    /// The topic configs cityops creates `topic` with (docs/operations.md, *Backup and
    /// replay*): the work-order history forever and never compacted (it is the system of
    /// record); a department's orders compacted (the latest snapshot of each order); the
    /// topics ClickHouse tables are rebuilt from for 30 days; the raw intake, which may hold
    /// callers' personal data, for 3 days. Then what `settings` says for the topic.
    pub fn settings_of(&self, topic: &str) -> Vec<(String, String)> {
        let mut out: BTreeMap<String, String> = BTreeMap::new();
        let mut set = |k: &str, v: String| {
            out.insert(k.to_owned(), v);
        };
        if topic == self.workorder_events {
            set("retention.ms", "-1".to_owned());
            set("retention.bytes", "-1".to_owned());
            set("cleanup.policy", "delete".to_owned());
        } else if [
            &self.events,
            &self.incidents,
            &self.telemetry,
            &self.dead_letter,
        ]
        .iter()
        .any(|t| t.as_str() == topic)
        {
            set("retention.ms", (30 * DAY_MS).to_string());
        } else if topic == self.raw_iot || topic == self.raw_hotline {
            set("retention.ms", (3 * DAY_MS).to_string());
        } else if self.department_of(topic, ORDERS).is_some() {
            set("cleanup.policy", "compact".to_owned());
        }
        if let Some(given) = self.settings.get(topic) {
            for (k, v) in given {
                set(k, v.clone());
            }
        }
        out.into_iter().collect()
    }

    /// The regular expression (librdkafka's `^` form) of every department's updates topic.
    pub fn department_updates_pattern(&self) -> String {
        format!(
            "^{}\\.[^.]+(\\.[^.]+)?\\.updates\\.v1$",
            regex_escape(&self.department_prefix)
        )
    }

    /// The department whose updates topic `topic` is.
    pub fn department_of_updates_topic<'a>(&self, topic: &'a str) -> Option<&'a str> {
        self.department_of(topic, UPDATES)
    }

    /// The department whose `kind` topic (`ORDERS` or `UPDATES`) `topic` is.
    fn department_of<'a>(&self, topic: &'a str, kind: &str) -> Option<&'a str> {
        topic
            .strip_prefix(self.department_prefix.as_str())?
            .strip_prefix('.')?
            .strip_suffix(kind)?
            .strip_suffix('.')
            .filter(|d| !d.is_empty())
    }

    /// The topic of work-order snapshots for department `dept`.
    pub fn department_orders(&self, dept: &str) -> String {
        format!("{}.{dept}.{ORDERS}", self.department_prefix)
    }

    /// The topic a department reports its updates on.
    pub fn department_updates(&self, dept: &str) -> String {
        format!("{}.{dept}.{UPDATES}", self.department_prefix)
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
            &self.commands,
            &self.outcomes,
        ]
    }
}

/// `s` with the characters special in a POSIX extended regular expression escaped.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if "\\.^$|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl KafkaConfig {
    /// This configuration with another `fetch_wait_max_ms`, for a reader off the pipeline's
    /// critical path that may wait longer at the broker (on Tansu every fetch costs queries
    /// for each partition it covers, data or not).
    pub fn with_fetch_wait_max_ms(&self, ms: u32) -> Self {
        Self {
            fetch_wait_max_ms: ms,
            ..self.clone()
        }
    }

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
    fn a_reader_may_wait_longer_at_the_broker_with_the_rest_unchanged() {
        let k = KafkaConfig {
            brokers: "broker:9092".to_owned(),
            ..KafkaConfig::default()
        };
        let slow = k.with_fetch_wait_max_ms(250);
        assert_eq!(slow.fetch_wait_max_ms, 250);
        assert_eq!(k.fetch_wait_max_ms, 50);
        assert_eq!(slow.brokers, "broker:9092");
        assert_eq!(slow.topics.events, k.topics.events);
    }

    #[test]
    fn topics_are_created_with_their_retention() {
        let mut t = TopicsConfig::default();
        let get = |t: &TopicsConfig, topic: &str, key: &str| {
            t.settings_of(topic)
                .into_iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
        };
        assert_eq!(
            get(&t, "city.workorders.events.v1", "retention.ms").as_deref(),
            Some("-1")
        );
        assert_eq!(
            get(&t, "city.workorders.events.v1", "cleanup.policy").as_deref(),
            Some("delete")
        );
        assert_eq!(
            get(
                &t,
                "city.dept.street_office.210106001.orders.v1",
                "cleanup.policy"
            )
            .as_deref(),
            Some("compact")
        );
        assert_eq!(get(&t, "city.dept.gas.updates.v1", "cleanup.policy"), None);
        assert_eq!(
            get(&t, "city.raw.hotline.v1", "retention.ms").as_deref(),
            Some("259200000")
        );
        assert_eq!(
            get(&t, "city.events.v1", "retention.ms").as_deref(),
            Some("2592000000")
        );
        t.settings.insert(
            "city.raw.hotline.v1".into(),
            BTreeMap::from([("retention.ms".to_owned(), "3600000".to_owned())]),
        );
        assert_eq!(
            get(&t, "city.raw.hotline.v1", "retention.ms").as_deref(),
            Some("3600000")
        );
    }

    #[test]
    fn partition_counts_fall_back_to_default() {
        let mut t = TopicsConfig::default();
        t.partitions.insert("city.events.v1".into(), 12);
        assert_eq!(t.partitions_of("city.events.v1"), 12);
        assert_eq!(t.partitions_of("city.incidents.v1"), 6);
        assert_eq!(t.pipeline_topics().len(), 9);
        assert_eq!(
            t.department_orders("gas"),
            crate::topics::department_orders("gas")
        );
        assert_eq!(
            t.department_updates("gas"),
            crate::topics::department_updates("gas")
        );
        assert_eq!(
            t.department_of_updates_topic("city.dept.street_office.210106001.updates.v1"),
            Some("street_office.210106001")
        );
        assert_eq!(
            t.department_of_updates_topic("city.dept.gas.orders.v1"),
            None
        );
        assert_eq!(t.department_of_updates_topic("city.dept..updates.v1"), None);
        assert_eq!(
            t.department_updates_pattern(),
            r"^city\.dept\.[^.]+(\.[^.]+)?\.updates\.v1$"
        );
        let mut u = TopicsConfig::default();
        u.partitions.insert(u.incidents.clone(), 12);
        assert_eq!(u.partitions_of(&u.commands), 12);
        assert_eq!(u.partitions_of(&u.workorder_events), 12);
        assert_eq!(u.partitions_of(&u.events), 6);
        assert_eq!(u.partitions_of(&u.department_orders("gas")), 1);
        assert_eq!(
            u.partitions_of(&u.department_updates("street_office.210106001")),
            1
        );
        assert_eq!(u.partitions_of("city.dept.gas.other.v1"), 6);
        u.partitions.insert(u.department_orders("gas"), 3);
        assert_eq!(u.partitions_of(&u.department_orders("gas")), 3);
    }
}
