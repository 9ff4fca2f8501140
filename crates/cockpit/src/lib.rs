//! The cockpit service. Thin for now: its issue builds it.
