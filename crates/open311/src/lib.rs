//! Open311 GeoReport v2 (<http://wiki.open311.org/GeoReport_v2>) for cityops, as a pure
//! library: the catalogue's actionable categories as services ([`services`]), a filed request
//! parsed and checked ([`request`]), a work order's state as a request's status ([`status`]),
//! and every answer in both formats ([`render`]). The ingest service serves it under
//! `/open311/v2/` (docs/open311.md).

pub mod config;
pub mod render;
pub mod request;
pub mod services;
pub mod status;

pub use config::{Open311Config, ServicesFile};
pub use render::{errors, Format};
pub use request::{parse_filed, FiledRequest, RequestError};
pub use services::Services;
pub use status::{request_view, RequestFacts};
