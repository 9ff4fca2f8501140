//! Department bots and the command-centre bot, over the dispatch API (docs/departments.md).
//!
//! Every few real seconds each department with a token reads its open orders
//! (`GET /v1/departments/{dept}/orders`) and acts on the ones it owns, after delays measured
//! on the simulated clock: accept (签收), sometimes report progress, resolve (办结); now and
//! then return an order (退单) — always one the simulator knows was misrouted, plus a share of
//! its own — or let one run past its accept deadline (which is on the platform's real clock),
//! or ask for more time (延期申请). The command centre closes resolved orders (结案) and
//! records the citizen's callback (回访, 1–5, mostly satisfied; a dissatisfied one is sometimes
//! reopened, 重办), re-dispatches returned orders and its triage queue to the department the
//! ticket was written for (改派), and grants extensions.
//!
//! Decisions are a pure function of the order, what the bot remembers of it, and a plan
//! drawn once per order from the seed ([`plan`]), so a run is repeatable up to timing.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::config::BotsConfig;
use crate::error::SimulateError;
use crate::rng::{hash64, Rng};

/// The command centre's department id in the catalogue.
pub const COMMAND_CENTER: &str = "command_center";

/// What the simulator meant by a ticket: the category it wrote the text for and the
/// department that owns it there (a street office resolved to the ticket's street).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub category: String,
    pub owner: String,
}

/// What the runner tells the bots: the intent of each event it sent, and the street offices
/// that may get orders (only those are polled).
#[derive(Debug, Default)]
pub struct Board {
    pub intents: HashMap<String, Intent>,
    pub in_play: BTreeSet<String>,
}

/// An order as the list answers it (only the fields the bots read).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct OrderView {
    pub order_id: String,
    pub owner: String,
    pub category: String,
    #[serde(default)]
    pub severity: String,
    pub status: String,
    #[serde(default)]
    pub accept_deadline_ms: Option<i64>,
    #[serde(default)]
    pub resolve_deadline_ms: Option<i64>,
    #[serde(default)]
    pub incident_ids: Vec<String>,
    #[serde(default)]
    pub extension_requested: bool,
    pub version: i64,
}

#[derive(Debug, Deserialize)]
struct OrderList {
    orders: Vec<OrderView>,
}

/// What the bots did, for the summary.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BotSummary {
    /// Departments with a bot (and `command_center` when its token is set).
    pub departments: Vec<String>,
    /// Orders the bots saw.
    pub orders_seen: usize,
    /// Commands applied, by action (`accept`, `resolve`, `close`, `satisfaction`…).
    pub actions: BTreeMap<String, u64>,
    /// Orders the command centre closed.
    pub orders_closed: usize,
    /// Orders a department let run past the accept deadline on purpose.
    pub late: u64,
    /// Callback scores given, 1 to 5.
    pub scores: [u64; 5],
    /// Commands answered 202 (queued, decided later).
    pub queued: u64,
    /// Commands refused (409: the order had moved on; 422…).
    pub refused: u64,
    /// Requests that failed (network, 5xx).
    pub errors: u64,
    /// Ids of the orders closed, for a test to look up.
    pub closed_order_ids: Vec<String>,
}

/// What a bot does next to an order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Accept,
    Progress,
    Resolve,
    Return {
        reason: String,
    },
    Extension {
        deadline_ms: i64,
    },
    /// Close, then the callback, then a reopen when dissatisfied and so planned.
    Close,
    Redispatch {
        owner: String,
        category: Option<String>,
    },
    GrantExtension,
}

impl Action {
    pub fn path(&self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Progress => "progress",
            Action::Resolve => "resolve",
            Action::Return { .. } => "return",
            Action::Extension { .. } => "extension",
            Action::Close => "close",
            Action::Redispatch { .. } => "redispatch",
            Action::GrantExtension => "grant-extension",
        }
    }
}

/// How a department will handle one order, drawn once from the seed and the order id.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub accept_after: Duration,
    pub progress: bool,
    pub progress_after: Duration,
    pub resolve_after: Duration,
    pub return_it: bool,
    pub late: bool,
    pub extension: bool,
    pub score: u8,
    pub reopen: bool,
    /// The callback's score after the order was reopened and handled again (mostly satisfied).
    pub rescore: u8,
}

