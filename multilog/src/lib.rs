//! multilog and the tai64n tools, and the log tools around them: logselect and
//! qlogselect (select from logs), teepipe (copy a log stream to a second consumer).
//!
//! One module per program (`run(args)` does the work and returns the exit code or the
//! failure that `main` turns into the reference's message), plus the pieces they share:
//!
//! * [`pattern`]: djb's `match`, the multilog pattern language;
//! * [`script`]: a multilog command line, parsed into actions and log settings;
//! * [`lines`]: the per-line engine (1000-byte line head, selection, `e`, `=`, dirs);
//! * [`logdir`]: one automatically rotated log directory and its crash-safe protocol;
//! * [`stamp`]: TAI64N text labels and their conversions; [`relabel`]: the filters that
//!   rewrite a line's leading label (tai64nlocal, tai64nunix, tai64n2tai);
//! * [`io`], [`signals`]: buffered descriptors and signal flags, on `indicore::sys`.

pub mod io;
pub mod lines;
pub mod logdir;
pub mod logselect;
pub mod multilog;
pub mod pattern;
pub mod qfilelog;
pub mod qlogselect;
pub mod relabel;
pub mod script;
pub mod signals;
pub mod stamp;
pub mod tai2tai64n;
pub mod tai64n;
pub mod tai64n2tai;
pub mod tai64nlocal;
pub mod teepipe;
