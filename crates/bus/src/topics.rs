//! Topic names of the design's contract. Every name is the default of a config field
//! ([`crate::TopicsConfig`]) so tests and deployments can prefix or rename them.

pub const RAW_IOT: &str = "city.raw.iot.v1";
pub const RAW_HOTLINE: &str = "city.raw.hotline.v1";
pub const EVENTS: &str = "city.events.v1";
pub const INCIDENTS: &str = "city.incidents.v1";
pub const WORKORDER_EVENTS: &str = "city.workorders.events.v1";
pub const TELEMETRY: &str = "city.telemetry.v1";
pub const DEAD_LETTER: &str = "city.dlq.v1";
/// Order commands for dispatch, keyed by the order's street key (co-partitioned with
/// `city.incidents.v1`).
pub const COMMANDS: &str = "city.dispatch.commands.v1";
/// What became of each order command, keyed by command id.
pub const OUTCOMES: &str = "city.dispatch.outcomes.v1";

/// `city.dept.<dept>.orders.v1`: work-order snapshots for one department.
pub fn department_orders(dept: &str) -> String {
    format!("city.dept.{dept}.orders.v1")
}

/// `city.dept.<dept>.updates.v1`: what one department reports back.
pub fn department_updates(dept: &str) -> String {
    format!("city.dept.{dept}.updates.v1")
}

#[cfg(test)]
mod tests {
    #[test]
    fn department_topics() {
        assert_eq!(super::department_orders("gas"), "city.dept.gas.orders.v1");
        assert_eq!(super::department_updates("gas"), "city.dept.gas.updates.v1");
    }
}
