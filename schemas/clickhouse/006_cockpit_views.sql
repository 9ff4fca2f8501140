-- Cockpit aggregates.
--
-- incidents_per_minute: incident counts per minute (of occurrence) and place/category,
-- filled by a materialized view on every insert into `incidents`. It counts DISTINCT
-- incident ids (uniqExact states), so a replayed incident is not counted twice. Read it with
--   SELECT minute, uniqExactMerge(incidents) FROM incidents_per_minute GROUP BY minute
CREATE TABLE IF NOT EXISTS incidents_per_minute
(
    minute      DateTime('UTC'),
    district    String,
    street      String,
    scenario    String,
    category    String,
    severity    String,
    source      String,
    actionable  UInt8,
    incidents   AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, district, street, scenario, category, severity, source, actionable);

CREATE MATERIALIZED VIEW IF NOT EXISTS incidents_per_minute_mv TO incidents_per_minute AS
SELECT
    toStartOfMinute(occurred_at) AS minute,
    ifNull(district_code, '') AS district,
    ifNull(street_code, '') AS street,
    scenario,
    category,
    severity,
    source,
    actionable,
    uniqExactState(incident_id) AS incidents
FROM incidents
GROUP BY minute, district, street, scenario, category, severity, source, actionable;

-- workorder_kpis_daily: the closed loop's KPIs per day of creation, district and owner,
-- over the current state of every order (workorders FINAL). Rates are ratios of its
-- counts, e.g. response rate = accepted_on_time / orders (see docs/clickhouse.md).
CREATE VIEW IF NOT EXISTS workorder_kpis_daily AS
SELECT
    toDate(created_at) AS day,
    ifNull(district_code, '') AS district,
    owner,
    count() AS orders,
    countIf(isNotNull(accepted_at_ms)) AS accepted,
    countIf(isNotNull(accepted_at_ms)
        AND ifNull(accepted_at_ms <= accept_deadline_ms, 1) = 1) AS accepted_on_time,
    countIf(status IN ('resolved', 'closed')) AS resolved,
    countIf(status = 'closed') AS closed,
    countIf(status = 'closed' AND isNotNull(resolved_at_ms)
        AND ifNull(resolved_at_ms <= resolve_deadline_ms, 1) = 1) AS closed_on_time,
    countIf(isNotNull(satisfaction)) AS rated,
    countIf(ifNull(satisfaction, 0) >= 4) AS satisfied
FROM workorders FINAL
GROUP BY day, district, owner;
