//! The report: one line per figure, "what — cityops X, baseline Y, ratio X/Y", with N, record
//! sizes and the machine.

use std::fmt::Write as _;
use std::time::Duration;

use crate::latency::LatencyResult;
use crate::sink::SinkResult;
use crate::stages::Estimate;
use crate::throughput::Throughput;
use crate::{ch, Ctx};
use cityops_bench::stats::{millis, percentile, rate, rate_of, ratio, thousands};

/// What each ratio means, at the end of every report.
const MEANING: &str = "## What the ratios mean

- Throughput (1): cityops's tickets/s from the raw topic to the incidents topic over what the same broker moves through one bare \
pass-through hop (consume, produce, store the offset once acknowledged, as cityops does). Each ticket crosses two hops in cityops \
(raw → events → incidents), so about 0.5 would be \"cityops costs nothing but its hops\" when the broker is the bottleneck; \
the 2-hop line compares with exactly as many hops. The CPU line is records per CPU-second of the process alone: what cityops's \
own work and plumbing cost per record, the broker's share excluded. Memory: peak RSS of the process (cityops loads the \
geography, gazetteer and text model).
- Sink (2): rows/s from the events topic into ClickHouse, visible with FINAL, over `clickhouse-client` inserting the very same \
rows from a local file: how close the sink comes to a bulk load of the server. The sink also consumes the topic (the broker's \
consume rate bounds it) and waits up to `sink.batch.period_ms` for a partial batch.
- CPU stages (3): events/s of one stage on one core over the broker's single-hop rate: above 1, one core of that stage keeps \
up with what the broker moves, so the stage is not the bottleneck.
- Latency (4): milliseconds from intake to the incident on its topic (cityops: events → enrich → incidents, one hop like \
the baseline's) and to the row in ClickHouse (baseline: one hop and a single-row INSERT). Above 1, cityops takes longer. \
Both sides wait for the broker to answer fetches, which on Tansu 0.6 takes up to librdkafka's `fetch.wait.max.ms` (500 ms by \
default) even when data is there; the ClickHouse line also includes the sink's batching period.

";

/// Where the figures were measured.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub memory: String,
    pub kernel: String,
    pub clickhouse: String,
    pub brokers: String,
    pub partitions: i32,
    pub cityops: String,
    pub config: String,
}

impl Machine {
    pub async fn probe(ctx: &Ctx) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
            .map(|kib| format!("{:.1} GiB RAM", kib as f64 / 1024.0 / 1024.0))
            .unwrap_or_default();
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| format!("Linux {}", s.trim()))
            .unwrap_or_default();
        let clickhouse = ch::version(&ctx.clickhouse)
            .await
            .map(|v| format!("ClickHouse {v} at {}", ctx.clickhouse))
            .unwrap_or_else(|e| format!("ClickHouse at {} ({e})", ctx.clickhouse));
        Self {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            memory,
            kernel,
            clickhouse,
            brokers: ctx.broker_description.clone(),
            partitions: ctx.partitions,
            cityops: ctx.cityops.display().to_string(),
            config: ctx
                .config
                .strip_prefix(&ctx.root)
                .unwrap_or(&ctx.config)
                .display()
                .to_string(),
        }
    }
}

/// Everything measured in one run.
#[derive(Debug, Default)]
pub struct Report {
    pub machine: Machine,
    pub throughput: Option<Throughput>,
    pub sink: Option<SinkResult>,
    pub stages: Option<Vec<Estimate>>,
    pub latency: Option<LatencyResult>,
    pub failures: Vec<String>,
    pub elapsed: Duration,
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("n/a".to_owned(), |b| {
        format!("{:.0} MiB", b as f64 / 1024.0 / 1024.0)
    })
}

fn count(x: Option<f64>) -> String {
    x.filter(|x| x.is_finite())
        .map_or("n/a".to_owned(), |x| thousands(x.round() as u64))
}

fn best(durations: &[Duration], n: usize) -> Option<f64> {
    durations
        .iter()
        .map(|d| cityops_bench::stats::per_second(n as u64, *d))
        .max_by(f64::total_cmp)
}

