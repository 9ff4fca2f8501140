//! Helpers for integration tests over the real local stack (`make up`): where the servers
//! are, fresh topic and database names per test, and awaiting a condition instead of sleeping.
//!
//! A test that needs a server and does not find it fails with a message that says how to
//! start it; it never skips itself.

pub mod registry;
pub mod samples;
mod topics;

pub use topics::Topics;

use std::future::Future;
use std::time::Duration;

/// Kafka bootstrap servers: `CITYOPS_KAFKA__BROKERS`, else the `make up` default.
pub fn kafka_brokers() -> String {
    std::env::var("CITYOPS_KAFKA__BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".to_owned())
}

/// ClickHouse HTTP URL: `CITYOPS_CLICKHOUSE__URL`, else the `make up` default.
pub fn clickhouse_url() -> String {
    std::env::var("CITYOPS_CLICKHOUSE__URL").unwrap_or_else(|_| "http://127.0.0.1:18123".to_owned())
}

/// A name no other test (or earlier run) uses: `<prefix>_<random>`, valid as a Kafka topic,
/// a consumer group and a ClickHouse database name.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..12])
}

fn host_port(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap_or(url);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

async fn require(what: &str, addr: &str) {
    let first = addr.split(',').next().unwrap_or(addr).trim().to_owned();
    let connect = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect(&first),
    )
    .await;
    match connect {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => panic!(
            "{what} is not reachable at {first} ({e}). Start the local stack with `make up` \
             (or `make test`, which also installs it), or point the test at your server with \
             the CITYOPS_* variables of the Makefile."
        ),
        Err(_) => {
            panic!("{what} at {first} did not accept a connection within 5 s. Is `make up` done?")
        }
    }
}

/// Fails the test with instructions when the local Kafka broker does not answer.
pub async fn require_kafka() -> String {
    let brokers = kafka_brokers();
    require("The Kafka broker (Tansu)", &brokers).await;
    brokers
}

/// Fails the test with instructions when the local ClickHouse does not answer.
pub async fn require_clickhouse() -> String {
    let url = clickhouse_url();
    require("ClickHouse", &host_port(&url)).await;
    url
}

/// Polls `check` until it returns `Some`, or fails the test naming `what` after `timeout`.
/// For conditions that cannot be awaited directly (a row visible in ClickHouse, a message
/// on a topic), never as a fixed sleep.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pause = Duration::from_millis(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_valid() {
        let a = unique_name("t");
        let b = unique_name("t");
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }

    #[test]
    fn host_port_of_urls() {
        assert_eq!(host_port("http://127.0.0.1:18123"), "127.0.0.1:18123");
        assert_eq!(host_port("http://127.0.0.1:18123/x"), "127.0.0.1:18123");
    }
}