/// The plan of `order_id`: delays in simulated minutes (a tenth for critical orders, 40% for
/// urgent ones) turned into real time by the speed-up.
pub fn plan(seed: u64, order_id: &str, severity: &str, cfg: &BotsConfig, speedup: f64) -> Plan {
    let mut rng = Rng::new(seed ^ hash64(order_id));
    rng.next_u64();
    let factor = match severity {
        "critical" => 0.1,
        "urgent" => 0.4,
        _ => 1.0,
    };
    let real = |minutes: f64| Duration::from_secs_f64((minutes * factor * 60.0 / speedup).max(0.0));
    let [a0, a1] = cfg.accept_minutes;
    let [r0, r1] = cfg.resolve_minutes;
    let accept_after = real(rng.range(a0, a1));
    let resolve_minutes = rng.range(r0, r1);
    let progress = rng.chance(cfg.progress_probability);
    let score = rng
        .weighted(&cfg.satisfaction_weights)
        .map_or(5, |i| i as u8 + 1);
    Plan {
        accept_after,
        progress,
        progress_after: real(resolve_minutes * rng.range(0.2, 0.6)),
        resolve_after: real(resolve_minutes),
        return_it: rng.chance(cfg.return_probability),
        late: rng.chance(cfg.late_probability),
        extension: rng.chance(cfg.extension_probability),
        score,
        reopen: score <= 2 && rng.chance(cfg.reopen_probability),
        rescore: if rng.chance(0.8) {
            5
        } else {
            rng.int(3, 4) as u8
        },
    }
}

/// What a bot remembers of an order.
#[derive(Debug, Clone)]
pub struct Track {
    pub plan: Plan,
    pub status: String,
    /// When the bot first saw the order in its current status.
    pub since: Instant,
    /// Act again only once the list shows at least this version (the one our last command
    /// produced): the list follows the topic by a second or two.
    pub min_version: i64,
    pub inflight: bool,
    pub returned_once: bool,
    pub extension_asked: bool,
    pub late_counted: bool,
    pub gave_up: bool,
    /// Reopened once already after a dissatisfied callback: never again.
    pub reopened_once: bool,
}

impl Track {
    pub fn new(plan: Plan, order: &OrderView, now: Instant) -> Self {
        Self {
            plan,
            status: order.status.clone(),
            since: now,
            min_version: 0,
            inflight: false,
            returned_once: false,
            extension_asked: false,
            late_counted: false,
            gave_up: false,
            reopened_once: false,
        }
    }

    /// Notes the order's listed state.
    pub fn observe(&mut self, order: &OrderView, now: Instant) {
        if order.status != self.status {
            self.status = order.status.clone();
            self.since = now;
        }
    }

    fn ready(&self, order: &OrderView) -> bool {
        !self.inflight && !self.gave_up && order.version >= self.min_version
    }
}

/// The owning department's next step on `order`, if any is due.
pub fn decide_department(
    order: &OrderView,
    track: &Track,
    intent: Option<&Intent>,
    now: Instant,
    now_ms: i64,
) -> Option<Action> {
    if !track.ready(order) {
        return None;
    }
    let waited = now.saturating_duration_since(track.since);
    let p = &track.plan;
    match order.status.as_str() {
        "dispatched" => {
            if waited < p.accept_after {
                return None;
            }
            let misrouted = intent.is_some_and(|i| i.owner != order.owner);
            if !track.returned_once && misrouted {
                let reason = match intent {
                    Some(i) => format!("经核实不属于本单位职责，建议转{}办理", i.owner),
                    None => "经核实不属于本单位职责".to_owned(),
                };
                return Some(Action::Return { reason });
            }
            if !track.returned_once && p.return_it {
                return Some(Action::Return {
                    reason: "现场核实地址不详，无法处置，请指挥中心核实后重新派单".to_owned(),
                });
            }
            if p.late {
                if let Some(deadline) = order.accept_deadline_ms {
                    if now_ms < deadline + 5_000 {
                        return None;
                    }
                }
            }
            Some(Action::Accept)
        }
        "accepted" => {
            if p.extension && !track.extension_asked && !order.extension_requested {
                if let Some(d) = order.resolve_deadline_ms {
                    return Some(Action::Extension {
                        deadline_ms: d + 24 * 3_600_000,
                    });
                }
            }
            if p.progress && waited >= p.progress_after {
                return Some(Action::Progress);
            }
            (!p.progress && waited >= p.resolve_after).then_some(Action::Resolve)
        }
        "in_progress" => {
            let remaining = p.resolve_after.saturating_sub(p.progress_after);
            (waited >= remaining).then_some(Action::Resolve)
        }
        "reopened" => (waited >= p.resolve_after / 2).then_some(Action::Resolve),
        _ => None,
    }
}

