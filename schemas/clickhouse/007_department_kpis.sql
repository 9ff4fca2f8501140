-- department_kpis_daily: the four KPIs of the closed loop per department and day, exactly as
-- defined in docs/analytics.md. Each row holds each KPI's numerator and denominator (add those
-- up across days or departments, never average the rates) and the rate itself (NULL when the
-- denominator is 0).
--
-- "day" is the local date in Asia/Shanghai (the calendar's timezone) of the moment that
-- decides the KPI, and "department" is the order's owner:
--   响应率 response rate    = accepted_on_time / accept_due
--       accept_due: orders whose accept deadline fell on `day` and has passed (now());
--       accepted_on_time: those accepted at or before it.
--   解决率 resolution rate  = resolved / resolve_due
--       resolve_due: orders whose (possibly extended) resolve deadline fell on `day` and has
--       passed; resolved: those whose current status is `resolved` or `closed`.
--   满意率 satisfaction rate = satisfied / scored
--       scored: callbacks (`satisfaction_recorded` transitions, not rejected, with a score)
--       recorded on `day`; satisfied: score >= 4. Department = owner at the callback.
--   按时结案率 on-time closure = closed_on_time / closed
--       closed: orders with a resolve deadline, closed (current status) on `day`;
--       closed_on_time: their resolution (resolved_at, else closed_at) was at or before the
--       resolve deadline.
-- Orders without an accept (resolve) deadline, such as the manual-triage queue's, are not in
-- the response (resolution, on-time closure) figures: a limit that does not exist cannot be
-- met or missed. Orders whose current status is `returned` (退单, back with the command
-- centre until re-dispatched with new deadlines) are in no department's response and
-- resolution figures.
--
-- A plain view, not a materialized one: every KPI depends on an order's *current* state
-- (workorders FINAL: the highest version), which changes after it was inserted, and on
-- now(); a materialized view sees each inserted version once and would count them all.
-- Runs on ClickHouse 18.16 and current releases: the UNION ALL branches have the same types
-- (assumeNotNull after the NULL filters) and no constant columns (18.16 refuses a column
-- that is constant in one branch and not in another, hence materialize()); the local date is
-- toDateTime(seconds, 'Asia/Shanghai') (formatDateTime would ignore the zone on 18.16).
CREATE VIEW IF NOT EXISTS department_kpis_daily AS
SELECT
    day,
    department,
    sum(n_accept_due) AS accept_due,
    sum(n_accepted_on_time) AS accepted_on_time,
    if(accept_due = 0, NULL, accepted_on_time / accept_due) AS response_rate,
    sum(n_resolve_due) AS resolve_due,
    sum(n_resolved) AS resolved,
    if(resolve_due = 0, NULL, resolved / resolve_due) AS resolution_rate,
    sum(n_scored) AS scored,
    sum(n_satisfied) AS satisfied,
    if(scored = 0, NULL, satisfied / scored) AS satisfaction_rate,
    sum(n_closed) AS closed,
    sum(n_closed_on_time) AS closed_on_time,
    if(closed = 0, NULL, closed_on_time / closed) AS on_time_closure_rate
FROM
(
    -- 响应率: one row per order whose accept deadline has passed, on the deadline's day.
    SELECT
        toDate(toDateTime(intDiv(assumeNotNull(accept_deadline_ms), 1000), 'Asia/Shanghai')) AS day,
        owner AS department,
        materialize(toUInt64(1)) AS n_accept_due,
        toUInt64(ifNull(accepted_at_ms <= accept_deadline_ms, 0)) AS n_accepted_on_time,
        materialize(toUInt64(0)) AS n_resolve_due,
        materialize(toUInt64(0)) AS n_resolved,
        materialize(toUInt64(0)) AS n_scored,
        materialize(toUInt64(0)) AS n_satisfied,
        materialize(toUInt64(0)) AS n_closed,
        materialize(toUInt64(0)) AS n_closed_on_time
    FROM workorders FINAL
    WHERE isNotNull(accept_deadline_ms)
      AND status != 'returned'
      AND accept_deadline_ms <= toInt64(toUnixTimestamp(now())) * 1000

    UNION ALL

    -- 解决率: one row per order whose resolve deadline has passed, on the deadline's day.
    SELECT
        toDate(toDateTime(intDiv(assumeNotNull(resolve_deadline_ms), 1000), 'Asia/Shanghai')) AS day,
        owner AS department,
        materialize(toUInt64(0)) AS n_accept_due,
        materialize(toUInt64(0)) AS n_accepted_on_time,
        materialize(toUInt64(1)) AS n_resolve_due,
        toUInt64(status IN ('resolved', 'closed')) AS n_resolved,
        materialize(toUInt64(0)) AS n_scored,
        materialize(toUInt64(0)) AS n_satisfied,
        materialize(toUInt64(0)) AS n_closed,
        materialize(toUInt64(0)) AS n_closed_on_time
    FROM workorders FINAL
    WHERE isNotNull(resolve_deadline_ms)
      AND status != 'returned'
      AND resolve_deadline_ms <= toInt64(toUnixTimestamp(now())) * 1000

    UNION ALL

    -- 满意率: one row per scored callback, on the callback's day.
    SELECT
        toDate(at, 'Asia/Shanghai') AS day,
        owner AS department,
        materialize(toUInt64(0)) AS n_accept_due,
        materialize(toUInt64(0)) AS n_accepted_on_time,
        materialize(toUInt64(0)) AS n_resolve_due,
        materialize(toUInt64(0)) AS n_resolved,
        materialize(toUInt64(1)) AS n_scored,
        toUInt64(assumeNotNull(satisfaction) >= 4) AS n_satisfied,
        materialize(toUInt64(0)) AS n_closed,
        materialize(toUInt64(0)) AS n_closed_on_time
    FROM workorder_events FINAL
    WHERE kind = 'satisfaction_recorded'
      AND rejected = 0
      AND isNotNull(satisfaction)

    UNION ALL

    -- 按时结案率: one row per closed order with a resolve deadline, on the closing day.
    SELECT
        toDate(toDateTime(intDiv(assumeNotNull(closed_at_ms), 1000), 'Asia/Shanghai')) AS day,
        owner AS department,
        materialize(toUInt64(0)) AS n_accept_due,
        materialize(toUInt64(0)) AS n_accepted_on_time,
        materialize(toUInt64(0)) AS n_resolve_due,
        materialize(toUInt64(0)) AS n_resolved,
        materialize(toUInt64(0)) AS n_scored,
        materialize(toUInt64(0)) AS n_satisfied,
        materialize(toUInt64(1)) AS n_closed,
        toUInt64(ifNull(ifNull(resolved_at_ms, closed_at_ms) <= resolve_deadline_ms, 0))
            AS n_closed_on_time
    FROM workorders FINAL
    WHERE status = 'closed'
      AND isNotNull(closed_at_ms)
      AND isNotNull(resolve_deadline_ms)
)
GROUP BY day, department;
