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

pub use cityops_testkit::Topics;

/// The consumers' session timeout on the test platform.
const SESSION_TIMEOUT: Duration = Duration::from_secs(6);

/// What a platform process is wired to.
#[derive(Debug, Clone)]
pub struct Spec {
    pub brokers: String,
    pub clickhouse: String,
    pub topics: Topics,
    pub database: String,
    /// Prefix of the consumer groups.
    pub groups: String,
    pub reporter_secret: String,
    /// Further `--set` overrides.
    pub extra: Vec<String>,
}

impl Spec {
    /// Fresh topics, database, groups and secret.
    pub fn fresh(brokers: &str, clickhouse: &str, extra: &[String]) -> Self {
        Self {
            brokers: brokers.to_owned(),
            clickhouse: clickhouse.to_owned(),
            topics: Topics::fresh("t"),
            database: cityops_testkit::unique_name("e2e"),
            groups: cityops_testkit::unique_name("g"),
            reporter_secret: cityops_testkit::unique_name("secret"),
            extra: extra.to_vec(),
        }
    }
}

/// `cityops run` as a child process.
pub struct Platform {
    child: Child,
    logs: Arc<Mutex<String>>,
    /// What it was started with (start it again with this for a restart).
    pub spec: Spec,
    pub ingest_url: String,
    pub telemetry_url: String,
    /// The dispatch API.
    pub dispatch_url: String,
    /// The cockpit.
    pub cockpit_url: String,
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
    /// Starts `cityops run` (the `program`, i.e. `env!("CARGO_BIN_EXE_cityops-under-test")` of the test)
    /// against `brokers` and the local ClickHouse, with fresh topics and database and the
    /// `extra` `--set` overrides, and waits until `/readyz` answers 200.
    pub async fn start(program: &str, brokers: &str, extra: &[String]) -> Self {
        let spec = Spec::fresh(brokers, &cityops_testkit::require_clickhouse().await, extra);
        Self::start_with(program, spec).await
    }

