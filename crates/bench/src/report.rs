//! The report: the targets first (each figure, its target, met or not), then one section per
//! measurement with N, record sizes, every round and the machine.

use std::fmt::Write as _;
use std::time::Duration;

use crate::latency::LatencyResult;
use crate::sink::SinkResult;
use crate::stages::Estimate;
use crate::throughput::{Throughput, SERVICES};
use crate::{ch, Ctx};
use cityops_bench::stats::{
    cores_needed, cpu_bound_rate, millis, per_second, rate, rate_of, ratio, thousands,
};

/// The targets (issue 10, part 3), on a 2-core machine with the broker and ClickHouse on it.
pub const TARGET_E2E_OVER_HOP: f64 = 0.25;
pub const TARGET_SINK_OVER_CLIENT: f64 = 0.5;
pub const TARGET_STAGES_PER_CORE: f64 = 50_000.0;
pub const TARGET_P99_TO_DEPARTMENT_MS: f64 = 250.0;

/// What the figures mean, at the end of every report.
const MEANING: &str = "## How it is measured

- Raw limits (1): the broker with the client library cityops uses (rdkafka), nothing else: N raw tickets produced to a fresh \
topic with cityops's producer settings (idempotent, acks=all, linger.ms=5, lz4) until every one is acknowledged, then the same N \
consumed from the beginning (partitions assigned, no group, nothing done with them). The single hop is a bare pass-through \
(consume, produce, store the offset once acknowledged, as cityops does) draining a backlog of N. ClickHouse's bulk insert is \
`clickhouse-client` inserting the sink measurement's rows from a file (section 2).
- End to end (1): a backlog of N raw tickets on the raw hotline topic drained through `cityops ingest`, `cityops enrich`, \
`cityops dispatch` and `cityops sink`, each its own process, until ClickHouse shows every event, every incident and every \
incident's work-order transition. The clock starts when the (paused) processes are resumed. CPU per 1,000 events is each \
process's user+sys time over the drain, divided by the tickets.
- Sink (2): rows/s from the events topic into ClickHouse (`cityops sink` alone), visible to `count() FINAL`, over \
`clickhouse-client` inserting the very same rows from a local file.
- CPU stages (3): criterion, one thread, so events/s are per core.
- Latency (4): POST → 202 starts the clock; it stops when the incident is read from the incidents topic, when an order \
snapshot naming the incident is read from the department's topic, and when ClickHouse first returns the incident's \
work-order transition. Tansu 0.6 answers a fetch only when `kafka.fetch_wait_max_ms` (librdkafka's `fetch.wait.max.ms`) \
has run out, even when data is there, and every stage waits on a fetch: cityops ships 50 ms; the variant measures \
librdkafka's default, 500 ms.

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
    pub extra: Vec<String>,
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
            extra: ctx.extra.clone(),
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

fn best(durations: &[Duration], n: usize) -> Option<f64> {
    durations
        .iter()
        .map(|d| per_second(n as u64, *d))
        .max_by(f64::total_cmp)
}

fn all_rates(durations: &[Duration], n: usize) -> String {
    durations
        .iter()
        .map(|d| rate(Some(per_second(n as u64, *d))))
        .collect::<Vec<_>>()
        .join(", ")
}

fn met(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "**met**",
        Some(false) => "**not met**",
        None => "not measured",
    }
}

fn per_core(stages: &Option<Vec<Estimate>>, id: &str) -> Option<f64> {
    stages
        .as_ref()
        .and_then(|st| st.iter().find(|e| e.id == id))
        .and_then(Estimate::per_core)
}