/// The command centre's next step on `order`, if any.
pub fn decide_command_center(
    order: &OrderView,
    track: &Track,
    intent: Option<&Intent>,
) -> Option<Action> {
    if !track.ready(order) {
        return None;
    }
    match order.status.as_str() {
        "resolved" => Some(Action::Close),
        "returned" => {
            // To the department the ticket was written for; a reading's order (or an
            // unknown one) goes back where it was.
            let (owner, category) = match intent {
                Some(i) if i.owner != COMMAND_CENTER => (
                    i.owner.clone(),
                    (i.category != order.category).then(|| i.category.clone()),
                ),
                _ => (order.owner.clone(), None),
            };
            Some(Action::Redispatch { owner, category })
        }
        _ if order.extension_requested => Some(Action::GrantExtension),
        "dispatched" if order.owner == COMMAND_CENTER => match intent {
            Some(i) if i.owner != COMMAND_CENTER => Some(Action::Redispatch {
                owner: i.owner.clone(),
                category: (i.category != order.category).then(|| i.category.clone()),
            }),
            // Nothing a department handles: the command centre answers the citizen itself.
            _ => Some(Action::Accept),
        },
        "accepted" | "in_progress" | "reopened" if order.owner == COMMAND_CENTER => {
            Some(Action::Resolve)
        }
        _ => None,
    }
}

/// The result of one command task.
#[derive(Debug)]
struct Done {
    order_id: String,
    /// The version the list must show before the bot acts again; `None`: act again freely
    /// (an error).
    min_version: Option<i64>,
    returned: bool,
    extension: bool,
    reopened: bool,
    give_up: bool,
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base: String,
    run_tag: String,
    stats: Arc<Mutex<BotSummary>>,
}

#[derive(Debug, Clone, Copy)]
enum Posted {
    /// Applied; the order's version after it.
    Applied(i64),
    Queued,
    Refused,
    Failed,
    /// Our own request was wrong or not allowed: stop acting on the order.
    Forbidden,
}

impl Client {
    fn stats(&self) -> std::sync::MutexGuard<'_, BotSummary> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn list(&self, dept: &str, token: &str) -> Result<Vec<OrderView>, String> {
        let url = format!(
            "{}/v1/departments/{dept}/orders?status=open&limit=1000",
            self.base
        );
        let r = self
            .http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let text = r.text().await.map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!(
                "{status}: {}",
                text.chars().take(200).collect::<String>()
            ));
        }
        serde_json::from_str::<OrderList>(&text)
            .map(|l| l.orders)
            .map_err(|e| format!("unreadable order list: {e}"))
    }

    async fn post(
        &self,
        token: &str,
        order_id: &str,
        action: &str,
        version: i64,
        body: serde_json::Value,
    ) -> Posted {
        let url = format!("{}/v1/orders/{order_id}/{action}", self.base);
        let key = format!("sim-{}-{order_id}-{action}-v{version}", self.run_tag);
        let r = self
            .http
            .post(&url)
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await;
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(order_id, action, error = %e, "command not answered; will retry");
                self.stats().errors += 1;
                return Posted::Failed;
            }
        };
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        match status {
            200 => {
                let v = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| {
                        v.pointer("/order/version")
                            .and_then(serde_json::Value::as_i64)
                    })
                    .unwrap_or(version + 1);
                *self.stats().actions.entry(action.to_owned()).or_insert(0) += 1;
                Posted::Applied(v)
            }
            202 => {
                self.stats().queued += 1;
                Posted::Queued
            }
            404 | 409 => {
                tracing::debug!(order_id, action, status, answer = %text, "command refused: the order moved on");
                self.stats().refused += 1;
                Posted::Refused
            }
            401 | 403 | 400 | 422 => {
                tracing::warn!(order_id, action, status, answer = %text, "command refused; the bot leaves this order alone");
                self.stats().refused += 1;
                Posted::Forbidden
            }
            _ => {
                tracing::debug!(order_id, action, status, answer = %text, "command failed; will retry");
                self.stats().errors += 1;
                Posted::Failed
            }
        }
    }
}

