-- Work orders: their hash-chained history (workorder_events, one row per WorkOrderEvent on
-- city.workorders.events.v1) and their current state (workorders, one row per order
-- version; the highest version is current).

-- One row per transition, rejected attempts included (rejected = 1). transition_id is
-- deterministic from order id and sequence number, and a transition's time never changes,
-- so a replayed transition collapses under FINAL. The order_* / owner / status_after
-- columns are the order as it stood after the transition.
CREATE TABLE IF NOT EXISTS workorder_events
(
    transition_id        String,
    order_id             String,
    seq                  Int64,
    kind                 String,
    actor                String,
    at                   DateTime('UTC'),
    at_ms                Int64,
    status_before        Nullable(String),
    status_after         String,
    incident_id          Nullable(String),
    reason               Nullable(String),
    note                 Nullable(String),
    deadline             Nullable(String),
    warning              Nullable(String),
    new_deadline_ms      Nullable(Int64),
    satisfaction         Nullable(Int32),
    rejected             UInt8,
    rejection_reason     Nullable(String),
    prev_hash            String,
    hash                 String,
    street_key           String,
    district_code        Nullable(String),
    owner                String,
    co_departments       Array(String),
    scenario             String,
    category             String,
    severity             String,
    incident_ids         Array(String),
    accept_deadline_ms   Nullable(Int64),
    resolve_deadline_ms  Nullable(Int64),
    order_created_at_ms  Int64,
    order_version        Int64
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (order_id, seq, transition_id);

-- Current state: one row per (order, version); ReplacingMergeTree keeps the highest version.
-- Partitioned by the order's creation time, which never changes, so every version of an
-- order lands in the same partition and FINAL sees them together.
CREATE TABLE IF NOT EXISTS workorders
(
    order_id             String,
    incident_ids         Array(String),
    street_key           String,
    district_code        Nullable(String),
    owner                String,
    co_departments       Array(String),
    scenario             String,
    category             String,
    severity             String,
    status               String,
    lat                  Nullable(Float64),
    lon                  Nullable(Float64),
    device_id            Nullable(String),
    created_at           DateTime('UTC'),
    created_at_ms        Int64,
    accept_deadline_ms   Nullable(Int64),
    resolve_deadline_ms  Nullable(Int64),
    accepted_at_ms       Nullable(Int64),
    resolved_at_ms       Nullable(Int64),
    closed_at_ms         Nullable(Int64),
    accept_warning       Nullable(String),
    resolve_warning      Nullable(String),
    extension_requested  UInt8,
    satisfaction         Nullable(Int32),
    routing_reason       String,
    version              UInt64,
    updated_at           DateTime('UTC'),
    updated_at_ms        Int64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY order_id;
