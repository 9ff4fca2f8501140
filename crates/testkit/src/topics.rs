//! Fresh topic names for one deployment under test, and the `--set` lines that wire
//! `cityops` to them.

/// The topic names of one cityops deployment under test.
#[derive(Debug, Clone)]
pub struct Topics {
    pub raw_iot: String,
    pub raw_hotline: String,
    pub events: String,
    pub incidents: String,
    pub workorder_events: String,
    pub telemetry: String,
    pub dead_letter: String,
    pub commands: String,
    pub outcomes: String,
    /// Prefix of this deployment's department topics.
    pub department_prefix: String,
}

impl Topics {
    /// Names no other test or run uses, starting with `prefix`.
    pub fn fresh(prefix: &str) -> Self {
        let p = crate::unique_name(prefix);
        Self {
            raw_iot: format!("{p}.raw.iot"),
            raw_hotline: format!("{p}.raw.hotline"),
            events: format!("{p}.events"),
            incidents: format!("{p}.incidents"),
            workorder_events: format!("{p}.workorders.events"),
            telemetry: format!("{p}.telemetry"),
            dead_letter: format!("{p}.dlq"),
            commands: format!("{p}.dispatch.commands"),
            outcomes: format!("{p}.dispatch.outcomes"),
            department_prefix: format!("{p}.dept"),
        }
    }

    /// The pipeline topics (department topics are created per department).
    pub fn all(&self) -> Vec<&str> {
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

    /// The `cityops --set` overrides that point a process at these topics.
    pub fn overrides(&self) -> Vec<String> {
        vec![
            format!("kafka.topics.raw_iot={}", self.raw_iot),
            format!("kafka.topics.raw_hotline={}", self.raw_hotline),
            format!("kafka.topics.events={}", self.events),
            format!("kafka.topics.incidents={}", self.incidents),
            format!("kafka.topics.workorder_events={}", self.workorder_events),
            format!("kafka.topics.telemetry={}", self.telemetry),
            format!("kafka.topics.dead_letter={}", self.dead_letter),
            format!("kafka.topics.commands={}", self.commands),
            format!("kafka.topics.outcomes={}", self.outcomes),
            format!("kafka.topics.department_prefix={}", self.department_prefix),
        ]
    }
}
