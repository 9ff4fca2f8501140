//! A consumer process for the at-least-once test: it joins a group, takes `take` records,
//! acknowledges the first `ack` of them, commits, prints `ready`, and then waits to be killed.
//!
//! usage: bus-probe BROKERS TOPIC GROUP TAKE ACK

use anyhow::{bail, Context, Result};
use cityops_bus::{Consumer, KafkaConfig};
use std::io::Write;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, brokers, topic, group, take, ack] = args.as_slice() else {
        bail!("usage: bus-probe BROKERS TOPIC GROUP TAKE ACK");
    };
    let take: usize = take.parse().context("TAKE must be a number")?;
    let ack: usize = ack.parse().context("ACK must be a number")?;
    let config = KafkaConfig {
        brokers: brokers.clone(),
        session_timeout_ms: 6_000,
        statistics_interval_ms: 0,
        ..KafkaConfig::default()
    };
    let consumer = Consumer::new(&config, "bus-probe", group, &[topic])?;
    let mut stdout = std::io::stdout();
    for i in 0..take {
        let d = consumer.recv().await?;
        writeln!(stdout, "taken {}", d.record.offset)?;
        if i < ack {
            consumer.ack(&d.token);
        }
    }
    consumer.commit()?;
    writeln!(stdout, "ready")?;
    stdout.flush()?;
    // Wait to be killed, still a member of the group.
    std::future::pending::<()>().await;
    Ok(())
}
