//! Every implementation a run compares ours with, from the command line: Debian's
//! daemontools, ucspi-tcp, s6 and runit (all under `--theirs`, default /usr/bin) and, when
//! `--indimail PREFIX` is given, IndiMail's own C build.

use crate::cli::Options;
use crate::side::{Flavor, Side};

pub struct Peers {
    pub ours: Side,
    pub daemontools: Side,
    pub ucspi: Side,
    pub indimail: Option<Side>,
    pub s6: Side,
    pub runit: Side,
}

impl Peers {
    pub fn new(opts: &Options) -> Peers {
        Peers {
            ours: Side::ours(&opts.ours),
            daemontools: Side::debian("daemontools", &opts.theirs),
            ucspi: Side::debian("ucspi-tcp", &opts.theirs),
            indimail: opts.indimail.as_deref().map(Side::indimail),
            s6: Side::family("s6", &opts.theirs, Flavor::S6),
            runit: Side::family("runit", &opts.theirs, Flavor::Runit),
        }
    }

    /// Ours, then the daemontools-style peers: djb's and IndiMail's.
    pub fn daemontools(&self) -> Vec<&Side> {
        let mut v = vec![&self.ours, &self.daemontools];
        v.extend(&self.indimail);
        v
    }

    /// Ours, then the ucspi-tcp peers: djb's and IndiMail's.
    pub fn ucspi(&self) -> Vec<&Side> {
        let mut v = vec![&self.ours, &self.ucspi];
        v.extend(&self.indimail);
        v
    }

    /// Ours, then every supervision suite: djb's, IndiMail's, s6 and runit.
    pub fn supervisors(&self) -> Vec<&Side> {
        let mut v = self.daemontools();
        v.push(&self.s6);
        v.push(&self.runit);
        v
    }
}
