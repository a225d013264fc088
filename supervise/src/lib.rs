//! supervise, svc, svstat, svok and svps: supervision of one service.

pub mod runfs;
pub mod statedir;
pub mod status;
pub mod supervisor;
pub mod svc;
pub mod svok;
pub mod svps;
pub mod svstat;
