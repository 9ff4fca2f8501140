//! The governance catalogue (filled in by the catalogue work).
