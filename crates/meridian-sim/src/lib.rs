//! Simulator (under construction).
