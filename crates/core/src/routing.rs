//! Who must act on an incident: the owner and co-departments of its category in the catalogue,
//! with a reason a dispatcher understands. Place-resolved departments (`street_office`) are
//! named after the incident's street when it is known. The dispatch service refines routing
//! further by place; dry-run and enrichment use this same function so they show what dispatch
//! will do.

use crate::catalogue::Catalogue;
use crate::{CategoryId, DepartmentId};

/// Where an incident goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// The department that owns the order; `None` for a category that opens no order.
    pub owner: Option<DepartmentId>,
    pub co_departments: Vec<DepartmentId>,
    /// E.g. `燃气泄漏 → 市燃气集团, 联动 市消防救援支队: catalogue emergency/gas_leak`.
    pub reason: String,
}

/// The routing of `category` for an incident in `street_name` (when known).
pub fn route(catalogue: &Catalogue, category: &CategoryId, street_name: Option<&str>) -> Routing {
    let Some(cat) = catalogue.category(category) else {
        let triage = catalogue.triage_category();
        return Routing {
            owner: triage.owner.clone(),
            co_departments: triage.co_departments.clone(),
            reason: format!(
                "unknown category {category} → {}: manual triage",
                department_label(catalogue, triage.owner.as_ref(), street_name)
            ),
        };
    };
    let Some(owner) = &cat.owner else {
        return Routing {
            owner: None,
            co_departments: Vec::new(),
            reason: format!(
                "{} → no work order (cockpit only): catalogue {}/{}",
                cat.name, cat.scenario, cat.id
            ),
        };
    };
    let mut reason = format!(
        "{} → {}",
        cat.name,
        department_label(catalogue, Some(owner), street_name)
    );
    if !cat.co_departments.is_empty() {
        let co: Vec<String> = cat
            .co_departments
            .iter()
            .map(|d| department_label(catalogue, Some(d), street_name))
            .collect();
        reason.push_str(&format!(", 联动 {}", co.join("、")));
    }
    reason.push_str(&format!(": catalogue {}/{}", cat.scenario, cat.id));
    Routing {
        owner: Some(owner.clone()),
        co_departments: cat.co_departments.clone(),
        reason,
    }
}

/// A department's Chinese name; a place-resolved one names the street when known
/// (`兴华街道办事处`).
fn department_label(
    catalogue: &Catalogue,
    id: Option<&DepartmentId>,
    street_name: Option<&str>,
) -> String {
    let Some(id) = id else {
        return "—".to_owned();
    };
    match catalogue.department(id) {
        Some(d) if d.place_resolved => match street_name {
            Some(street) => format!("{street}办事处"),
            None => d.name.clone(),
        },
        Some(d) => d.name.clone(),
        None => id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Catalogue {
        Catalogue::from_toml_str(include_str!("../../../config/catalogue.toml")).expect("catalogue")
    }

    #[test]
    fn gas_leak_goes_to_gas_with_fire_rescue() {
        let r = route(&catalogue(), &CategoryId::from("gas_leak"), None);
        assert_eq!(r.owner, Some(DepartmentId::from("gas")));
        assert_eq!(r.co_departments, vec![DepartmentId::from("fire_rescue")]);
        assert_eq!(
            r.reason,
            "燃气泄漏 → 市燃气集团, 联动 市消防救援支队: catalogue emergency/gas_leak"
        );
    }

    #[test]
    fn street_office_is_named_after_the_street() {
        let r = route(
            &catalogue(),
            &CategoryId::from("inactivity_alarm"),
            Some("兴华街道"),
        );
        assert_eq!(r.owner, Some(DepartmentId::from("street_office")));
        assert!(r.reason.contains("兴华街道办事处"), "{}", r.reason);
    }

    #[test]
    fn cockpit_only_and_unknown_categories() {
        let c = catalogue();
        assert_eq!(route(&c, &CategoryId::from("occupancy"), None).owner, None);
        let unknown = route(&c, &CategoryId::from("teleportation"), None);
        assert_eq!(unknown.owner, Some(DepartmentId::from("command_center")));
        assert!(unknown.reason.contains("manual triage"));
    }
}
