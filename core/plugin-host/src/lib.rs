//! Vigil plugin host (being written).
