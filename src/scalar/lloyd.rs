//! (filled in by the scalar issue)
