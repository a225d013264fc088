//! supervise, svc, svstat, svok and svps: supervision of one service; svstatd and rsvc:
//! its status from another host.

pub mod report;
pub mod rsvc;
pub mod runfs;
pub mod status;
pub mod supervisor;
pub mod svc;
pub mod svok;
pub mod svps;
pub mod svstat;
pub mod svstatd;
