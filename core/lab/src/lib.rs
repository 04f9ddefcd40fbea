//! Network-namespace labs (work in progress).
