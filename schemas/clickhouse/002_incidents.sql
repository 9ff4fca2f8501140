-- incidents: every Incident that enrichment produced on city.incidents.v1 (one per event:
-- incident_id = event_id), with the event's main fields, its place and its meaning.
--
-- Idempotent: keyed by (occurred_at, incident_id); among rows of one incident the highest
-- `version` (= enriched_at_ms) wins, so a re-enrichment (say, after a catalogue change)
-- replaces the earlier classification and a plain replay collapses.
CREATE TABLE IF NOT EXISTS incidents
(
    incident_id          String,
    source               String,
    source_id            String,
    occurred_at          DateTime('UTC'),
    occurred_at_ms       Int64,
    received_at_ms       Int64,
    lat                  Nullable(Float64),
    lon                  Nullable(Float64),
    address              Nullable(String),
    text                 Nullable(String),
    channel              Nullable(String),
    request_type         Nullable(String),
    device_id            Nullable(String),
    device_type          Nullable(String),
    device_event         Nullable(String),
    district_code        Nullable(String),
    district_name        Nullable(String),
    street_code          Nullable(String),
    street_name          Nullable(String),
    grid_code            Nullable(String),
    location_precision   String,
    h3_cell              Nullable(String),
    scenario             String,
    category             String,
    severity             String,
    actionable           UInt8,
    classified_by        String,
    rule_id              Nullable(String),
    confidence           Float64,
    model_version        Nullable(String),
    catalogue_version    String,
    enriched_at          DateTime('UTC'),
    enriched_at_ms       Int64,
    version              UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (occurred_at, incident_id);
