//! Identifiers of the catalogue. They are data (a city edits its catalogue), so they are
//! strings checked against the loaded catalogue, not Rust enums.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! catalogue_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

catalogue_id!(
    /// A governance scenario (治理场景), e.g. `parking`, `emergency`.
    ScenarioId
);
catalogue_id!(
    /// A category inside a scenario, e.g. `gas_leak`. Unique across the catalogue.
    CategoryId
);
catalogue_id!(
    /// A department (委办局 or street office) that owns work orders, e.g. `fire_rescue`.
    DepartmentId
);
