//! multilog and the tai64n tools.