fn all_rates(durations: &[Duration], n: usize) -> String {
    durations
        .iter()
        .map(|d| rate(Some(cityops_bench::stats::per_second(n as u64, *d))))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Report {
    pub fn render(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        let _ = writeln!(s, "# cityops bench report\n");
        let _ = writeln!(
            s,
            "Machine: nproc {} ({}), {}, {}. Broker: {}. {}. Every topic of both sides: {} partitions. \
             cityops: {} with {}. Whole run: {:.0} s.\n",
            m.cores,
            m.cpu,
            m.memory,
            m.kernel,
            m.brokers,
            m.clickhouse,
            m.partitions,
            m.cityops,
            m.config,
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "Each baseline ran in this same run, on the same broker and server, just before or after \
             cityops; only the ratios are comparable between runs. A ratio is cityops / baseline: \
             above 1 means more per second (or, for latency and memory, more milliseconds or bytes).\n"
        );
        let hop_rate = self.throughput.as_ref().and_then(|t| t.hop.best_rate(t.n));
        self.render_throughput(&mut s);
        self.render_sink(&mut s);
        self.render_stages(&mut s, hop_rate);
        self.render_latency(&mut s);
        s.push_str(MEANING);
        if !self.failures.is_empty() {
            let _ = writeln!(s, "## Failed measurements\n");
            for f in &self.failures {
                let _ = writeln!(s, "- {f}");
            }
            let _ = writeln!(s);
        }
        s
    }

    fn render_throughput(&self, s: &mut String) {
        let Some(t) = &self.throughput else { return };
        let _ = writeln!(s, "## 1. Pipeline throughput vs the broker's single hop\n");
        let (c, h, h2) = (
            t.cityops.best_rate(t.n),
            t.hop.best_rate(t.n),
            t.two_hops.best_rate(t.n),
        );
        let _ = writeln!(
            s,
            "- end-to-end, raw ticket → ingest → events → enrich → incidents (`run.services=[\"ingest\", \"enrich\"]`), \
             N={} tickets of {:.0} B, best of {} — cityops {}, baseline {} (bare rdkafka pass-through, 1 hop, the same records), ratio {}",
            thousands(t.n as u64),
            t.raw_bytes,
            t.rounds,
            rate(c),
            rate(h),
            ratio(c, h)
        );
        let _ = writeln!(
            s,
            "- the same against two chained pass-throughs (as many hops as the pipeline) — cityops {}, baseline {}, ratio {}",
            rate(c),
            rate(h2),
            ratio(c, h2)
        );
        let (cc, hc) = (
            t.cityops.cpu_per_record_us(t.n),
            t.hop.cpu_per_record_us(t.n),
        );
        let per_cpu_s = |us: Option<f64>| us.filter(|u| *u > 0.0).map(|u| 1e6 / u);
        let _ = writeln!(
            s,
            "- records per CPU-second of the process under test (user+sys while draining; the broker's CPU not counted) — cityops {}, baseline {} (1 hop), ratio {}",
            count(per_cpu_s(cc)),
            count(per_cpu_s(hc)),
            ratio(per_cpu_s(cc), per_cpu_s(hc))
        );
        let stage_us = |id: &str| {
            self.stages
                .as_ref()
                .and_then(|st| st.iter().find(|e| e.id == id))
                .and_then(|e| e.mean_ns)
                .map(|ns| ns / 1e3)
        };
        let own = stage_us("stages/ingest_record")
            .zip(stage_us("stages/enrich_record"))
            .map(|(a, b)| a + b);
        let us = |x: Option<f64>| x.map_or("n/a".to_owned(), |x| format!("{x:.0} µs"));
        let _ = writeln!(
            s,
            "- CPU per record of the process under test — cityops {} per ticket (2 hops; the stages' own work, by criterion: {}), \
             baseline {} per hop, ratio {} per hop",
            us(cc),
            us(own),
            us(hc),
            ratio(cc.map(|c| c / 2.0), hc)
        );
        let _ = writeln!(
            s,
            "- peak memory (VmHWM) of the process — cityops {}, baseline {} (1 hop), ratio {}",
            mib(t.cityops.peak_rss),
            mib(t.hop.peak_rss),
            ratio(
                t.cityops.peak_rss.map(|b| b as f64),
                t.hop.peak_rss.map(|b| b as f64)
            )
        );
        let list = |p: &crate::throughput::PipeResult| {
            p.rates(t.n)
                .iter()
                .map(|r| rate(Some(*r)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let feed = t
            .cityops
            .rounds
            .iter()
            .chain(&t.hop.rounds)
            .chain(&t.two_hops.rounds)
            .map(|r| cityops_bench::stats::per_second(t.n as u64, r.feed))
            .max_by(f64::total_cmp);
        let _ = writeln!(
            s,
            "- every round: cityops {}; 1 hop {}; 2 hops {}. Backlogs were produced (untimed, process paused) at up to {}. Measured in {:.0} s.",
            list(&t.cityops),
            list(&t.hop),
            list(&t.two_hops),
            rate(feed),
            t.elapsed.as_secs_f64()
        );
        for (name, p) in [
            ("cityops", &t.cityops),
            ("1 hop", &t.hop),
            ("2 hops", &t.two_hops),
        ] {
            for to in &p.timeouts {
                let _ = writeln!(s, "- TIMED OUT ({name}): {to}");
            }
        }
        let _ = writeln!(s);
    }

    fn render_sink(&self, s: &mut String) {
        let Some(k) = &self.sink else { return };
        let _ = writeln!(s, "## 2. Sink into ClickHouse vs clickhouse-client\n");
        let (c, b) = (best(&k.cityops, k.n), best(&k.baseline, k.n));
        let _ = writeln!(
            s,
            "- `events` rows, topic → ClickHouse (`run.services=[\"sink\"]`, shipped batching) until `count() FINAL` shows them, \
             N={} rows (Avro {:.0} B, JSONEachRow {:.0} B), best of {} — cityops {}, baseline {} \
             (`clickhouse-client INSERT ... FORMAT JSONEachRow` of the same rows, client start-up included), ratio {}",
            thousands(k.n as u64),
            k.avro_bytes,
            k.json_bytes,
            k.rounds,
            rate_of(c, "rows"),
            rate_of(b, "rows"),
            ratio(c, b)
        );
        let cpu: Duration = k.cityops_cpu.iter().sum();
        let rows_per_cpu_s = (!k.cityops_cpu.is_empty() && cpu > Duration::ZERO)
            .then(|| (k.n * k.cityops_cpu.len()) as f64 / cpu.as_secs_f64());
        let _ = writeln!(
            s,
            "- peak memory (VmHWM) — cityops (sink only) {}, baseline clickhouse-client {}, ratio {}; cityops sink: {} rows per CPU-second",
            mib(k.cityops_rss),
            mib(k.baseline_rss),
            ratio(
                k.cityops_rss.map(|b| b as f64),
                k.baseline_rss.map(|b| b as f64)
            ),
            count(rows_per_cpu_s)
        );
        let _ = writeln!(
            s,
            "- every round: cityops {}; clickhouse-client {}. Measured in {:.0} s.",
            all_rates(&k.cityops, k.n),
            all_rates(&k.baseline, k.n),
            k.elapsed.as_secs_f64()
        );
        for to in &k.timeouts {
            let _ = writeln!(s, "- TIMED OUT: {to}");
        }
        let _ = writeln!(s);
    }

    fn render_stages(&self, s: &mut String, hop_rate: Option<f64>) {
        let Some(stages) = &self.stages else { return };
        let _ = writeln!(
            s,
            "## 3. CPU stages, events/s per core (criterion, one thread)\n"
        );
        let _ = writeln!(
            s,
            "Baseline: the broker's single-hop rate of section 1 ({}); the ratio is how many such brokers one core of the stage keeps up with.\n",
            rate(hop_rate)
        );
        for e in stages {
            let per_core = e.per_core();
            let _ = writeln!(
                s,
                "- {} [`{}`{}] — cityops {} per core ({}/event), baseline {}, ratio {}",
                e.label,
                e.id,
                e.note
                    .as_ref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default(),
                rate(per_core),
                e.mean_ns
                    .map(|ns| if ns >= 1e4 {
                        format!("{:.1} µs", ns / 1e3)
                    } else {
                        format!("{ns:.0} ns")
                    })
                    .unwrap_or_else(|| "n/a".to_owned()),
                rate(hop_rate),
                ratio(per_core, hop_rate)
            );
        }
        let _ = writeln!(s);
    }

    fn render_latency(&self, s: &mut String) {
        let Some(l) = &self.latency else { return };
        let _ = writeln!(s, "## 4. Latency from intake\n");
        let p = |v: &[f64], q: f64| percentile(v, q);
        let line = |s: &mut String, what: &str, c: &[f64], b: &[f64], baseline: &str| {
            let _ = writeln!(
                s,
                "- {what} — cityops p50 {} / p99 {}, baseline p50 {} / p99 {} ({baseline}), ratio p50 {} / p99 {}",
                millis(p(c, 50.0)),
                millis(p(c, 99.0)),
                millis(p(b, 50.0)),
                millis(p(b, 99.0)),
                ratio(p(c, 50.0), p(b, 50.0)),
                ratio(p(c, 99.0), p(b, 99.0)),
            );
        };
        let _ = writeln!(
            s,
            "{} samples per side, one every {:.0} ms, tickets of {:.0} B (incidents {:.0} B); `cityops run` with every service and the shipped config \
             (sink batches flush every {} ms). The clock starts when the POST is answered 202 (baseline: when the broker acknowledged the produce).\n",
            l.samples,
            1000.0 / l.rate,
            l.raw_bytes,
            l.incident_bytes,
            l.sink_period_ms
        );
        line(
            s,
            "intake → incident on the incidents topic (events → enrich → incidents)",
            &l.cityops.to_topic,
            &l.baseline.to_topic,
            "the same record through one bare pass-through hop",
        );
        line(
            s,
            "intake → row visible in ClickHouse (`incidents FINAL`, polled every 25 ms)",
            &l.cityops.to_table,
            &l.baseline.to_table,
            "one hop, then the row inserted alone at once, seen by the same poll",
        );
        line(
            s,
            "intake itself: POST → 202 (baseline: produce → acknowledged)",
            &l.cityops.intake,
            &l.baseline.intake,
            "cityops's producer settings",
        );
        for (name, side) in [("cityops", &l.cityops), ("baseline", &l.baseline)] {
            if side.missing > 0 {
                let _ = writeln!(
                    s,
                    "- MISSING ({name}): {} of {} samples never arrived (not counted above)",
                    side.missing, l.samples
                );
            }
        }
        let _ = writeln!(
            s,
            "- not measured: intake → work order on the department topic (dispatch is not in `cityops run` yet). Measured in {:.0} s.",
            l.elapsed.as_secs_f64()
        );
        let _ = writeln!(s);
    }
}