impl Report {
    pub fn render(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        let _ = writeln!(s, "# cityops bench report\n");
        let _ = writeln!(
            s,
            "Machine: nproc {} ({}), {}, {}. Broker: {}. {}. Every topic: {} partitions. \
             cityops: {} with {}{}. Whole run: {:.0} s.\n",
            m.cores,
            m.cpu,
            m.memory,
            m.kernel,
            m.brokers,
            m.clickhouse,
            m.partitions,
            m.cityops,
            m.config,
            if m.extra.is_empty() {
                String::new()
            } else {
                format!(" and `--set {}`", m.extra.join("` `--set "))
            },
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "Every figure was measured in this one run, on the same broker and ClickHouse, baselines side by side \
             with cityops; the machine is shared and noisy, so compare ratios between runs, not absolute rates.\n"
        );
        self.render_targets(&mut s);
        self.render_ceilings(&mut s);
        self.render_throughput(&mut s);
        self.render_sink(&mut s);
        self.render_stages(&mut s);
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

    /// The ceilings the broker sets, from this run's own figures: a ratio above its ceiling
    /// cannot be reached by any code of cityops's on this broker and machine.
    fn render_ceilings(&self, s: &mut String) {
        let t = self.throughput.as_ref();
        let consume = t.and_then(|t| best(&t.consume, t.n));
        let hop = t.and_then(|t| t.hop.best_rate(t.n));
        let broker = t.and_then(|t| t.cityops.broker_cpu_s_per_1000(t.n_e2e));
        let client = self.sink.as_ref().and_then(|k| best(&k.baseline, k.n));
        let sink_ceiling = consume.zip(client);
        let e2e_ceiling = broker.zip(hop);
        if sink_ceiling.is_none() && e2e_ceiling.is_none() {
            return;
        }
        let _ = writeln!(s, "## What the broker leaves room for\n");
        if let Some((consume, client)) = sink_ceiling {
            let _ = writeln!(
                s,
                "- **the sink**: no consumer reads faster than the broker serves a bare one. Its \
                 consume-only rate (section 1, raw tickets of a size close to the events' Avro) over \
                 `clickhouse-client`'s, {} / {} = {}, is the most the sink's ratio can be on this \
                 broker (target ≥ {TARGET_SINK_OVER_CLIENT}).",
                rate(Some(consume)),
                rate_of(Some(client), "rows"),
                ratio(Some(consume), Some(client))
            );
        }
        if let Some((broker, hop)) = e2e_ceiling {
            let cores = self.machine.cores;
            let ceiling = cpu_bound_rate(broker, cores);
            let target = TARGET_E2E_OVER_HOP * hop;
            let _ = writeln!(
                s,
                "- **end to end**: the broker spent {broker:.3} CPU-s per 1,000 tickets of the \
                 end-to-end drain (every ticket is written to and read from several topics). With all \
                 {cores} cores to itself it could carry {}, {} × the single hop: the most the \
                 end-to-end ratio can be on this broker with cityops's topics. At the target \
                 ({TARGET_E2E_OVER_HOP} × the single hop = {}) the broker alone would need {:.1} cores.",
                rate(ceiling),
                ratio(ceiling, Some(hop)),
                rate(Some(target)),
                cores_needed(broker, target)
            );
            let hop_broker = t.and_then(|t| t.hop.broker_cpu_s_per_1000(t.n));
            let busy = t.and_then(|t| t.hop.broker_cores_busy().zip(t.cityops.broker_cores_busy()));
            if let (Some(hop_broker), Some((busy_hop, busy_e2e))) = (hop_broker, busy) {
                let _ = writeln!(
                    s,
                    "- the broker kept {busy_hop:.2} cores busy on average during the single hop and {busy_e2e:.2} \
                     end to end. Where one limit of the broker's bounds both \
                     (near one core: Tansu's sqlite engine answers one query at a time), the ratio is its \
                     work per hop record over its work per ticket: {hop_broker:.3} / \
                     {broker:.3} = {}.",
                    ratio(Some(hop_broker), Some(broker))
                );
            }
        }
        let _ = writeln!(s);
    }

    fn render_targets(&self, s: &mut String) {
        let _ = writeln!(s, "## Targets\n");
        let _ = writeln!(s, "| figure | measured | target | |");
        let _ = writeln!(s, "|---|---|---|---|");
        let t = self.throughput.as_ref();
        let e2e = t.and_then(|t| t.cityops.best_rate(t.n_e2e));
        let hop = t.and_then(|t| t.hop.best_rate(t.n));
        let r = e2e.zip(hop).map(|(a, b)| a / b);
        let _ = writeln!(
            s,
            "| end to end (raw topic → ingest → enrich → dispatch → sink → ClickHouse) / broker single hop | {} / {} = {} | ≥ {TARGET_E2E_OVER_HOP} | {} |",
            rate(e2e),
            rate(hop),
            ratio(e2e, hop),
            met(r.map(|r| r >= TARGET_E2E_OVER_HOP))
        );
        let k = self.sink.as_ref();
        let sink = k.and_then(|k| best(&k.cityops, k.n));
        let client = k.and_then(|k| best(&k.baseline, k.n));
        let r = sink.zip(client).map(|(a, b)| a / b);
        let _ = writeln!(
            s,
            "| sink alone / `clickhouse-client` bulk insert of the same rows | {} / {} = {} | ≥ {TARGET_SINK_OVER_CLIENT} | {} |",
            rate_of(sink, "rows"),
            rate_of(client, "rows"),
            ratio(sink, client),
            met(r.map(|r| r >= TARGET_SINK_OVER_CLIENT))
        );
        for (what, id) in [
            (
                "CPU stages (decode + validate + geo + classify + route) per event, the simulator's mix (25% corpus tickets, 75% IoT readings of every device type, 1% alarms), per core",
                "stages/pipeline_mix",
            ),
            (
                "the same, 12345 tickets only (corpus tickets), per core",
                "stages/pipeline_ticket",
            ),
        ] {
            let v = per_core(&self.stages, id);
            let _ = writeln!(
                s,
                "| {what} | {} | ≥ {}/s | {} |",
                rate(v),
                thousands(TARGET_STAGES_PER_CORE as u64),
                met(v.map(|v| v >= TARGET_STAGES_PER_CORE))
            );
        }
        if let Some(l) = &self.latency {
            for v in &l.variants {
                let expected = v.expected_orders.max(v.to_order.len());
                let p99 = late_percentile(&v.to_order, expected, 99.0);
                let p50 = late_percentile(&v.to_order, expected, 50.0);
                let show =
                    |x: Option<f64>| x.map_or("not arrived".to_owned(), |ms| millis(Some(ms)));
                let _ = writeln!(
                    s,
                    "| p99 intake → order on the department's topic at {} events/s, {} ({}) | {} (p50 {}) | ≤ {TARGET_P99_TO_DEPARTMENT_MS:.0} ms | {} |",
                    thousands(l.rate as u64),
                    l.mix(),
                    if v.label == "shipped" {
                        "shipped config".to_owned()
                    } else {
                        format!("with `{}`", v.extra.join("`, `"))
                    },
                    show(p99),
                    show(p50),
                    met(Some(p99.is_some_and(|p| p <= TARGET_P99_TO_DEPARTMENT_MS)))
                );
            }
        } else {
            let _ = writeln!(
                s,
                "| p99 intake → order on the department's topic at 1,000/s | n/a | ≤ {TARGET_P99_TO_DEPARTMENT_MS:.0} ms | not measured |"
            );
        }
        let _ = writeln!(s);
    }

    fn render_throughput(&self, s: &mut String) {
        let Some(t) = &self.throughput else { return };
        let _ = writeln!(
            s,
            "## 1. Raw limits of this machine, and cityops end to end\n"
        );
        let produce = best(&t.produce, t.n);
        let consume = best(&t.consume, t.n);
        let (c, h, h2) = (
            t.cityops.best_rate(t.n_e2e),
            t.hop.best_rate(t.n),
            t.two_hops.best_rate(t.n),
        );
        let single = best(&t.single, crate::throughput::SINGLE);
        let client = self.sink.as_ref().and_then(|k| best(&k.baseline, k.n));
        let _ = writeln!(
            s,
            "N = {} raw 12345 tickets of {:.0} B per round, best of {} rounds (cityops end to end: N = {}, {} round(s)).\n",
            thousands(t.n as u64),
            t.raw_bytes,
            t.rounds,
            thousands(t.n_e2e as u64),
            t.cityops.rounds.len() + t.cityops.timeouts.len()
        );
        let _ = writeln!(
            s,
            "- broker, produce only (rdkafka, cityops's producer settings, until all acknowledged): {} (rounds: {})",
            rate(produce),
            all_rates(&t.produce, t.n)
        );
        let _ = writeln!(
            s,
            "- broker, consume only (rdkafka, from the beginning, no processing): {} (rounds: {})",
            rate(consume),
            all_rates(&t.consume, t.n)
        );
        let _ = writeln!(
            s,
            "- broker, produce one record at a time, each acknowledged before the next ({} records; what a stage that awaits every send, as dispatch does, can reach at most): {} (rounds: {})",
            crate::throughput::SINGLE,
            rate(single),
            all_rates(&t.single, crate::throughput::SINGLE)
        );
        let _ = writeln!(
            s,
            "- broker, single hop (bare rdkafka pass-through draining a backlog): {} (rounds: {}); two chained hops: {} (rounds: {})",
            rate(h),
            list(&t.hop, t.n),
            rate(h2),
            list(&t.two_hops, t.n)
        );
        let _ = writeln!(
            s,
            "- ClickHouse bulk insert (`clickhouse-client`, JSONEachRow `events` rows from a file, section 2): {}",
            rate_of(client, "rows")
        );
        let _ = writeln!(
            s,
            "- **cityops end to end**, raw topic → ingest → enrich → dispatch → sink → ClickHouse, every service its own process: \
             {} (rounds: {}); ratio to the single hop {}, to two hops {}, to consume-only {}",
            rate(c),
            list(&t.cityops, t.n_e2e),
            ratio(c, h),
            ratio(c, h2),
            ratio(c, consume)
        );
        let feed = t
            .hop
            .rounds
            .iter()
            .chain(&t.two_hops.rounds)
            .map(|r| per_second(t.n as u64, r.feed))
            .max_by(f64::total_cmp);
        let _ = writeln!(
            s,
            "- the pipes' backlogs were produced (untimed, processes paused) at up to {}; cityops ran with {}",
            rate(feed),
            if t.extra.is_empty() {
                "the shipped config".to_owned()
            } else {
                format!("`--set {}`", t.extra.join("` `--set "))
            }
        );
        let _ = writeln!(
            s,
            "- work-order transitions: {} of the {} tickets of a pass of the corpus get one (the rest are not actionable); per round: {}",
            t.transitions_per_pass,
            t.pass,
            t.transitions
                .iter()
                .map(|n| thousands(*n))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(
            s,
            "\nPer service, while draining the backlog (CPU = user+sys of the process over the rounds, per 1,000 tickets; the broker's and ClickHouse's CPU not counted):\n"
        );
        let _ = writeln!(
            s,
            "| process | CPU-s per 1,000 events (drain) | CPU-s per 1,000 events at {} | peak RSS |",
            self.latency
                .as_ref()
                .map_or("the latency rate".to_owned(), |l| format!(
                    "{}/s, shipped config (section 4)",
                    thousands(l.rate as u64)
                ))
        );
        let _ = writeln!(s, "|---|---|---|---|");
        let at_rate = |name: &str| -> Option<f64> {
            let l = self.latency.as_ref()?;
            let v = l.variants.first()?;
            let cpu = v.cpu.iter().find(|(n, _)| n == name)?.1?;
            Some(cpu.as_secs_f64() * 1000.0 / v.sent.max(1) as f64)
        };
        let f3 = |x: Option<f64>| x.map_or("n/a".to_owned(), |x| format!("{x:.3}"));
        for (i, name) in SERVICES.iter().enumerate() {
            let drain = t.cityops.cpu_s_per_1000(i, t.n_e2e);
            let _ = writeln!(
                s,
                "| `cityops {name}` | {} | {} | {} |",
                f3(drain),
                f3(at_rate(name)),
                mib(t.cityops.peak_rss.get(i).copied().flatten())
            );
        }
        let _ = writeln!(
            s,
            "| all four | {} | | |",
            f3(t.cityops.cpu_s_per_1000_all(t.n_e2e))
        );
        let _ = writeln!(
            s,
            "| the broker meanwhile (Tansu) | {} | | |",
            f3(t.cityops.broker_cpu_s_per_1000(t.n_e2e))
        );
        let _ = writeln!(
            s,
            "| bare pass-through, 1 hop | {} | | {} |",
            f3(t.hop.cpu_s_per_1000(0, t.n)),
            mib(t.hop.peak_rss.first().copied().flatten())
        );
        let _ = writeln!(
            s,
            "| the broker meanwhile (Tansu) | {} | | |",
            f3(t.hop.broker_cpu_s_per_1000(t.n))
        );
        let _ = writeln!(s);
        for (name, p) in [
            ("cityops", &t.cityops),
            ("1 hop", &t.hop),
            ("2 hops", &t.two_hops),
        ] {
            for to in &p.timeouts {
                let _ = writeln!(s, "- TIMED OUT ({name}): {to}");
            }
        }
        let _ = writeln!(s, "Measured in {:.0} s.\n", t.elapsed.as_secs_f64());
    }

    fn render_sink(&self, s: &mut String) {
        let Some(k) = &self.sink else { return };
        let _ = writeln!(s, "## 2. The sink alone vs clickhouse-client\n");
        let (c, b) = (best(&k.cityops, k.n), best(&k.baseline, k.n));
        let _ = writeln!(
            s,
            "- `events` rows, pre-filled topic → ClickHouse (`cityops sink`, shipped batching) until `count() FINAL` shows them, \
             N={} rows (Avro {:.0} B, JSONEachRow {:.0} B), best of {} — cityops {}, `clickhouse-client INSERT ... FORMAT JSONEachRow` \
             of the same rows (client start-up included) {}, ratio {} (target ≥ {TARGET_SINK_OVER_CLIENT})",
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
            "- the sink's CPU: {} rows per CPU-second ({:.3} CPU-s per 1,000 rows); peak memory — sink {}, clickhouse-client {}",
            rows_per_cpu_s.map_or("n/a".to_owned(), |r| thousands(r.round() as u64)),
            rows_per_cpu_s.map_or(f64::NAN, |r| 1000.0 / r),
            mib(k.cityops_rss),
            mib(k.baseline_rss),
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

    fn render_stages(&self, s: &mut String) {
        let Some(stages) = &self.stages else { return };
        let _ = writeln!(
            s,
            "## 3. CPU stages, events/s per core (criterion, one thread)\n"
        );
        let hop = self.throughput.as_ref().and_then(|t| t.hop.best_rate(t.n));
        let _ = writeln!(
            s,
            "Target: the combined stages ≥ {}/s per core. The last column is how many times the broker's single hop ({}) one core of the stage keeps up with.\n",
            thousands(TARGET_STAGES_PER_CORE as u64),
            rate(hop)
        );
        for e in stages {
            let pc = e.per_core();
            let _ = writeln!(
                s,
                "- {} [`{}`{}] — {} per core ({}/event), × hop {}",
                e.label,
                e.id,
                e.note
                    .as_ref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default(),
                rate(pc),
                e.mean_ns
                    .map(|ns| if ns >= 1e4 {
                        format!("{:.1} µs", ns / 1e3)
                    } else {
                        format!("{ns:.0} ns")
                    })
                    .unwrap_or_else(|| "n/a".to_owned()),
                ratio(pc, hop)
            );
        }
        let _ = writeln!(s);
    }

    fn render_latency(&self, s: &mut String) {
        let Some(l) = &self.latency else { return };
        let _ = writeln!(
            s,
            "## 4. Latency from intake at {} events/s, {}\n",
            thousands(l.rate as u64),
            l.mix()
        );
        let _ = writeln!(
            s,
            "{} events per configuration ({}; corpus tickets of {:.0} B, IoT readings of every device type with 1% alarms, \
             which load every stage and are not timed), one POST each, started every {:.1} ms, after a warm-up of one pass of \
             the corpus; four processes (`cityops ingest`, `enrich`, `dispatch`, `sink`; sink batches flush every {} ms). A \
             ticket's clock starts when its POST is answered 202.\n",
            thousands(l.samples as u64),
            l.mix(),
            l.raw_bytes,
            1000.0 / l.rate,
            l.sink_period_ms
        );
        for v in &l.variants {
            let p = |xs: &[f64], q: f64| {
                let expected = v.expected_orders.max(xs.len());
                match late_percentile(xs, expected, q) {
                    Some(ms) => millis(Some(ms)),
                    None => "not arrived".to_owned(),
                }
            };
            let _ = writeln!(
                s,
                "### {}\n",
                if v.label == "shipped" {
                    "shipped config".to_owned()
                } else {
                    format!("`--set {}`", v.extra.join("` `--set "))
                }
            );
            let _ = writeln!(
                s,
                "- sent {} at {:.0}/s achieved; {} POSTs failed",
                thousands(v.sent as u64),
                v.achieved_rate,
                v.failed_posts
            );
            let _ = writeln!(
                s,
                "- {} of the tickets should get an order (the warm-up's share of the corpus); one that did not (nothing new for 5 s, at most {:.0} s) counts as later than any",
                thousands(v.expected_orders as u64),
                v.timeout.as_secs_f64()
            );
            for (what, xs) in [
                ("POST → 202 (the event on the events topic)", &v.intake),
                ("intake → incident on the incidents topic", &v.to_incident),
                (
                    "**intake → order on the department's topic** (target p99 ≤ 250 ms)",
                    &v.to_order,
                ),
                (
                    "intake → work-order transition visible in ClickHouse (`workorder_events`)",
                    &v.to_table,
                ),
            ] {
                let _ = writeln!(
                    s,
                    "- {what}: p50 {} / p99 {} / max {} ({} of {})",
                    p(xs, 50.0),
                    p(xs, 99.0),
                    p(xs, 100.0),
                    thousands(xs.len() as u64),
                    thousands(v.sent as u64)
                );
            }
            let cpu = v
                .cpu
                .iter()
                .map(|(n, c)| {
                    format!(
                        "{n} {}",
                        c.map_or("n/a".to_owned(), |c| format!(
                            "{:.3}",
                            c.as_secs_f64() * 1000.0 / v.sent.max(1) as f64
                        ))
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let rss = v
                .peak_rss
                .iter()
                .map(|(n, b)| format!("{n} {}", mib(*b)))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                s,
                "- CPU-s per 1,000 events at this rate: {cpu}; peak RSS: {rss}. Measured in {:.0} s.",
                v.elapsed.as_secs_f64()
            );
            if let Some(b) = v.broker_cpu {
                let _ = writeln!(
                    s,
                    "- the broker meanwhile: {:.3} CPU-s per 1,000 events, {:.2} cores busy on average over the {:.0} s of sending and waiting",
                    b.as_secs_f64() * 1000.0 / v.sent.max(1) as f64,
                    b.as_secs_f64() / v.cpu_window.as_secs_f64().max(1e-9),
                    v.cpu_window.as_secs_f64()
                );
            }
            let _ = writeln!(s);
        }
    }
}

/// The `q`-th percentile of `xs` when `expected` values were due: the missing ones are
/// later than any (`None` when the percentile falls among them).
fn late_percentile(xs: &[f64], expected: usize, q: f64) -> Option<f64> {
    if expected == 0 {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q / 100.0) * expected as f64).ceil() as usize;
    v.get(rank.clamp(1, expected) - 1).copied()
}

fn list(p: &crate::throughput::PipeResult, n: usize) -> String {
    p.rates(n)
        .iter()
        .map(|r| rate(Some(*r)))
        .collect::<Vec<_>>()
        .join(", ")
}
