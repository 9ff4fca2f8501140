//! Dispatch, as a pure library: from an incident to a work order and through its lifecycle.
//!
//! - [`routing`]: owner and co-departments from the catalogue, refined by place, with a
//!   reason a dispatcher understands; unknown or unplaceable work goes to the command centre's
//!   triage queue.
//! - [`merge`]: duplicate merging (并单) by category, distance and time window, or by device.
//! - [`machine`]: the lifecycle as a pure state machine, [`decide`], building hash-chained
//!   [`cityops_core::WorkOrderEvent`]s; illegal commands are rejected with a reason and
//!   recorded as rejected.
//! - [`chain`]: the SHA-256 hash chain and [`verify_chain`], which names the first broken link.
//! - [`policy`] and [`timers`]: accept and resolve deadlines from the catalogue and the
//!   government calendar, yellow at 75% and red at 100% of each, rebuilt from state.
//! - [`auth`]: bearer tokens (configured as SHA-256) resolved to the calling department or
//!   the command centre.
//! - [`clock`]: the injectable [`Clock`] ([`SystemClock`], [`ManualClock`] for virtual time).
//! - [`state`]: one partition's [`PartitionState`], event-sourced from
//!   `city.workorders.events.v1`.
//!
//! No Kafka, no HTTP, no I/O: the service wiring feeds it. The rules are documented for
//! integrators in `docs/dispatch.md`.

pub mod auth;
pub mod chain;
pub mod clock;
pub mod command;
pub mod ids;
pub mod machine;
pub mod merge;
pub mod policy;
pub mod routing;
mod service;
pub mod state;
pub mod timers;

pub use auth::{token_sha256, AuthError, Authenticator, TokenConfig};
pub use chain::{verify_all, verify_chain, BrokenLink, ChainVerifier, LinkProblem, GENESIS_HASH};
pub use clock::{Clock, ManualClock, SystemClock};
pub use command::{
    command_from_update, Actor, Command, CommandKind, Rejection, RejectionCode, Role,
    DISPATCH_ACTOR,
};
pub use ids::{order_id_for, street_key_of, transition_id_for};
pub use machine::{decide, refuse, status_name, ChainHead, Context, Decision, ALL_STATUSES};
pub use merge::{haversine_m, MergeConfig, MergeIndex, MergeMatch};
pub use policy::{base_department, place_department, Deadlines, Policy, YELLOW_FRACTION};
pub use routing::{route_incident, OrderRouting};
pub use service::{run, DispatchConfig, DispatchError, DispatchSummary};
pub use state::{OrderEntry, PartitionState, Replayed};
pub use timers::{pending_escalations, Escalation, Timers};
