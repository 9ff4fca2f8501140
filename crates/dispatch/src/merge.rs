//! Duplicate merging (并单): an incident that reports what an open order already covers is
//! attached to that order instead of opening a new one.
//!
//! An incident joins an open order of the same street key and the same category when
//! - it comes from the same device as the order (a repeated alarm), whenever it occurred while
//!   the order is open; or
//! - it lies within `distance_m` (default 200 m, great-circle) of the order's location and
//!   occurred within `window` (default 2 h) of the order's reports: between `window` before
//!   the order was created and `window` after the latest incident attached to it.
//!
//! Different categories at one place stay separate; the triage queue (`unclassified`) never
//! merges (its incidents are of unknown kinds); incidents without coordinates merge only by
//! device. "Open" means not yet resolved: a report about a resolved or closed order opens a
//! new order (the problem is back). Only orders of the same street key are considered, so the
//! result never depends on how streets share partitions.

use cityops_core::{CategoryId, GeoPoint, Incident, OrderStatus, WorkOrder};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Merge settings (`[dispatch.merge]` of the service configuration).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MergeConfig {
    /// Greatest distance, metres, between a duplicate and its master order.
    pub distance_m: f64,
    /// Greatest time, milliseconds, between a duplicate and the master's reports.
    pub window_ms: i64,
}

impl Default for MergeConfig {
    fn default() -> Self {
        Self {
            distance_m: 200.0,
            window_ms: 2 * 3_600_000,
        }
    }
}

/// Great-circle distance in metres (haversine).
pub fn haversine_m(a: GeoPoint, b: GeoPoint) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = (b.lat - a.lat).to_radians();
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Whether an order in `status` still takes duplicates.
pub fn takes_duplicates(status: OrderStatus) -> bool {
    !matches!(status, OrderStatus::Resolved | OrderStatus::Closed)
}

/// What the merge rules know of one open order.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeCandidate {
    pub order_id: String,
    pub street_key: String,
    pub category: CategoryId,
    pub location: Option<GeoPoint>,
    pub device_id: Option<String>,
    /// When the order was created (dispatch's clock).
    pub created_at_ms: i64,
    /// When the latest incident was attached (creation or merge, dispatch's clock).
    pub last_report_at_ms: i64,
}

/// Why an incident joins an order.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeMatch {
    pub order_id: String,
    /// E.g. `repeated alarm of device SY-GAS-000123` or `duplicate: 120 m and 35 min from the
    /// order's reports`.
    pub reason: String,
}

/// The open orders of one partition, by street key and category.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergeIndex {
    candidates: BTreeMap<String, MergeCandidate>,
    by_place: BTreeMap<(String, CategoryId), BTreeSet<String>>,
}

impl MergeIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts `order` in the index when it takes duplicates (and is not of the triage
    /// category), or takes it out. `last_report_at_ms` is when its latest incident was
    /// attached.
    pub fn update(&mut self, order: &WorkOrder, last_report_at_ms: i64, triage: &CategoryId) {
        self.remove(&order.order_id);
        if !takes_duplicates(order.status) || order.category == *triage {
            return;
        }
        let candidate = MergeCandidate {
            order_id: order.order_id.clone(),
            street_key: order.street_key.clone(),
            category: order.category.clone(),
            location: order.location,
            device_id: order.device_id.clone(),
            created_at_ms: order.created_at_ms,
            last_report_at_ms,
        };
        self.by_place
            .entry((candidate.street_key.clone(), candidate.category.clone()))
            .or_default()
            .insert(candidate.order_id.clone());
        self.candidates
            .insert(candidate.order_id.clone(), candidate);
    }

    /// Takes an order out of the index.
    pub fn remove(&mut self, order_id: &str) {
        if let Some(old) = self.candidates.remove(order_id) {
            let key = (old.street_key, old.category);
            if let Some(set) = self.by_place.get_mut(&key) {
                set.remove(order_id);
                if set.is_empty() {
                    self.by_place.remove(&key);
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.candidates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.candidates.is_empty()
    }

    /// The candidates, by order id.
    pub fn candidates(&self) -> impl Iterator<Item = &MergeCandidate> {
        self.candidates.values()
    }

    /// The open order `incident` duplicates, if any, for an incident whose order would be of
    /// `category` (its routed category). A repeated alarm of the order's device wins;
    /// otherwise the nearest order within the distance and window (ties: the oldest order).
    pub fn find_master(
        &self,
        incident: &Incident,
        category: &CategoryId,
        config: &MergeConfig,
    ) -> Option<MergeMatch> {
        let key = (incident.partition_key().to_owned(), category.clone());
        let ids = self.by_place.get(&key)?;
        let candidates = ids.iter().filter_map(|id| self.candidates.get(id));
        let t = incident.event.occurred_at_ms;

        if let Some(device) = incident.event.device_id.as_deref() {
            if let Some(c) = candidates
                .clone()
                .filter(|c| c.device_id.as_deref() == Some(device))
                .min_by_key(|c| (c.created_at_ms, c.order_id.clone()))
            {
                return Some(MergeMatch {
                    order_id: c.order_id.clone(),
                    reason: format!("repeated alarm of device {device} while its order is open"),
                });
            }
        }

        let here = incident.event.location?;
        candidates
            .filter_map(|c| {
                let there = c.location?;
                let distance = haversine_m(here, there);
                let in_window = t >= c.created_at_ms.saturating_sub(config.window_ms)
                    && t <= c.last_report_at_ms.saturating_add(config.window_ms);
                (distance <= config.distance_m && in_window).then_some((distance, c))
            })
            .min_by(|(da, a), (db, b)| {
                da.total_cmp(db)
                    .then(a.created_at_ms.cmp(&b.created_at_ms))
                    .then(a.order_id.cmp(&b.order_id))
            })
            .map(|(distance, c)| {
                let minutes = (t - c.last_report_at_ms).abs() / 60_000;
                MergeMatch {
                    order_id: c.order_id.clone(),
                    reason: format!(
                        "duplicate of the same category {:.0} m from the order and {minutes} min from its latest report (limits {:.0} m, {} min)",
                        distance,
                        config.distance_m,
                        config.window_ms / 60_000
                    ),
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_is_right_at_city_scale() {
        let a = GeoPoint {
            lat: 41.8,
            lon: 123.4,
        };
        // 0.001° of latitude ≈ 111.2 m.
        let b = GeoPoint {
            lat: 41.801,
            lon: 123.4,
        };
        let d = haversine_m(a, b);
        assert!((d - 111.2).abs() < 0.5, "{d}");
        assert!(haversine_m(a, a).abs() < 1e-9);
        // 0.001° of longitude at 41.8° ≈ 82.9 m.
        let c = GeoPoint {
            lat: 41.8,
            lon: 123.401,
        };
        assert!((haversine_m(a, c) - 82.9).abs() < 0.5);
    }
}
