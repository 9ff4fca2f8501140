-- dead_letters: every record on city.dlq.v1, for operators (what failed, where, why).
--
-- Keyed by the dead letter's own position (dlq_topic, dlq_partition, dlq_offset), so a
-- replay of the DLQ topic collapses under FINAL. `at` is when it was dead-lettered.
-- The payload is kept hex-encoded, except for records from raw intake topics
-- (city.raw.*), which may hold a caller's phone number or name: for those only its size
-- and SHA-256 are kept (payload_omitted = 1); the bytes stay on the DLQ topic.
CREATE TABLE IF NOT EXISTS dead_letters
(
    dlq_topic         String,
    dlq_partition     Int32,
    dlq_offset        Int64,
    at                DateTime('UTC'),
    at_ms             Int64,
    stage             String,
    error             String,
    source_topic      String,
    source_partition  Nullable(Int32),
    source_offset     Nullable(Int64),
    record_key        Nullable(String),
    payload_size      UInt64,
    payload_sha256    String,
    payload_omitted   UInt8,
    payload_hex       String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (dlq_topic, dlq_partition, dlq_offset);
