//! Sending items: batches over HTTP to ingest (reading each item's answer), or records to the
//! raw topics (an acknowledgement from the broker is acceptance). Ingest answers 503 while its
//! broker is down: the unacknowledged items are sent again after `Retry-After` — the same item
//! is the same event, so nothing is doubled.

use cityops_bus::{KafkaConfig, OutRecord, Producer};
use serde::Deserialize;
use std::time::{Duration, Instant};

use crate::config::{SimulateConfig, Target};
use crate::error::SimulateError;
use crate::item::Item;

/// How long the sender retries an unavailable ingest or broker before giving up.
const RETRY_WINDOW: Duration = Duration::from_secs(60);

/// Sends the request `make` builds until the service answers at all (any status), retrying
/// refused connections for up to `wait`: cityops opens its listeners a few seconds after it
/// starts.
pub(crate) async fn first_answer(
    what: &str,
    wait: Duration,
    make: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, reqwest::Error> {
    let deadline = Instant::now() + wait;
    let mut told = false;
    loop {
        match make().send().await {
            Err(e) if e.is_connect() && Instant::now() < deadline => {
                if !told {
                    told = true;
                    tracing::info!("waiting for {what} to listen");
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            answer => return answer,
        }
    }
}

/// What became of a batch, by position in it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outcome {
    /// Position → event id.
    pub accepted: Vec<(usize, String)>,
    /// Position → why.
    pub rejected: Vec<(usize, String)>,
}

pub enum Sender {
    Http {
        client: reqwest::Client,
        url: String,
        batch_max: usize,
    },
    Kafka {
        producer: Producer,
        config: Box<KafkaConfig>,
    },
}

#[derive(Debug, Deserialize)]
struct Answer {
    results: Vec<ItemAnswer>,
}

#[derive(Debug, Deserialize)]
struct ItemAnswer {
    status: String,
    index: usize,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    errors: Option<Vec<FieldError>>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FieldError {
    field: String,
    reason: String,
}

impl Sender {
    /// Connects and checks that the target answers.
    pub async fn connect(config: &SimulateConfig) -> Result<Sender, SimulateError> {
        match config.target {
            Target::Http => {
                let url = config.ingest_url.trim_end_matches('/').to_owned();
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .map_err(|e| SimulateError::IngestUnreachable {
                        url: url.clone(),
                        reason: e.to_string(),
                    })?;
                let wait = Duration::from_secs_f64(config.startup_wait_s);
                let ready = first_answer("ingest", wait, || client.get(format!("{url}/readyz")))
                    .await
                    .map_err(|e| SimulateError::IngestUnreachable {
                        url: url.clone(),
                        reason: e.to_string(),
                    })?;
                if !ready.status().is_success() {
                    tracing::warn!(
                        url,
                        status = ready.status().as_u16(),
                        "ingest is not ready yet; the simulator will retry what it refuses"
                    );
                }
                Ok(Sender::Http {
                    client,
                    url,
                    batch_max: config.batch_max,
                })
            }
            Target::Kafka => {
                let kafka_err = |topic: &str, reason: String| SimulateError::Kafka {
                    topic: topic.to_owned(),
                    brokers: config.kafka.brokers.clone(),
                    reason,
                };
                let producer = Producer::new(&config.kafka, "simulate")
                    .map_err(|e| kafka_err(&config.kafka.topics.raw_hotline, e.to_string()))?;
                producer
                    .check_broker(Duration::from_secs(10))
                    .await
                    .map_err(|e| kafka_err(&config.kafka.topics.raw_hotline, e.to_string()))?;
                Ok(Sender::Kafka {
                    producer,
                    config: Box::new(config.kafka.clone()),
                })
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Sender::Http { url, .. } => format!("http {url}"),
            Sender::Kafka { config, .. } => format!(
                "kafka {} ({}, {})",
                config.brokers, config.topics.raw_hotline, config.topics.raw_iot
            ),
        }
    }

    /// Sends `items`, retrying what is unavailable; answers what was accepted and rejected.
    pub async fn send(&self, items: &[Item]) -> Result<Outcome, SimulateError> {
        match self {
            Sender::Http {
                client,
                url,
                batch_max,
            } => {
                let mut out = Outcome::default();
                for (route, tickets) in [("/v1/hotline/tickets", true), ("/v1/iot/readings", false)]
                {
                    let positions: Vec<usize> = (0..items.len())
                        .filter(|&i| matches!(items[i], Item::Ticket(_)) == tickets)
                        .collect();
                    for chunk in positions.chunks(*batch_max) {
                        let o = post(client, &format!("{url}{route}"), items, chunk).await?;
                        out.accepted.extend(o.accepted);
                        out.rejected.extend(o.rejected);
                    }
                }
                Ok(out)
            }
            Sender::Kafka { producer, config } => produce(producer, config, items).await,
        }
    }
}

/// POSTs the items at `positions` as one JSON array, until each is accepted or rejected.
async fn post(
    client: &reqwest::Client,
    url: &str,
    items: &[Item],
    positions: &[usize],
) -> Result<Outcome, SimulateError> {
    let mut out = Outcome::default();
    let mut pending: Vec<usize> = positions.to_vec();
    let started = Instant::now();
    let mut last_problem = String::new();
    while !pending.is_empty() {
        if started.elapsed() > RETRY_WINDOW {
            return Err(SimulateError::IngestFailing {
                url: url.to_owned(),
                seconds: RETRY_WINDOW.as_secs(),
                reason: last_problem,
            });
        }
        let body: Vec<serde_json::Value> = pending.iter().map(|&i| items[i].to_json()).collect();
        let response = match client.post(url).json(&body).send().await {
            Ok(r) => r,
            Err(e) => {
                last_problem = e.to_string();
                tracing::warn!(url, error = %e, "ingest did not answer; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .clamp(1, 30);
        let text = response.text().await.unwrap_or_default();
        match status {
            202 | 207 | 400 | 503 => {}
            413 => {
                return Err(SimulateError::config(format!(
                    "ingest at {url} refuses a batch of {} items as too large (413): lower batch_max (or raise ingest.max_body_bytes / ingest.max_items)",
                    pending.len()
                )))
            }
            _ => {
                return Err(SimulateError::IngestAnswer {
                    url: url.to_owned(),
                    status,
                    body: text.chars().take(500).collect(),
                })
            }
        }
        let answer: Option<Answer> = serde_json::from_str(&text).ok();
        let Some(answer) = answer else {
            if status == 503 {
                last_problem = format!("503: {}", text.chars().take(200).collect::<String>());
                tracing::warn!(
                    url,
                    retry_after,
                    "ingest is unavailable (its broker is down?); sending again"
                );
                tokio::time::sleep(Duration::from_secs(retry_after)).await;
                continue;
            }
            return Err(SimulateError::IngestAnswer {
                url: url.to_owned(),
                status,
                body: text.chars().take(500).collect(),
            });
        };
        let mut again = Vec::new();
        for r in answer.results {
            let Some(&pos) = pending.get(r.index) else {
                continue;
            };
            match r.status.as_str() {
                "accepted" => out
                    .accepted
                    .push((pos, r.event_id.unwrap_or_else(|| items[pos].event_id()))),
                "rejected" => {
                    let why = r
                        .errors
                        .unwrap_or_default()
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.reason))
                        .collect::<Vec<_>>()
                        .join("; ");
                    out.rejected.push((pos, why));
                }
                _ => {
                    last_problem = r.reason.unwrap_or_else(|| "unavailable".to_owned());
                    again.push(pos);
                }
            }
        }
        if !again.is_empty() {
            tracing::warn!(
                url,
                items = again.len(),
                retry_after,
                "ingest could not store some items; sending them again"
            );
            tokio::time::sleep(Duration::from_secs(retry_after)).await;
        }
        pending = again;
    }
    Ok(out)
}

/// Produces each item to its raw topic (tickets keyed by ticket id, readings by device id).
async fn produce(
    producer: &Producer,
    config: &KafkaConfig,
    items: &[Item],
) -> Result<Outcome, SimulateError> {
    let records: Vec<OutRecord> = items
        .iter()
        .map(|item| {
            let (topic, key) = match item {
                Item::Ticket(t) => (&config.topics.raw_hotline, t.ticket_id.clone()),
                Item::Reading(r) => (&config.topics.raw_iot, r.device_id.clone()),
            };
            let payload = serde_json::to_vec(&item.to_json()).unwrap_or_default();
            OutRecord::new(topic.clone(), key.into_bytes(), payload)
        })
        .collect();
    let mut out = Outcome::default();
    let mut pending: Vec<usize> = (0..items.len()).collect();
    let started = Instant::now();
    while !pending.is_empty() {
        let results =
            futures::future::join_all(pending.iter().map(|&i| producer.send(&records[i]))).await;
        let mut again = Vec::new();
        let mut problem = None;
        for (&i, r) in pending.iter().zip(results) {
            match r {
                Ok(_) => out.accepted.push((i, items[i].event_id())),
                Err(e) => {
                    problem = Some((records[i].topic.clone(), e.to_string()));
                    again.push(i);
                }
            }
        }
        if let Some((topic, reason)) = problem {
            if started.elapsed() > RETRY_WINDOW {
                return Err(SimulateError::Kafka {
                    topic,
                    brokers: config.brokers.clone(),
                    reason,
                });
            }
            tracing::warn!(topic, error = %reason, items = again.len(), "the broker did not acknowledge; producing again");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        pending = again;
    }
    Ok(out)
}