fn rfc3339(ms: i64) -> String {
    crate::time::rfc3339(ms)
}

/// Carries out `action` on `order` as `token`'s holder.
async fn execute(
    client: Client,
    token: String,
    cc_token: Option<String>,
    order: OrderView,
    action: Action,
    plan: Plan,
    reopened_before: bool,
) -> Done {
    let v = order.version;
    let id = order.order_id.as_str();
    let mut done = Done {
        order_id: order.order_id.clone(),
        min_version: None,
        returned: false,
        extension: false,
        reopened: false,
        give_up: false,
    };
    let body = match &action {
        Action::Accept => serde_json::json!({"note": "已签收，安排人员处置"}),
        Action::Progress => serde_json::json!({"note": "已到现场核实，正在处置"}),
        Action::Resolve => serde_json::json!({"note": "已处置完毕，现场恢复正常"}),
        Action::Return { reason } => serde_json::json!({ "reason": reason }),
        Action::Extension { deadline_ms } => serde_json::json!({
            "reason": "需协调多个单位配合处置，申请延期",
            "deadline": rfc3339(*deadline_ms),
        }),
        Action::Close => serde_json::json!({"note": "经核查处置属实，结案"}),
        Action::Redispatch { owner, category } => {
            let mut b = serde_json::json!({"owner": owner, "reason": "按职责重新派单"});
            if let Some(c) = category {
                b["category"] = serde_json::json!(c);
            }
            b
        }
        Action::GrantExtension => serde_json::json!({"note": "同意延期"}),
    };
    let posted = client.post(&token, id, action.path(), v, body).await;
    match posted {
        Posted::Applied(after) => {
            done.min_version = Some(after.max(v + 1));
            done.returned = matches!(action, Action::Return { .. });
            done.extension = matches!(action, Action::Extension { .. });
        }
        Posted::Queued | Posted::Refused => done.min_version = Some(v + 1),
        Posted::Failed => return done,
        Posted::Forbidden => {
            done.give_up = true;
            return done;
        }
    }
    if let (Action::Close, Posted::Applied(after), Some(cc)) = (&action, posted, cc_token) {
        client.stats().closed_order_ids.push(order.order_id.clone());
        let score = if reopened_before {
            plan.rescore
        } else {
            plan.score
        };
        let note = if score >= 4 {
            "市民表示满意"
        } else {
            "市民表示不满意"
        };
        if let Posted::Applied(after2) = client
            .post(
                &cc,
                id,
                "satisfaction",
                after,
                serde_json::json!({"score": score, "note": note}),
            )
            .await
        {
            client.stats().scores[usize::from(score.clamp(1, 5)) - 1] += 1;
            done.min_version = Some(after2);
            if plan.reopen && !reopened_before {
                if let Posted::Applied(after3) = client
                    .post(
                        &cc,
                        id,
                        "reopen",
                        after2,
                        serde_json::json!({"reason": "回访不满意，要求重新办理"}),
                    )
                    .await
                {
                    done.min_version = Some(after3);
                    done.reopened = true;
                }
            }
        }
    }
    done
}

/// The bots' task: polls and acts until `stop` turns true.
pub(crate) struct Bots {
    config: BotsConfig,
    client: Client,
    seed: u64,
    speedup: f64,
    board: Arc<Mutex<Board>>,
}

