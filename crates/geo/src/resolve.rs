//! Placing an event from whatever it carries: coordinates, address text, a district.

use cityops_core::model::LocationPrecision;

use crate::gazetteer::Gazetteer;
use crate::geography::{Area, Geography};

/// Where an event is, with how precisely that is known: the fields of an `Incident`.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved<'g> {
    pub district: Option<&'g Area>,
    pub street: Option<&'g Area>,
    pub grid: Option<&'g Area>,
    pub precision: LocationPrecision,
    /// The H3 cell of the event's own coordinates, whenever it has valid ones (even outside
    /// the city); never of a geocoded address.
    pub h3_cell: Option<String>,
    /// Where to draw it `(lat, lon)`: the coordinates, or the representative point of the
    /// street or district an address resolved to.
    pub point: Option<(f64, f64)>,
    /// The gazetteer name (or district name) that placed an address.
    pub matched: Option<&'g str>,
}

impl Geography {
    /// Places an event: coordinates inside the city give [`LocationPrecision::Point`] (with
    /// street and grid); otherwise the address text is geocoded ([`LocationPrecision::Street`]),
    /// else the district text or a district named in the address gives
    /// [`LocationPrecision::District`]; otherwise [`LocationPrecision::Unlocated`] with every
    /// place `None`. Coordinates outside every district count in `cityops_geo_unlocated_total`
    /// even when the text then places the event.
    pub fn resolve<'g>(
        &'g self,
        gazetteer: &'g Gazetteer,
        coordinates: Option<(f64, f64)>,
        address: Option<&str>,
        district: Option<&str>,
    ) -> Resolved<'g> {
        let h3_cell = coordinates.and_then(|(lat, lon)| self.h3_cell(lat, lon));
        if let Some((lat, lon)) = coordinates {
            if let Some(place) = self.locate(lat, lon) {
                return Resolved {
                    district: Some(place.district),
                    street: place.street,
                    grid: place.grid,
                    precision: LocationPrecision::Point,
                    h3_cell,
                    point: Some((lat, lon)),
                    matched: None,
                };
            }
        }
        let geocoded = gazetteer.geocode(address.unwrap_or(""), district);
        if let Some(m) = geocoded {
            let street = m.street_code.and_then(|c| self.area(c));
            let district = self.area(m.district_code);
            if district.is_some() {
                return Resolved {
                    district,
                    street,
                    grid: None,
                    precision: if street.is_some() {
                        LocationPrecision::Street
                    } else {
                        LocationPrecision::District
                    },
                    h3_cell,
                    point: Some(m.point),
                    matched: Some(m.matched),
                };
            }
        }
        Resolved {
            district: None,
            street: None,
            grid: None,
            precision: LocationPrecision::Unlocated,
            h3_cell,
            point: coordinates,
            matched: None,
        }
    }
}
