//! The hash chain of an order's history (against rewritten histories, 虚假办结).
//!
//! Every transition carries `prev_hash` (the `hash` of the order's previous transition, 64
//! zeros for the first) and
//!
//! ```text
//! hash = hex(SHA-256(prev_hash ‖ canonical_json(transition without its `hash` field)))
//! ```
//!
//! The canonical JSON is the serde form of [`WorkOrderEvent`] (field names are the Avro
//! schema's), written with object members sorted by name, no whitespace, and members whose
//! value is `null` left out. Leaving out nulls keeps old hashes valid when the schema gains an
//! optional field (the usual, backward-compatible evolution: a new nullable field with a
//! `null` default). Numbers are written as serde_json writes them (shortest round-trip form).
//!
//! [`verify_chain`] checks one order's history and names the first broken link.

use crate::ids::transition_id_for;
use cityops_core::WorkOrderEvent;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// `prev_hash` of an order's first transition.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The canonical serialisation of `event` that its hash covers: everything but `hash`.
pub fn canonical_json(event: &WorkOrderEvent) -> String {
    let mut value = match serde_json::to_value(event) {
        Ok(v) => v,
        // Serialising plain data into a Value cannot fail; keep the hash total anyway.
        Err(e) => Value::String(format!("unserialisable transition: {e}")),
    };
    if let Value::Object(map) = &mut value {
        map.remove("hash");
    }
    let mut out = String::with_capacity(2048);
    write_canonical(&value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Sorted here, whatever map type serde_json was built with (`preserve_order`).
            let sorted: BTreeMap<&str, &Value> = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.as_str(), v))
                .collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

/// The hash `event` must carry, given its own `prev_hash`.
pub fn compute_hash(event: &WorkOrderEvent) -> String {
    let mut hasher = Sha256::new();
    hasher.update(event.prev_hash.as_bytes());
    hasher.update(canonical_json(event).as_bytes());
    hex::encode(hasher.finalize())
}

/// Sets `event.prev_hash` to `prev_hash` and `event.hash` to the hash over it.
pub fn seal(event: &mut WorkOrderEvent, prev_hash: &str) {
    event.prev_hash = prev_hash.to_owned();
    event.hash = compute_hash(event);
}

/// What is wrong with a link of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkProblem {
    /// The transition belongs to another order than the chain's first one.
    OtherOrder { expected: String, found: String },
    /// The sequence number is not the previous one plus one (a gap, a repeat, a reordering,
    /// or a history that does not start at 1).
    SeqGap { expected: i64, found: i64 },
    /// `transition_id` is not `<order_id>#<seq>`.
    TransitionId { expected: String, found: String },
    /// `prev_hash` is not the previous transition's `hash` (a removed, inserted or replaced
    /// transition).
    PrevHash { expected: String, found: String },
    /// `hash` does not match the content (the transition was edited after it was written).
    Tampered { stored: String, computed: String },
}

impl fmt::Display for LinkProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkProblem::OtherOrder { expected, found } => {
                write!(f, "belongs to order {found}, not {expected}")
            }
            LinkProblem::SeqGap { expected, found } => write!(
                f,
                "sequence number {found} where {expected} was expected (a transition is missing, repeated or out of order)"
            ),
            LinkProblem::TransitionId { expected, found } => {
                write!(f, "transition id {found:?} where {expected:?} was expected")
            }
            LinkProblem::PrevHash { expected, found } => write!(
                f,
                "prev_hash {found} is not the previous transition's hash {expected} (history rewritten before this point)"
            ),
            LinkProblem::Tampered { stored, computed } => write!(
                f,
                "content does not match its hash (stored {stored}, computed {computed}): the transition was altered"
            ),
        }
    }
}

/// The first link of a chain that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("broken link at seq {seq} ({transition_id}): {reason}")]
pub struct BrokenLink {
    /// The sequence number the broken transition carries.
    pub seq: i64,
    pub transition_id: String,
    pub reason: LinkProblem,
}

/// Incremental verification of one order's chain, transition by transition, as they are read.
#[derive(Debug, Clone, Default)]
pub struct ChainVerifier {
    order_id: Option<String>,
    last_seq: i64,
    last_hash: Option<String>,
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// A verifier that continues a chain whose last transition had `seq` and `hash`.
    pub fn resume(order_id: &str, seq: i64, hash: &str) -> Self {
        Self {
            order_id: Some(order_id.to_owned()),
            last_seq: seq,
            last_hash: Some(hash.to_owned()),
        }
    }

    /// Checks the next transition against the ones before. After a broken link the verifier
    /// goes on from the broken transition (so each further problem is reported once).
    pub fn push(&mut self, event: &WorkOrderEvent) -> Result<(), BrokenLink> {
        let broken = |reason| BrokenLink {
            seq: event.seq,
            transition_id: event.transition_id.clone(),
            reason,
        };
        let result = self.check(event).map_err(broken);
        self.order_id.get_or_insert_with(|| event.order_id.clone());
        self.last_seq = event.seq;
        self.last_hash = Some(event.hash.clone());
        result
    }

    fn check(&self, event: &WorkOrderEvent) -> Result<(), LinkProblem> {
        if let Some(expected) = &self.order_id {
            if *expected != event.order_id {
                return Err(LinkProblem::OtherOrder {
                    expected: expected.clone(),
                    found: event.order_id.clone(),
                });
            }
        }
        let expected_seq = self.last_seq + 1;
        if event.seq != expected_seq {
            return Err(LinkProblem::SeqGap {
                expected: expected_seq,
                found: event.seq,
            });
        }
        let expected_id = transition_id_for(&event.order_id, event.seq);
        if event.transition_id != expected_id {
            return Err(LinkProblem::TransitionId {
                expected: expected_id,
                found: event.transition_id.clone(),
            });
        }
        let expected_prev = self.last_hash.as_deref().unwrap_or(GENESIS_HASH);
        if event.prev_hash != expected_prev {
            return Err(LinkProblem::PrevHash {
                expected: expected_prev.to_owned(),
                found: event.prev_hash.clone(),
            });
        }
        let computed = compute_hash(event);
        if event.hash != computed {
            return Err(LinkProblem::Tampered {
                stored: event.hash.clone(),
                computed,
            });
        }
        Ok(())
    }
}

/// Verifies one order's history, given in the order it was written (seq 1, 2, ...), and names
/// the first broken link: a transition of another order, a gap or repeat in the sequence, a
/// wrong transition id, a `prev_hash` that is not the previous `hash`, or content that does
/// not match its `hash`.
pub fn verify_chain(events: &[WorkOrderEvent]) -> Result<(), BrokenLink> {
    let mut verifier = ChainVerifier::new();
    events.iter().try_for_each(|e| verifier.push(e))
}

/// Verifies every order of a mixed stream of transitions (e.g. a partition of
/// `city.workorders.events.v1` as read), each order's transitions in stream order. Orders
/// whose chain holds are absent from the answer.
pub fn verify_all<'a>(
    events: impl IntoIterator<Item = &'a WorkOrderEvent>,
) -> BTreeMap<String, BrokenLink> {
    let mut verifiers: BTreeMap<&str, ChainVerifier> = BTreeMap::new();
    let mut broken = BTreeMap::new();
    for e in events {
        let v = verifiers.entry(e.order_id.as_str()).or_default();
        if let Err(link) = v.push(e) {
            broken.entry(e.order_id.clone()).or_insert(link);
        }
    }
    broken
}
