-- events: every canonical CityEvent that ingest produced on city.events.v1.
--
-- Idempotent: a replayed event has the same event_id and occurred_at, so it lands in the same
-- partition with the same sorting key and collapses under FINAL (or a background merge).
-- Personal data never appears: the reporter is a keyed hash (reporter_hash), never a phone
-- number or a name.
-- Must run on ClickHouse 18.16 and current releases: no TTL, DateTime64, Map, LowCardinality.
CREATE TABLE IF NOT EXISTS events
(
    event_id        String,
    source          String,
    source_id       String,
    occurred_at     DateTime('UTC'),
    occurred_at_ms  Int64,
    received_at     DateTime('UTC'),
    received_at_ms  Int64,
    lat             Nullable(Float64),
    lon             Nullable(Float64),
    address         Nullable(String),
    district_hint   Nullable(String),
    text            Nullable(String),
    channel         Nullable(String),
    request_type    Nullable(String),
    device_id       Nullable(String),
    device_type     Nullable(String),
    device_event    Nullable(String),
    metric_keys     Array(String),
    metric_values   Array(Float64),
    tag_keys        Array(String),
    tag_values      Array(String),
    reporter_hash   Nullable(String),
    attachments     Array(String)
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (occurred_at, event_id);
