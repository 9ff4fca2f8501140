//! A running `cityops` process, wired to fresh topics and a fresh ClickHouse database, with
//! its logs captured.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The topic names of one test.
#[derive(Debug, Clone)]
pub struct Topics {
    pub raw_iot: String,
    pub raw_hotline: String,
    pub events: String,
    pub incidents: String,
    pub workorder_events: String,
    pub telemetry: String,
    pub dead_letter: String,
}

impl Topics {
    pub fn fresh() -> Self {
        let p = cityops_testkit::unique_name("t");
        Self {
            raw_iot: format!("{p}.raw.iot"),
            raw_hotline: format!("{p}.raw.hotline"),
            events: format!("{p}.events"),
            incidents: format!("{p}.incidents"),
            workorder_events: format!("{p}.workorders.events"),
            telemetry: format!("{p}.telemetry"),
            dead_letter: format!("{p}.dlq"),
        }
    }

    pub fn all(&self) -> Vec<&str> {
        vec![
            &self.raw_iot,
            &self.raw_hotline,
            &self.events,
            &self.incidents,
            &self.workorder_events,
            &self.telemetry,
            &self.dead_letter,
        ]
    }
}

/// `cityops run` as a child process.
pub struct Platform {
    child: Child,
    logs: Arc<Mutex<String>>,
    pub ingest_url: String,
    pub telemetry_url: String,
    pub topics: Topics,
    pub database: String,
    pub reporter_secret: String,
}

fn capture(stream: impl AsyncRead + Unpin + Send + 'static, logs: Arc<Mutex<String>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut l = logs.lock().unwrap_or_else(|e| e.into_inner());
            l.push_str(&line);
            l.push('\n');
        }
    });
}

impl Platform {
    /// Starts `cityops run` (the `program`, i.e. `env!("CARGO_BIN_EXE_cityops")` of the test)
    /// against `brokers` and the local ClickHouse, with fresh topics and database and the
    /// `extra` `--set` overrides, and waits until `/readyz` answers 200.
    pub async fn start(program: &str, brokers: &str, extra: &[String]) -> Self {
        let clickhouse = cityops_testkit::require_clickhouse().await;
        let topics = Topics::fresh();
        let database = cityops_testkit::unique_name("e2e");
        let ingest_port = free_port();
        let telemetry_port = free_port();
        let reporter_secret = cityops_testkit::unique_name("secret");
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut sets = vec![
            format!("kafka.brokers={brokers}"),
            "kafka.session_timeout_ms=6000".to_owned(),
            "kafka.delivery_timeout_ms=5000".to_owned(),
            "kafka.topics.default_partitions=2".to_owned(),
            format!("kafka.topics.raw_iot={}", topics.raw_iot),
            format!("kafka.topics.raw_hotline={}", topics.raw_hotline),
            format!("kafka.topics.events={}", topics.events),
            format!("kafka.topics.incidents={}", topics.incidents),
            format!("kafka.topics.workorder_events={}", topics.workorder_events),
            format!("kafka.topics.telemetry={}", topics.telemetry),
            format!("kafka.topics.dead_letter={}", topics.dead_letter),
            format!("clickhouse.url={clickhouse}"),
            format!("clickhouse.database={database}"),
            format!("ingest.listen=127.0.0.1:{ingest_port}"),
            format!("telemetry.listen=127.0.0.1:{telemetry_port}"),
            format!(
                "ingest.consumer_group={}",
                cityops_testkit::unique_name("ingest")
            ),
            format!("ingest.reporter_secret=\"{reporter_secret}\""),
            "ingest.broker_check_interval_ms=300".to_owned(),
            "telemetry.log_format=json".to_owned(),
            "telemetry.log_filter=debug,librdkafka=info,hyper=info,h2=info,reqwest=info".to_owned(),
        ];
        sets.extend(extra.iter().cloned());
        let mut cmd = Command::new(program);
        cmd.current_dir(root)
            .arg("--config")
            .arg("config/cityops.toml")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for s in &sets {
            cmd.arg("--set").arg(s);
        }
        cmd.arg("run");
        let mut child = cmd.spawn().expect("start cityops");
        let logs = Arc::new(Mutex::new(String::new()));
        capture(child.stdout.take().expect("stdout"), logs.clone());
        capture(child.stderr.take().expect("stderr"), logs.clone());
        let platform = Self {
            child,
            logs,
            ingest_url: format!("http://127.0.0.1:{ingest_port}"),
            telemetry_url: format!("http://127.0.0.1:{telemetry_port}"),
            topics,
            database,
            reporter_secret,
        };
        platform.await_ready(true).await;
        platform
    }

    /// Waits until the ingest service's `/readyz` answers 200 (`ready`) or 503 (`!ready`).
    pub async fn await_ready(&self, ready: bool) {
        let client = reqwest::Client::new();
        let url = format!("{}/readyz", self.ingest_url);
        let want = if ready { 200 } else { 503 };
        let logs = self.logs.clone();
        cityops_testkit::eventually(
            &format!("{url} to answer {want}"),
            Duration::from_secs(90),
            || {
                let client = client.clone();
                let url = url.clone();
                let logs = logs.clone();
                async move {
                    let status = client
                        .get(&url)
                        .send()
                        .await
                        .ok()
                        .map(|r| r.status().as_u16());
                    if status.is_none()
                        && logs.lock().map(|l| l.contains("Error:")).unwrap_or(false)
                    {
                        panic!(
                            "cityops failed to start:\n{}",
                            logs.lock().map(|l| l.clone()).unwrap_or_default()
                        );
                    }
                    (status == Some(want)).then_some(())
                }
            },
        )
        .await;
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn logs(&self) -> String {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Stops the process with SIGTERM and waits for it.
    pub async fn stop(mut self) -> String {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
        self.logs()
    }
}

/// A private Tansu broker (for tests that stop and restart it), storing in a temp directory.
pub struct Broker {
    child: Option<Child>,
    pub port: u16,
    dir: std::path::PathBuf,
}

/// The tansu binary: on PATH or in cargo's bin directory.
pub fn tansu_bin() -> std::path::PathBuf {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("tansu"))
            .find(|p| p.is_file())
    });
    from_path
        .or_else(|| {
            let home = std::env::var_os("CARGO_HOME")
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cargo"))
                })?;
            let p = home.join("bin/tansu");
            p.is_file().then_some(p)
        })
        .expect("tansu is not installed: run `make setup`")
}

impl Broker {
    pub async fn start() -> Self {
        let dir = std::env::temp_dir().join(cityops_testkit::unique_name("tansu"));
        std::fs::create_dir_all(&dir).expect("broker dir");
        let mut b = Self {
            child: None,
            port: free_port(),
            dir,
        };
        b.restart().await;
        b
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// (Re)starts the broker on the same port and storage; waits until it accepts connections.
    pub async fn restart(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(tansu_bin())
            .current_dir(&self.dir)
            .args([
                "broker",
                "--storage-engine",
                "sqlite://tansu.db",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start tansu");
        self.child = Some(child);
        let addr = self.brokers();
        cityops_testkit::eventually(
            "the private broker to listen",
            Duration::from_secs(30),
            || {
                let addr = addr.clone();
                async move { tokio::net::TcpStream::connect(&addr).await.ok().map(|_| ()) }
            },
        )
        .await;
    }

    /// Kills the broker.
    pub async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.start_kill();
            let _ = c.wait().await;
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
