//! supervise, svc, svstat, svok and svps: supervision of one service; spipe and
//! multipipe: supervised pipelines; svalert: supervise's alert hook; svstatd and rsvc: its
//! status from another host.

pub mod multipipe;
pub mod pipeline;
pub mod report;
pub mod rsvc;
pub mod runfs;
pub mod spipe;
pub mod statedir;
pub mod status;
pub mod supervisor;
pub mod svalert;
pub mod svc;
pub mod svok;
pub mod svps;
pub mod svstat;
pub mod svstatd;
