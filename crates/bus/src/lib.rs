//! cityops-bus
