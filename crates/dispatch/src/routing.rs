//! Who gets a new order: the catalogue's owner and co-departments
//! ([`cityops_core::routing::route`]), refined by place — a place-resolved department
//! (`street_office`) becomes the office of the incident's street (`street_office.<street
//! code>`). Anything the catalogue cannot place goes to the command centre's triage queue.

use crate::policy::{place_department, Policy};
use cityops_core::routing::route;
use cityops_core::{CategoryId, DepartmentId, Incident, ScenarioId, Severity};

/// Where a new order goes, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRouting {
    pub owner: DepartmentId,
    pub co_departments: Vec<DepartmentId>,
    /// The order's scenario and category: the incident's, or the triage queue's when the
    /// catalogue has no time limit for the incident's category.
    pub scenario: ScenarioId,
    pub category: CategoryId,
    pub severity: Severity,
    /// In a dispatcher's words, e.g. `燃气泄漏 → 市燃气集团, 联动 市消防救援支队: catalogue
    /// emergency/gas_leak`.
    pub reason: String,
}

/// The routing of a new order for `incident`, or `None` when the incident is not actionable
/// (it opens no order).
pub fn route_incident(policy: &Policy, incident: &Incident) -> Option<OrderRouting> {
    if !incident.actionable {
        return None;
    }
    let catalogue = &policy.catalogue;
    let street_name = incident.street_name.as_deref();
    let street_code = incident.street_code.as_deref();
    let category = catalogue
        .category(&incident.category)
        .filter(|c| c.is_actionable());
    let Some(category) = category else {
        // Unknown to this catalogue, or without a time limit here although enrichment called
        // it actionable (another catalogue version): a person decides.
        let triage = policy.triage_category();
        let base = route(catalogue, &triage.id, street_name);
        let why = if catalogue.category(&incident.category).is_some() {
            format!(
                "category {} has no time limit in catalogue {}",
                incident.category,
                catalogue.version()
            )
        } else {
            format!(
                "category {} is not in catalogue {}",
                incident.category,
                catalogue.version()
            )
        };
        return Some(OrderRouting {
            owner: policy.command_center.clone(),
            co_departments: Vec::new(),
            scenario: triage.scenario.clone(),
            category: triage.id.clone(),
            severity: incident.severity,
            reason: format!("{why} → manual triage; {}", base.reason),
        });
    };

    let base = route(catalogue, &category.id, street_name);
    let mut reason = base.reason;
    let catalogue_owner = base.owner.unwrap_or_else(|| policy.command_center.clone());
    let place_resolved =
        |d: &DepartmentId| catalogue.department(d).is_some_and(|d| d.place_resolved);
    let owner = if place_resolved(&catalogue_owner) {
        match street_code {
            Some(code) => place_department(&catalogue_owner, code),
            None => {
                reason.push_str(&format!(
                    "; street unknown → {} assigns the street office",
                    policy.department_label(&policy.command_center)
                ));
                policy.command_center.clone()
            }
        }
    } else {
        catalogue_owner
    };
    let co_departments = base
        .co_departments
        .iter()
        .map(|d| match street_code {
            Some(code) if place_resolved(d) => place_department(d, code),
            _ => d.clone(),
        })
        .collect();
    Some(OrderRouting {
        owner,
        co_departments,
        scenario: category.scenario.clone(),
        category: category.id.clone(),
        severity: incident.severity,
        reason,
    })
}
