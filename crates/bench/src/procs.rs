//! The processes under test: `cityops run` (the release binary) and the pass-through
//! baseline (this binary again, `cityops-bench passthrough`), each with its output in a log
//! file, its peak memory and CPU time read from `/proc`, and paused (SIGSTOP) while a backlog
//! is produced for it, so that its clock starts when it is resumed.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// A child process of the bench. Killed when dropped.
pub struct Proc {
    pub name: String,
    child: Child,
    pid: u32,
    log: PathBuf,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr into `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Result<Self> {
        let out =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let child = cmd.spawn().with_context(|| format!("starting {name}"))?;
        let pid = child.id().context("pid of a child just started")?;
        Ok(Self {
            name: name.to_owned(),
            child,
            pid,
            log,
        })
    }

    /// The last `n` bytes of the process's log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(n);
        let start = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(text.len());
        text[start..].to_owned()
    }

    /// Fails (with the log's tail) when the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited ({status}); its log {}:\n{}",
                self.name,
                self.log.display(),
                self.log_tail(4_000)
            );
        }
        Ok(())
    }

    fn signal(&self, sig: &str) -> Result<()> {
        let ok = std::process::Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid.to_string())
            .status()
            .with_context(|| format!("kill -{sig} {}", self.pid))?
            .success();
        if !ok {
            bail!("kill -{sig} {} ({}) failed", self.pid, self.name);
        }
        Ok(())
    }

    /// Stops the process where it is (SIGSTOP).
    pub fn pause(&self) -> Result<()> {
        self.signal("STOP")
    }

    /// Lets it go on (SIGCONT).
    pub fn resume(&self) -> Result<()> {
        self.signal("CONT")
    }

    /// Peak resident memory so far (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        peak_rss_of(self.pid)
    }

    /// User + system CPU time used so far.
    pub fn cpu_time(&self) -> Option<Duration> {
        cpu_time_of(self.pid)
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.resume();
        let _ = self.signal("TERM");
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.start_kill();
            let _ = self.child.wait().await;
        }
    }
}

/// `VmHWM` of a process, in bytes.
pub fn peak_rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// utime + stime of a process (clock ticks of 1/100 s, Linux's USER_HZ).
pub fn cpu_time_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// A port nobody listens on right now.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub use cityops_testkit::Topics;

/// Where a `cityops run` (or one service, `cityops ingest` ...) under test is wired.
pub struct CityopsSpec<'a> {
    /// The subcommand: `run` (with `services`), or one service alone (`ingest`, `enrich`,
    /// `dispatch`, `sink`, `cockpit`).
    pub command: &'a str,
    /// Further `--set` overrides (e.g. `kafka.fetch_wait_max_ms=10`).
    pub extra: &'a [String],
    /// The consumer groups' common prefix (the same for every process of one pipeline).
    pub groups: &'a str,
    pub program: &'a Path,
    pub config: &'a Path,
    pub root: &'a Path,
    pub brokers: &'a str,
    pub clickhouse: &'a str,
    pub topics: &'a Topics,
    pub database: &'a str,
    pub services: &'a [&'a str],
    pub partitions: i32,
}

/// A running `cityops run`, its HTTP intake and telemetry addresses.
pub struct Cityops {
    pub proc: Proc,
    pub ingest_url: String,
    pub telemetry_url: String,
}

impl Cityops {
    /// Starts `cityops run` with `spec.config` (the shipped one by default) and only what must differ:
    /// the fresh topics, database and consumer groups, free ports, the partition count, and
    /// quieter logs. Waits until its `/readyz` (and the intake's, when ingest runs) answer 200.
    pub async fn start(spec: &CityopsSpec<'_>, log: PathBuf, timeout: Duration) -> Result<Self> {
        let ingest_port = free_port()?;
        let telemetry_port = free_port()?;
        let dispatch_port = free_port()?;
        let cockpit_port = free_port()?;
        let groups = spec.groups;
        let services = spec
            .services
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut sets = vec![
            format!("run.services=[{services}]"),
            format!("kafka.brokers={}", spec.brokers),
            format!("kafka.topics.default_partitions={}", spec.partitions),
            format!("clickhouse.url={}", spec.clickhouse),
            format!("clickhouse.database={}", spec.database),
            format!("ingest.listen=127.0.0.1:{ingest_port}"),
            format!("telemetry.listen=127.0.0.1:{telemetry_port}"),
            format!("dispatch.listen=127.0.0.1:{dispatch_port}"),
            format!("cockpit.listen=127.0.0.1:{cockpit_port}"),
            format!("ingest.consumer_group={groups}_ingest"),
            format!("enrich.consumer_group={groups}_enrich"),
            format!("dispatch.consumer_group={groups}_dispatch"),
            format!("sink.consumer_group={groups}_sink"),
            format!("ingest.reporter_secret=\"{groups}\""),
            "telemetry.log_format=json".to_owned(),
            "telemetry.log_filter=warn".to_owned(),
        ];
        sets.extend(spec.topics.overrides());
        sets.extend(spec.extra.iter().cloned());
        let mut cmd = Command::new(spec.program);
        cmd.current_dir(spec.root)
            .arg("--config")
            .arg(spec.config)
            .env_remove("RUST_LOG");
        for s in &sets {
            cmd.arg("--set").arg(s);
        }
        cmd.arg(spec.command);
        let name = if spec.command == "run" {
            "cityops".to_owned()
        } else {
            format!("cityops {}", spec.command)
        };
        let mut proc = Proc::spawn(&name, cmd, log)?;
        let cityops = Self {
            ingest_url: format!("http://127.0.0.1:{ingest_port}"),
            telemetry_url: format!("http://127.0.0.1:{telemetry_port}"),
            proc: {
                proc.check_alive()?;
                proc
            },
        };
        let mut urls = vec![format!("{}/readyz", cityops.telemetry_url)];
        if spec.services.contains(&"ingest") || spec.command == "ingest" {
            urls.push(format!("{}/readyz", cityops.ingest_url));
        }
        let mut cityops = cityops;
        let client = reqwest::Client::new();
        let deadline = Instant::now() + timeout;
        for url in urls {
            loop {
                cityops.proc.check_alive()?;
                let ok = client
                    .get(&url)
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                    .map(|r| r.status().as_u16() == 200)
                    .unwrap_or(false);
                if ok {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "cityops did not answer 200 on {url} within {timeout:?}; its log:\n{}",
                        cityops.proc.log_tail(4_000)
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(cityops)
    }
}

/// Starts the pass-through baseline (this very binary, `passthrough` subcommand): consume
/// `from`, produce each record to `to`, acknowledge as cityops does.
pub fn start_passthrough(
    name: &str,
    brokers: &str,
    from: &str,
    to: &str,
    log: PathBuf,
) -> Result<Proc> {
    let exe = std::env::current_exe().context("the bench's own path")?;
    let mut cmd = Command::new(exe);
    cmd.arg("passthrough")
        .arg("--brokers")
        .arg(brokers)
        .arg("--from")
        .arg(from)
        .arg("--to")
        .arg(to)
        .arg("--group")
        .arg(cityops_testkit::unique_name("bench_pt"));
    Proc::spawn(name, cmd, log)
}

/// The tansu binary: on PATH or in cargo's bin directory (where `make setup` installs it).
pub fn tansu_bin() -> Result<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("tansu"))
            .find(|p| p.is_file())
    });
    let from_cargo = || {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        let p = home.join("bin/tansu");
        p.is_file().then_some(p)
    };
    from_path
        .or_else(from_cargo)
        .context("tansu is not installed: run `make setup`")
}

/// A Tansu broker of the bench's own, with its storage in a directory of its own that is
/// removed when it stops: the same binary and storage engine as `make up`'s, but nothing
/// the bench writes stays behind (Tansu 0.6 cannot delete one topic safely: its DeleteTopics
/// removes every topic of the cluster), and no other test's traffic disturbs the figures.
pub struct PrivateBroker {
    proc: Proc,
    dir: PathBuf,
    pub brokers: String,
    pub description: String,
}

impl PrivateBroker {
    /// The broker's process id (for its CPU time).
    pub fn pid(&self) -> u32 {
        self.proc.pid
    }

    /// Starts it under `parent` with `storage` (`sqlite://tansu.db`, relative to its
    /// directory as Tansu 0.6 wants, or `memory://tansu/`); waits until it accepts
    /// connections.
    pub async fn start(parent: &Path, storage: &str, log: PathBuf) -> Result<Self> {
        let bin = tansu_bin()?;
        let version = std::process::Command::new(&bin)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        let dir = parent.join(cityops_testkit::unique_name("tansu"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let port = free_port()?;
        let url = format!("tcp://127.0.0.1:{port}");
        let mut cmd = Command::new(&bin);
        cmd.current_dir(&dir).args([
            "broker",
            "--storage-engine",
            storage,
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ]);
        let mut proc = Proc::spawn("tansu", cmd, log)?;
        let brokers = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(&brokers).await.is_err() {
            proc.check_alive()?;
            if Instant::now() > deadline {
                bail!("the bench's Tansu did not listen on {brokers} within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let engine = storage.split("://").next().unwrap_or(storage);
        Ok(Self {
            proc,
            dir,
            description: format!(
                "the bench's own {} ({engine} storage, fresh for this run) at {brokers}",
                if version.is_empty() {
                    "tansu".to_owned()
                } else {
                    version
                }
            ),
            brokers,
        })
    }

    /// Stops it and removes its storage (unless `keep`).
    pub async fn stop(self, keep: bool) {
        self.proc.stop(Duration::from_secs(10)).await;
        if !keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
