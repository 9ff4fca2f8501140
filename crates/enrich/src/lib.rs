//! The enrich service. Thin for now: its issue builds it.