impl Bots {
    /// Checks that dispatch answers and knows every token.
    pub async fn start(
        config: &BotsConfig,
        seed: u64,
        speedup: f64,
        run_tag: &str,
        board: Arc<Mutex<Board>>,
        stats: Arc<Mutex<BotSummary>>,
        startup_wait: Duration,
    ) -> Result<Bots, SimulateError> {
        let base = config.dispatch_url.trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| SimulateError::DispatchUnreachable {
                url: base.clone(),
                reason: e.to_string(),
            })?;
        let client = Client {
            http,
            base: base.clone(),
            run_tag: run_tag.to_owned(),
            stats,
        };
        let mut who: Vec<(String, String)> = config
            .tokens
            .iter()
            .map(|(d, t)| (d.clone(), t.expose().to_owned()))
            .collect();
        if let Some(t) = &config.command_center_token {
            who.push((COMMAND_CENTER.to_owned(), t.expose().to_owned()));
        }
        // One request per token (street offices: only the first, to keep the check short).
        let mut checked_street_office = false;
        for (dept, token) in &who {
            if dept.contains('.') {
                if checked_street_office {
                    continue;
                }
                checked_street_office = true;
            }
            let url = format!("{base}/v1/departments/{dept}/orders?limit=1");
            let r = crate::send::first_answer("dispatch", startup_wait, || {
                client.http.get(&url).bearer_auth(token)
            })
            .await
            .map_err(|e| SimulateError::DispatchUnreachable {
                url: base.clone(),
                reason: e.to_string(),
            })?;
            let status = r.status().as_u16();
            if status == 401 || status == 403 {
                let setting = if dept == COMMAND_CENTER {
                    "dispatch.tokens.command_center_sha256".to_owned()
                } else if dept.contains('.') {
                    format!("dispatch.tokens.departments.\"{dept}\"")
                } else {
                    format!("dispatch.tokens.departments.{dept}")
                };
                return Err(SimulateError::Token {
                    who: dept.clone(),
                    status,
                    setting,
                });
            }
        }
        {
            let mut s = client.stats();
            s.departments = who.iter().map(|(d, _)| d.clone()).collect();
        }
        if who.is_empty() {
            tracing::warn!("bots are on but have no tokens (bots.tokens, bots.command_center_token): no order will be acted on");
        }
        Ok(Bots {
            config: config.clone(),
            client,
            seed,
            speedup,
            board,
        })
    }

    /// Polls every `poll_interval_ms` and acts, until `stop` says so.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let cfg = &self.config;
        let semaphore = Arc::new(Semaphore::new(cfg.max_concurrent));
        let mut tasks: JoinSet<Done> = JoinSet::new();
        let mut tracks: HashMap<String, Track> = HashMap::new();
        let mut tick = tokio::time::interval(Duration::from_millis(cfg.poll_interval_ms));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
            while let Some(Ok(d)) = tasks.try_join_next() {
                if let Some(t) = tracks.get_mut(&d.order_id) {
                    t.inflight = false;
                    if let Some(v) = d.min_version {
                        t.min_version = t.min_version.max(v);
                    }
                    t.returned_once |= d.returned;
                    t.extension_asked |= d.extension;
                    t.gave_up |= d.give_up;
                    t.reopened_once |= d.reopened;
                }
            }
            let polled: Vec<(String, String)> = {
                let board = self.board.lock().unwrap_or_else(|e| e.into_inner());
                cfg.tokens
                    .iter()
                    .filter(|(d, _)| !d.contains('.') || board.in_play.contains(d.as_str()))
                    .map(|(d, t)| (d.clone(), t.expose().to_owned()))
                    .chain(
                        cfg.command_center_token
                            .iter()
                            .filter(|_| !cfg.tokens.contains_key(COMMAND_CENTER))
                            .map(|t| (COMMAND_CENTER.to_owned(), t.expose().to_owned())),
                    )
                    .collect()
            };
            let lists = futures::future::join_all(polled.iter().map(|(d, t)| {
                let client = self.client.clone();
                async move { (d, t, client.list(d, t).await) }
            }))
            .await;
            let now = Instant::now();
            let now_ms = crate::time::wall_now_ms();
            for (dept, token, list) in lists {
                let orders = match list {
                    Ok(o) => o,
                    Err(e) => {
                        tracing::debug!(dept, error = %e, "cannot read the orders; will retry");
                        self.client.stats().errors += 1;
                        continue;
                    }
                };
                for order in orders {
                    if order.owner != *dept {
                        continue; // a co-department's copy: the owner acts
                    }
                    let track = tracks.entry(order.order_id.clone()).or_insert_with(|| {
                        Track::new(
                            plan(
                                self.seed,
                                &order.order_id,
                                &order.severity,
                                cfg,
                                self.speedup,
                            ),
                            &order,
                            now,
                        )
                    });
                    track.observe(&order, now);
                    let intent = {
                        let board = self.board.lock().unwrap_or_else(|e| e.into_inner());
                        order
                            .incident_ids
                            .first()
                            .and_then(|i| board.intents.get(i))
                            .cloned()
                    };
                    let is_cc = dept == COMMAND_CENTER;
                    let cc_action = cfg
                        .command_center_token
                        .as_ref()
                        .and_then(|_| decide_command_center(&order, track, intent.as_ref()));
                    let (action, acting_token) = match cc_action {
                        Some(a) if !(is_cc && matches!(a, Action::Accept | Action::Resolve)) => (
                            Some(a),
                            cfg.command_center_token
                                .as_ref()
                                .map_or_else(String::new, |t| t.expose().to_owned()),
                        ),
                        Some(a) => (Some(a), token.clone()),
                        None if !is_cc => (
                            decide_department(&order, track, intent.as_ref(), now, now_ms),
                            token.clone(),
                        ),
                        None => (None, String::new()),
                    };
                    if !is_cc
                        && order.status == "dispatched"
                        && track.plan.late
                        && !track.late_counted
                    {
                        if let Some(d) = order.accept_deadline_ms {
                            if now_ms < d {
                                track.late_counted = true;
                                self.client.stats().late += 1;
                            }
                        }
                    }
                    let Some(action) = action else { continue };
                    track.inflight = true;
                    let (client, sem) = (self.client.clone(), semaphore.clone());
                    let cc = cfg
                        .command_center_token
                        .as_ref()
                        .map(|t| t.expose().to_owned());
                    let plan = track.plan.clone();
                    let reopened_before = track.reopened_once;
                    tasks.spawn(async move {
                        let _permit = sem.acquire_owned().await;
                        execute(
                            client,
                            acting_token,
                            cc,
                            order,
                            action,
                            plan,
                            reopened_before,
                        )
                        .await
                    });
                }
            }
            self.client.stats().orders_seen = tracks.len();
        }
        // Let commands in flight finish (bounded), so the counts are final.
        let _ = tokio::time::timeout(Duration::from_secs(15), async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        tasks.abort_all();
        let mut s = self.client.stats();
        s.orders_closed = s.closed_order_ids.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(status: &str, owner: &str) -> OrderView {
        OrderView {
            order_id: "WO-210106001-abcdef012345".into(),
            owner: owner.into(),
            category: "heating".into(),
            severity: "normal".into(),
            status: status.into(),
            accept_deadline_ms: Some(1_000_000),
            resolve_deadline_ms: Some(2_000_000),
            incident_ids: vec!["e1".into()],
            extension_requested: false,
            version: 2,
        }
    }

    fn quick_plan() -> Plan {
        Plan {
            accept_after: Duration::from_secs(2),
            progress: false,
            progress_after: Duration::from_secs(3),
            resolve_after: Duration::from_secs(10),
            return_it: false,
            late: false,
            extension: false,
            score: 5,
            reopen: false,
            rescore: 5,
        }
    }

    #[test]
    fn plans_are_repeatable_and_skewed_to_satisfied() {
        let cfg = BotsConfig::default();
        let a = plan(1, "WO-x-1", "normal", &cfg, 60.0);
        assert_eq!(a, plan(1, "WO-x-1", "normal", &cfg, 60.0));
        // 2–30 simulated minutes at 60× are 2–30 real seconds; critical is ten times faster.
        assert!(
            a.accept_after >= Duration::from_secs(2) && a.accept_after <= Duration::from_secs(30)
        );
        let c = plan(1, "WO-x-1", "critical", &cfg, 60.0);
        assert!((c.accept_after.as_secs_f64() - a.accept_after.as_secs_f64() * 0.1).abs() < 1e-6);
        let plans: Vec<Plan> = (0..2_000)
            .map(|i| plan(7, &format!("WO-{i}"), "normal", &cfg, 60.0))
            .collect();
        let share =
            |f: &dyn Fn(&Plan) -> bool| plans.iter().filter(|p| f(p)).count() as f64 / 2_000.0;
        assert!((share(&|p| p.return_it) - 0.05).abs() < 0.02);
        assert!((share(&|p| p.late) - 0.10).abs() < 0.03);
        assert!(share(&|p| p.score == 5) > 0.6 && share(&|p| p.score <= 2) < 0.1);
        assert!(plans.iter().all(|p| !p.reopen || p.score <= 2));
    }

    #[test]
    fn a_department_accepts_after_its_delay_then_resolves() {
        let t0 = Instant::now();
        let o = order("dispatched", "heating");
        let track = Track::new(quick_plan(), &o, t0);
        assert_eq!(decide_department(&o, &track, None, t0, 0), None);
        let later = t0 + Duration::from_secs(3);
        assert_eq!(
            decide_department(&o, &track, None, later, 0),
            Some(Action::Accept)
        );
        let mut acc = order("accepted", "heating");
        acc.version = 3;
        let mut track = track;
        track.observe(&acc, later);
        assert_eq!(decide_department(&acc, &track, None, later, 0), None);
        assert_eq!(
            decide_department(&acc, &track, None, later + Duration::from_secs(11), 0),
            Some(Action::Resolve)
        );
        // Not again until the list shows the change.
        track.min_version = 4;
        assert_eq!(
            decide_department(&acc, &track, None, later + Duration::from_secs(11), 0),
            None
        );
    }

    #[test]
    fn misrouted_orders_are_returned_once_and_late_ones_wait_for_the_deadline() {
        let t0 = Instant::now();
        let o = order("dispatched", "heating");
        let mut track = Track::new(quick_plan(), &o, t0);
        let intent = Intent {
            category: "water_supply".into(),
            owner: "water".into(),
        };
        let later = t0 + Duration::from_secs(5);
        assert!(matches!(
            decide_department(&o, &track, Some(&intent), later, 0),
            Some(Action::Return { .. })
        ));
        track.returned_once = true;
        assert_eq!(
            decide_department(&o, &track, Some(&intent), later, 0),
            Some(Action::Accept)
        );
        track.plan.late = true;
        assert_eq!(decide_department(&o, &track, None, later, 999_000), None);
        assert_eq!(
            decide_department(&o, &track, None, later, 1_006_000),
            Some(Action::Accept)
        );
    }

    #[test]
    fn the_command_centre_closes_redispatches_and_triages() {
        let t0 = Instant::now();
        let resolved = order("resolved", "heating");
        let track = Track::new(quick_plan(), &resolved, t0);
        assert_eq!(
            decide_command_center(&resolved, &track, None),
            Some(Action::Close)
        );
        let returned = order("returned", "heating");
        let intent = Intent {
            category: "water_supply".into(),
            owner: "water".into(),
        };
        assert_eq!(
            decide_command_center(&returned, &track, Some(&intent)),
            Some(Action::Redispatch {
                owner: "water".into(),
                category: Some("water_supply".into())
            })
        );
        assert_eq!(
            decide_command_center(&returned, &track, None),
            Some(Action::Redispatch {
                owner: "heating".into(),
                category: None
            })
        );
        let mut triage = order("dispatched", COMMAND_CENTER);
        triage.category = "unclassified".into();
        assert!(matches!(
            decide_command_center(&triage, &track, Some(&intent)),
            Some(Action::Redispatch { .. })
        ));
        let none = Intent {
            category: "unclassified".into(),
            owner: COMMAND_CENTER.into(),
        };
        assert_eq!(
            decide_command_center(&triage, &track, Some(&none)),
            Some(Action::Accept)
        );
        let mut ext = order("accepted", "heating");
        ext.extension_requested = true;
        assert_eq!(
            decide_command_center(&ext, &track, None),
            Some(Action::GrantExtension)
        );
        assert_eq!(
            decide_command_center(&order("accepted", "heating"), &track, None),
            None
        );
    }
}
