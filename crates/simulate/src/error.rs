//! What can stop a simulation, each saying what to do.

/// Why the simulator cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// A setting is wrong; the message names it and the fix.
    #[error("simulate config: {0}")]
    Config(String),

    /// The catalogue or geography could not be loaded.
    #[error(
        "cannot load {what} from {path}: {reason} (check the [data] paths of the configuration)"
    )]
    Data {
        what: &'static str,
        path: String,
        reason: String,
    },

    /// The data loaded but cannot carry a simulation (no streets, no device types...).
    #[error("the simulator cannot use this data: {0}")]
    Unusable(String),

    /// The ingest service did not answer at all.
    #[error("cannot reach the ingest service at {url}: {reason}. Start cityops (`make run`, or `cityops run`) or set ingest_url to where ingest listens")]
    IngestUnreachable { url: String, reason: String },

    /// The ingest service kept refusing (503 or errors) for longer than the retry window.
    #[error("the ingest service at {url} kept failing for {seconds} s: {reason}. Check that cityops and its Kafka broker are up (`cityops check`), then run the simulator again")]
    IngestFailing {
        url: String,
        seconds: u64,
        reason: String,
    },

    /// The ingest service answered something the simulator does not understand.
    #[error("the ingest service at {url} answered {status}: {body}. Is ingest_url the ingest listener (ingest.listen), not another service?")]
    IngestAnswer {
        url: String,
        status: u16,
        body: String,
    },

    /// Producing to the raw topics failed.
    #[error("cannot produce to {topic}: {reason}. Is the broker at {brokers} up (`make up`), and are the topic names those of the running cityops (kafka.topics)?")]
    Kafka {
        topic: String,
        brokers: String,
        reason: String,
    },

    /// The dispatch API did not answer at all.
    #[error("cannot reach the dispatch API at {url}: {reason}. Start cityops with the dispatch service, set bots.dispatch_url to dispatch.listen, or turn the bots off (bots.enabled = false)")]
    DispatchUnreachable { url: String, reason: String },

    /// A bot's token is not configured in dispatch.
    #[error("dispatch refuses the token of {who} (HTTP {status}). Configure its SHA-256 in cityops: {setting} (printf %s \"$TOKEN\" | sha256sum), or remove it from the simulator's bots.tokens")]
    Token {
        who: String,
        status: u16,
        setting: String,
    },
}

impl SimulateError {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        SimulateError::Config(message.into())
    }
}
