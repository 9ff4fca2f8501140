//! The domain of cityops: what the city senses and says ([`CityEvent`]), what it means
//! ([`Incident`]), who must act on it ([`WorkOrder`] and its [`WorkOrderEvent`] history), what
//! departments answer ([`DepartmentUpdate`]), plus the governance [`catalogue`] and the
//! government [`calendar`] that deadlines are counted on.
//!
//! Everything here is pure data and logic: no I/O beyond reading the configuration files that
//! a caller names.

pub mod calendar;
pub mod catalogue;
pub mod ids;
pub mod model;
pub mod personal;
pub mod routing;
pub mod settings;

pub use ids::{CategoryId, DepartmentId, ScenarioId};
pub use model::*;
