//! A stub Confluent schema registry (axum on 127.0.0.1:0) that answers
//! `POST /subjects/{subject}/versions` and `GET /schemas/ids/{id}`, counts the calls and can
//! be told to fail. No registry server can be installed on the test machines (Confluent's and
//! Apicurio's come from Maven), and cityops uses these two calls only.

use axum::extract::{Path, State};
pub use axum::http::StatusCode;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The media type of the registry's answers.
const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// What the stub holds and saw.
#[derive(Default)]
pub struct Stub {
    /// Schema texts; the id of `schemas[i]` is `i + 1`.
    pub schemas: Vec<String>,
    /// Subject → ids registered under it.
    pub subjects: BTreeMap<String, Vec<u32>>,
    pub posts: usize,
    pub gets: usize,
    /// Content types of the POSTs.
    pub content_types: Vec<String>,
    /// Answer every request with this status.
    pub fail_with: Option<StatusCode>,
}

/// The stub's state, shared with its server.
pub type Shared = Arc<Mutex<Stub>>;

fn registry_json(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response()
}

fn lock(stub: &Shared) -> std::sync::MutexGuard<'_, Stub> {
    stub.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn register(
    State(stub): State<Shared>,
    Path(subject): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut stub = lock(&stub);
    stub.posts += 1;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    stub.content_types.push(content_type);
    if let Some(status) = stub.fail_with {
        return registry_json(
            status,
            serde_json::json!({"error_code": 50001, "message": "Error in the backend datastore"}),
        );
    }
    let Some(schema) = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|b| b["schema"].as_str().map(str::to_owned))
    else {
        return registry_json(
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({"error_code": 42201, "message": "Invalid schema"}),
        );
    };
    let id = match stub.schemas.iter().position(|s| *s == schema) {
        Some(i) => i as u32 + 1,
        None => {
            stub.schemas.push(schema);
            stub.schemas.len() as u32
        }
    };
    stub.subjects.entry(subject).or_default().push(id);
    registry_json(StatusCode::OK, serde_json::json!({ "id": id }))
}

async fn schema_by_id(State(stub): State<Shared>, Path(id): Path<u32>) -> Response {
    // Slow enough for concurrent misses to overlap.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut stub = lock(&stub);
    stub.gets += 1;
    if let Some(status) = stub.fail_with {
        return registry_json(
            status,
            serde_json::json!({"error_code": 50001, "message": "boom"}),
        );
    }
    match stub.schemas.get((id as usize).wrapping_sub(1)) {
        Some(schema) => registry_json(StatusCode::OK, serde_json::json!({ "schema": schema })),
        None => registry_json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error_code": 40403, "message": "Schema not found"}),
        ),
    }
}

/// Starts a stub registry; returns its URL and state.
pub async fn stub_registry() -> (String, Shared) {
    let stub = Shared::default();
    let app = Router::new()
        .route("/subjects/{subject}/versions", post(register))
        .route("/schemas/ids/{id}", get(schema_by_id))
        .with_state(Arc::clone(&stub));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the stub registry");
    let addr = listener.local_addr().expect("the stub registry's address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), stub)
}

/// Adds a schema to the stub directly (as another producer would have) and returns its id.
pub fn seed(stub: &Shared, schema: &str) -> u32 {
    let mut stub = lock(stub);
    stub.schemas.push(schema.to_owned());
    stub.schemas.len() as u32
}
