//! The sink service. Thin for now: its issue builds it.
