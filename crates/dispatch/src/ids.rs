//! Identifiers of work orders and their transitions.
//!
//! An order id is deterministic from the first incident and carries the partition key of the
//! order's street: `WO-<street_key>-<12 hex of SHA-256(incident_id)>`. So a redelivered
//! incident can never open a second order, and any instance can tell from an order id alone
//! which key (hence which partition of `city.workorders.events.v1`) the order lives in.

use sha2::{Digest, Sha256};

/// Prefix of every order id.
pub const ORDER_ID_PREFIX: &str = "WO-";

/// Hex digits of the incident hash in an order id (48 bits: collisions need ~16 million
/// incidents on one street).
const HASH_HEX: usize = 12;

/// The id of the order opened by `incident_id` on the street whose partition key is
/// `street_key` (see [`cityops_core::Incident::partition_key`]).
///
/// ```
/// let id = cityops_dispatch::order_id_for("210106001", "inc-1");
/// assert!(id.starts_with("WO-210106001-"));
/// assert_eq!(cityops_dispatch::street_key_of(&id), Some("210106001"));
/// ```
pub fn order_id_for(street_key: &str, incident_id: &str) -> String {
    let digest = Sha256::digest(incident_id.as_bytes());
    let hex = hex::encode(digest);
    format!("{ORDER_ID_PREFIX}{street_key}-{}", &hex[..HASH_HEX])
}

/// The partition key (street key) an order id carries, or `None` when `order_id` is not an
/// order id of this scheme.
pub fn street_key_of(order_id: &str) -> Option<&str> {
    let rest = order_id.strip_prefix(ORDER_ID_PREFIX)?;
    let (key, hash) = rest.rsplit_once('-')?;
    let valid_hash = hash.len() == HASH_HEX
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (valid_hash && !key.is_empty()).then_some(key)
}

/// The id of transition `seq` of `order_id`: `<order_id>#<seq>`.
pub fn transition_id_for(order_id: &str, seq: i64) -> String {
    format!("{order_id}#{seq}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_are_deterministic_and_carry_the_street() {
        let a = order_id_for("210106001", "e1");
        assert_eq!(a, order_id_for("210106001", "e1"));
        assert_ne!(a, order_id_for("210106001", "e2"));
        assert_eq!(a.len(), "WO-210106001-".len() + 12);
        assert_eq!(street_key_of(&a), Some("210106001"));
        assert_eq!(
            street_key_of(&order_id_for("unlocated", "x")),
            Some("unlocated")
        );
        // Keys with dashes survive (the hash is the last dash-separated part).
        assert_eq!(street_key_of(&order_id_for("a-b", "x")), Some("a-b"));
    }

    #[test]
    fn foreign_ids_have_no_street() {
        for bad in [
            "",
            "WO-",
            "WO--0123456789ab",
            "XX-210106001-0123456789ab",
            "WO-210106001-0123456789",
            "WO-210106001-0123456789aZ",
            "WO-210106001",
        ] {
            assert_eq!(street_key_of(bad), None, "{bad}");
        }
        assert_eq!(
            transition_id_for("WO-1-0123456789ab", 3),
            "WO-1-0123456789ab#3"
        );
    }
}
