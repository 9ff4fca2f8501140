//! The ingest service. Thin for now: its issue builds it.