    /// Starts `cityops run` as `spec` says (the same spec again is a restart of the same
    /// deployment: same topics, database and consumer groups).
    pub async fn start_with(program: &str, spec: Spec) -> Self {
        let Spec {
            brokers,
            clickhouse,
            topics,
            database,
            groups,
            reporter_secret,
            extra,
        } = spec;
        let ingest_port = free_port();
        let telemetry_port = free_port();
        let dispatch_port = free_port();
        let cockpit_port = free_port();
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut sets = vec![
            format!("kafka.brokers={brokers}"),
            format!("kafka.session_timeout_ms={}", SESSION_TIMEOUT.as_millis()),
            "kafka.delivery_timeout_ms=5000".to_owned(),
            "kafka.topics.default_partitions=2".to_owned(),
            format!("clickhouse.url={clickhouse}"),
            format!("clickhouse.database={database}"),
            format!("ingest.listen=127.0.0.1:{ingest_port}"),
            format!("telemetry.listen=127.0.0.1:{telemetry_port}"),
            format!("dispatch.listen=127.0.0.1:{dispatch_port}"),
            format!("cockpit.listen=127.0.0.1:{cockpit_port}"),
            "dispatch.updates_discovery_ms=1000".to_owned(),
            format!("ingest.consumer_group={groups}_ingest"),
            format!("sink.consumer_group={groups}_sink"),
            format!("enrich.consumer_group={groups}_enrich"),
            format!("dispatch.consumer_group={groups}_dispatch"),
            format!("ingest.reporter_secret=\"{reporter_secret}\""),
            "ingest.broker_check_interval_ms=300".to_owned(),
            "sink.batch.period_ms=200".to_owned(),
            "telemetry.log_format=json".to_owned(),
            "telemetry.log_filter=debug,librdkafka=info,hyper=info,h2=info,reqwest=info".to_owned(),
        ];
        sets.extend(topics.overrides());
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
            dispatch_url: format!("http://127.0.0.1:{dispatch_port}"),
            cockpit_url: format!("http://127.0.0.1:{cockpit_port}"),
            spec: Spec {
                brokers,
                clickhouse,
                topics: topics.clone(),
                database: database.clone(),
                groups,
                reporter_secret: reporter_secret.clone(),
                extra,
            },
            topics,
            database,
            reporter_secret,
        };
        platform.await_ready(true).await;
        platform
    }

    /// Waits until the dispatch API answers (401 to a request without a token): it listens
    /// once dispatch has replayed its partitions, after `/readyz` is green.
    pub async fn await_dispatch_api(&self) {
        let client = reqwest::Client::new();
        let url = format!("{}/v1/departments/gas/orders", self.dispatch_url);
        cityops_testkit::eventually("the dispatch API", Duration::from_secs(60), || async {
            let r = client.get(&url).send().await.ok()?;
            (r.status().as_u16() == 401).then_some(())
        })
        .await;
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

    /// Kills the process with SIGKILL (no shutdown of any kind) and reaps it.
    /// Kills the process with SIGKILL and waits until the broker has evicted its consumer
    /// group members: their session times out (`kafka.session_timeout_ms`, 6 s here). Tansu
    /// 0.6 gives a member that joins before that no partition until the group's rebalance
    /// timeout (5 minutes), and the broker lets no client watch the eviction, so a restart
    /// right after the kill would sit idle.
    pub async fn kill(mut self) -> String {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        tokio::time::sleep(SESSION_TIMEOUT + Duration::from_secs(1)).await;
        self.logs()
    }

    /// Waits up to `limit` until the process's logs contain `needle`.
    pub async fn await_log(&self, needle: &str, limit: Duration) {
        cityops_testkit::eventually(&format!("{needle:?} in the logs"), limit, || {
            let seen = self.logs().contains(needle);
            async move { seen.then_some(()) }
        })
        .await;
    }

    /// Sends the process a signal (`TERM`, `INT`...).
    pub fn signal(&self, name: &str) {
        send_signal(self.child.id(), name);
    }

    /// Waits up to `limit` for the process to end, and checks that it ended with exit code
    /// `code` and said `said` in its logs.
    pub async fn expect_exit(&mut self, limit: Duration, code: i32, said: &str) {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok);
        let logs = self.logs();
        let status =
            status.unwrap_or_else(|| panic!("cityops did not end within {limit:?}: {logs}"));
        assert_eq!(status.code(), Some(code), "{logs}");
        assert!(logs.contains(said), "{said:?} is not in the logs: {logs}");
    }

    /// The answer of ClickHouse to `sql` in this platform's database, as tab-separated text.
    pub async fn query(&self, sql: &str) -> String {
        let r = reqwest::Client::new()
            .post(format!(
                "{}/?database={}",
                self.spec.clickhouse, self.database
            ))
            .body(format!("{sql} FORMAT TabSeparated"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert!(status.is_success(), "{sql}: {text}");
        text
    }

    /// The number `sql` (a `SELECT count() ...`) answers in this platform's database.
    pub async fn count(&self, sql: &str) -> u64 {
        let text = self.query(sql).await;
        text.trim()
            .parse()
            .unwrap_or_else(|e| panic!("{sql}: {text:?}: {e}"))
    }

    /// Stops the process with SIGTERM and waits for it.
    pub async fn stop(mut self) -> String {
        self.signal("TERM");
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
        self.logs()
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let logs = self.logs();
            let tail: String = logs
                .chars()
                .rev()
                .take(20_000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            eprintln!("---- cityops logs (last 20,000 characters) ----\n{tail}\n---- end of cityops logs ----");
        }
    }
}

/// Sends signal `name` (`TERM`, `STOP`...) to process `pid`, if it still has one.
fn send_signal(pid: Option<u32>, name: &str) {
    if let Some(pid) = pid {
        let _ = std::process::Command::new("kill")
            .args([format!("-{name}"), pid.to_string()])
            .status();
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

    /// Freezes the broker (SIGSTOP): its connections stay open and nothing is answered, as
    /// when a broker hangs. [`Broker::stop`] still ends it.
    pub fn freeze(&self) {
        send_signal(self.child.as_ref().and_then(Child::id), "STOP");
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

/// A private ClickHouse server (for tests that stop and restart it), from the same config
/// template as `make up`, with its data in a temp directory.
pub struct PrivateClickHouse {
    child: Option<Child>,
    pub http_port: u16,
    tcp_port: u16,
    dir: std::path::PathBuf,
}

impl PrivateClickHouse {
    pub async fn start() -> Self {
        let dir = std::env::temp_dir().join(cityops_testkit::unique_name("clickhouse"));
        for sub in ["log", "data", "tmp", "user_files", "format_schemas"] {
            std::fs::create_dir_all(dir.join(sub)).expect("clickhouse dir");
        }
        let mut ch = Self {
            child: None,
            http_port: free_port(),
            tcp_port: free_port(),
            dir,
        };
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let template =
            std::fs::read_to_string(format!("{root}/deploy/local/clickhouse-config.xml"))
                .expect("config template");
        let config = template
            .replace("@DIR@", &ch.dir.display().to_string())
            .replace("@HTTP_PORT@", &ch.http_port.to_string())
            .replace("@TCP_PORT@", &ch.tcp_port.to_string());
        std::fs::write(ch.dir.join("config.xml"), config).expect("write config");
        std::fs::copy(
            format!("{root}/deploy/local/clickhouse-users.xml"),
            ch.dir.join("users.xml"),
        )
        .expect("users");
        ch.restart().await;
        ch
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// (Re)starts the server on the same ports and data; waits until it answers a query.
    pub async fn restart(&mut self) {
        let child = Command::new("/usr/sbin/clickhouse-server")
            .arg(format!(
                "--config-file={}",
                self.dir.join("config.xml").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start clickhouse-server (run `make setup`)");
        self.child = Some(child);
        let url = format!("{}/?query=SELECT%201", self.url());
        cityops_testkit::eventually(
            "the private ClickHouse to answer",
            Duration::from_secs(60),
            || {
                let url = url.clone();
                async move {
                    let ok = reqwest::get(&url)
                        .await
                        .map(|r| r.status().is_success())
                        .unwrap_or(false);
                    ok.then_some(())
                }
            },
        )
        .await;
    }

    /// Kills the server.
    pub async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.start_kill();
            let _ = c.wait().await;
        }
    }
}

impl Drop for PrivateClickHouse {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
