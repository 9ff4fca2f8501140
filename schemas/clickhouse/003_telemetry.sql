-- telemetry: below-threshold IoT readings (Reading on city.telemetry.v1).
--
-- Idempotent: a reading's event_id is deterministic (device id + reading time), and its
-- device_id and time are immutable, so a replay collapses under FINAL.
-- Metrics and tags are parallel arrays (no Map type on ClickHouse 18.16):
--   metric_values[indexOf(metric_keys, 'ch4_lel')]
CREATE TABLE IF NOT EXISTS telemetry
(
    event_id        String,
    device_id       String,
    device_type     String,
    at              DateTime('UTC'),
    at_ms           Int64,
    lat             Nullable(Float64),
    lon             Nullable(Float64),
    metric_keys     Array(String),
    metric_values   Array(Float64),
    tag_keys        Array(String),
    tag_values      Array(String),
    district_code   Nullable(String),
    street_code     Nullable(String),
    grid_code       Nullable(String)
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (device_id, at, event_id);
