-- workorder_kpis_daily (006) counted orders by day of creation; the KPIs are the ones of
-- department_kpis_daily (007, docs/analytics.md). One definition only, so no dashboard reads
-- the superseded one by mistake.
DROP TABLE IF EXISTS workorder_kpis_daily;
