//! The government calendar (filled in by the calendar work).
