//! The dispatch service. Thin for now: its issue builds it.
