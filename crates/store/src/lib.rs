//! cityops-store
