//! Vigil configuration (work in progress).
