use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::{Shutdown, TelemetryError};

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// One dependency `/readyz` checks (Kafka, ClickHouse...): `Ok` when it answers.
#[derive(Clone)]
pub struct ReadinessCheck {
    name: String,
    check: Arc<dyn Fn() -> CheckFuture + Send + Sync>,
}

impl ReadinessCheck {
    pub fn new<F, Fut>(name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Self {
            name: name.into(),
            check: Arc::new(move || Box::pin(check())),
        }
    }
}

/// The readiness checks of a service.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<ReadinessCheck>,
    timeout: Option<Duration>,
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, check: ReadinessCheck) -> Self {
        self.checks.push(check);
        self
    }

    /// Runs every check (concurrently, each bounded by a timeout); `true` when all passed,
    /// with each check's result.
    pub async fn run(&self) -> (bool, serde_json::Map<String, serde_json::Value>) {
        let timeout = self.timeout.unwrap_or(Duration::from_secs(3));
        let results = futures::future::join_all(self.checks.iter().map(|c| {
            let fut = (c.check)();
            let name = c.name.clone();
            async move {
                let r = match tokio::time::timeout(timeout, fut).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("no answer within {timeout:?}")),
                };
                (name, r)
            }
        }))
        .await;
        let mut ok = true;
        let mut map = serde_json::Map::new();
        for (name, r) in results {
            let v = match r {
                Ok(()) => "ok".to_owned(),
                Err(e) => {
                    ok = false;
                    e
                }
            };
            map.insert(name, serde_json::Value::String(v));
        }
        (ok, map)
    }
}

#[derive(Clone)]
struct HealthState {
    readiness: Readiness,
    prometheus: PrometheusHandle,
    shutdown: Shutdown,
}

/// `/livez` (the process runs), `/readyz` (every dependency answers, and no shutdown is under
/// way) and `/metrics` (Prometheus text format). Merge it into a service's own router.
pub fn health_router(
    readiness: Readiness,
    prometheus: PrometheusHandle,
    shutdown: Shutdown,
) -> Router {
    Router::new()
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(HealthState {
            readiness,
            prometheus,
            shutdown,
        })
}

async fn readyz(State(s): State<HealthState>) -> Response {
    let (mut ok, mut checks) = s.readiness.run().await;
    if s.shutdown.is_triggered() {
        ok = false;
        checks.insert("shutdown".into(), "shutting down".into());
    }
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({ "ready": ok, "checks": checks })),
    )
        .into_response()
}

async fn metrics(State(s): State<HealthState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.prometheus.render(),
    )
        .into_response()
}

/// Serves `router` on `addr` until `shutdown`, then lets requests in flight finish.
pub async fn serve(addr: &str, router: Router, shutdown: Shutdown) -> Result<(), TelemetryError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| TelemetryError::Listen {
            addr: addr.to_owned(),
            source,
        })?;
    tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "serving");
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await
        .map_err(|source| TelemetryError::Listen {
            addr: addr.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn router(ready: bool, shutdown: Shutdown) -> Router {
        let prometheus = crate::install_metrics().expect("recorder");
        let readiness = Readiness::new()
            .with(ReadinessCheck::new("kafka", || async { Ok(()) }))
            .with(ReadinessCheck::new("clickhouse", move || async move {
                if ready {
                    Ok(())
                } else {
                    Err("connection refused".to_owned())
                }
            }));
        health_router(readiness, prometheus, shutdown)
    }

    async fn get(router: Router, path: &str) -> (StatusCode, String) {
        let resp = router
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn readyz_reports_each_dependency() {
        let (status, body) = get(router(true, Shutdown::new()), "/readyz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = get(router(false, Shutdown::new()), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("connection refused"), "{body}");
        assert!(body.contains(r#""kafka":"ok""#), "{body}");
    }

    #[tokio::test]
    async fn not_ready_while_shutting_down_but_alive() {
        let s = Shutdown::new();
        s.trigger();
        let (status, _) = get(router(true, s.clone()), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let (status, _) = get(router(true, s), "/livez").await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn metrics_are_rendered() {
        let r = router(true, Shutdown::new());
        metrics::counter!("cityops_test_things_total").increment(3);
        let (status, body) = get(r, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("cityops_test_things_total 3"), "{body}");
    }
}
