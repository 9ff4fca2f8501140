//! cityops geography: where an event is.
//!
//! - [`Geography`]: districts (区/县), streets (街道/镇/乡) and grids (网格) loaded from GeoJSON
//!   FeatureCollections into R-trees; [`Geography::locate`] maps a WGS-84 point to its
//!   district, street and grid in well under 2 µs without allocating;
//!   [`Geography::h3_cell`] gives its H3 cell at a configurable resolution.
//! - [`Gazetteer`]: road, community and landmark names → street, to geocode tickets that carry
//!   only address text; an address naming only a district resolves to the district.
//! - [`generate`]: the generated default geography of Shenyang shipped in `config/geo/`
//!   (labelled as generated, not official), and the function that writes it.
//!
//! A point outside every district is not an error: [`Geography::locate`] returns `None` and
//! counts it in `cityops_geo_unlocated_total`.

mod error;
mod gazetteer;
pub mod generate;
mod geography;
mod resolve;
mod shape;

pub use cityops_core::model::LocationPrecision;
pub use error::GeoError;
pub use gazetteer::{Gazetteer, GeocodeMatch, MatchKind, GAZETTEER_FILE};
pub use generate::{default_geojson, generate_default, GenerateSummary, GeneratedFiles};
pub use geography::{
    Area, Geography, Level, Place, DEFAULT_H3_RESOLUTION, DISTRICTS_FILE, GRIDS_FILE, STREETS_FILE,
    UNLOCATED_METRIC,
};
pub use resolve::Resolved;
