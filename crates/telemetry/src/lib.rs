//! cityops-telemetry
