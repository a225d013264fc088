//! supervise's state machine: what supervise is doing, as an explicit [`Phase`] and the few
//! flags that outlive a phase, and [`State::step`], a pure function from a state and an
//! [`Event`] to the next state and the [`Action`]s that carry it out. The loop in
//! `supervisor.rs` only turns the world into events and actions into system calls, so every
//! decision supervise makes is here, where it can be tested without a process.
//!
//! Some actions are answered at once by an event (starting `run` answers with its pid);
//! such an action is always the last of its list.

pub use crate::info::Info;
use crate::status::{Layout, Status, Want};
use indicore::sys::signal::Signal;
use indicore::tai::Label;
use std::time::{Duration, Instant};

/// Minimum time between two starts of `run`.
pub const THROTTLE: Duration = Duration::from_secs(1);
/// How long supervise waits after a failed `init` or fork.
pub const RETRY: Duration = Duration::from_secs(60);

/// Why `run` is started: its second argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    Auto,
    Manual,
    Restart,
    Once,
    Abnormal,
    SystemFailure,
}

impl How {
    pub fn as_str(self) -> &'static str {
        self.as_c_str().to_str().unwrap_or_default()
    }

    /// As a C string, for run's argv without building one per start.
    pub fn as_c_str(self) -> &'static std::ffi::CStr {
        match self {
            How::Auto => c"auto startup",
            How::Manual => c"manual startup",
            How::Restart => c"manual restart",
            How::Once => c"one-time startup",
            How::Abnormal => c"abnormal startup",
            How::SystemFailure => c"system failure",
        }
    }
}

/// Whether a running service has said it is ready (s6's `notification-fd` convention).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// The service has no `notification-fd`: up is all there is to know.
    Untracked,
    /// Up, its line not written yet.
    Pending,
    /// It wrote its line.
    Ready,
}

/// The service's process while it runs, and what was asked of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub pid: i32,
    /// The first process exited leaving descendants (a sticky `run`, supervise a subreaper):
    /// the service lasts until the last of them is gone.
    pub orphans: bool,
    pub paused: bool,
    /// `svc -r`: start again once it is gone.
    pub restart: bool,
    pub ready: Readiness,
}

/// What supervise is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Running `init`; after a failure, `retry` says when to run it again.
    Init {
        retry: Option<Instant>,
    },
    /// No service process, and no start coming.
    Down,
    /// A start waits for the one-second throttle.
    Throttled {
        how: How,
        at: Instant,
    },
    /// A start is being made (the `wait` file looked up, or `run` spawned).
    Starting {
        how: How,
    },
    /// Waiting for the service the `wait` file names to be up.
    AwaitingDependency {
        how: How,
        began: Instant,
        delay: i16,
    },
    /// The dependency is up; the `wait` file's delay runs until `until`.
    Delaying {
        how: How,
        began: Instant,
        delay: i16,
        until: Instant,
    },
    /// A fork failed: wait before trying again.
    Backoff {
        until: Instant,
    },
    Up(Run),
}

impl Phase {
    /// Whether supervise reads `control` and reaps children in this phase. In the others it
    /// waits for one thing only (SIGTERM aside), as the reference blocks there.
    pub fn attentive(&self) -> bool {
        matches!(self, Phase::Down | Phase::Throttled { .. } | Phase::Up(_))
    }

    /// When a [`Event::Timer`] is due.
    pub fn deadline(&self) -> Option<Instant> {
        match *self {
            Phase::Init { retry } => retry,
            Phase::Throttled { at, .. } => Some(at),
            Phase::Delaying { until, .. } | Phase::Backoff { until } => Some(until),
            _ => None,
        }
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Exit(i32),
    Signal(i32),
    /// The last of a double-forked service's descendants vanished unseen.
    Unknown,
}

impl End {
    /// The alert script's third and fourth arguments.
    pub fn code_kind(self) -> (i32, &'static str) {
        match self {
            End::Exit(c) => (c, "exited"),
            End::Signal(s) => (s, "stopped/signalled"),
            End::Unknown => (-1, "unknown"),
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A byte read from `supervise/control`.
    Control(u8),
    /// A child, or a descendant supervise adopted, ended. `descendants`: as a subreaper,
    /// supervise still has children after it.
    Exited {
        pid: i32,
        end: End,
        descendants: bool,
    },
    Stopped {
        pid: i32,
        sig: i32,
    },
    Continued {
        pid: i32,
    },
    /// waitpid says supervise has no child at all.
    NoChildren,
    /// The phase's deadline has passed.
    Timer,
    /// `init` succeeded (or there is none), or failed.
    Init {
        ok: bool,
    },
    /// The `wait` file names a service that exists.
    Dependency {
        delay: i16,
    },
    /// That service is up.
    DependencyUp,
    /// `run` started; `notify`: with a readiness pipe on its `notification-fd`.
    Spawned {
        pid: i32,
        notify: bool,
    },
    ForkFailed {
        errno: i32,
    },
    /// The service wrote its readiness line.
    Ready,
    /// SIGTERM.
    Term,
}

/// A script in the service directory; each runs only if it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// `./shutdown dir pid`, waited for unless supervise is exiting.
    Shutdown { pid: i32, wait: bool },
    /// `./alert dir pid code kind`, waited for.
    Alert { pid: i32, end: End },
}

/// A diagnostic (warnings unless SILENT; infos only with VERBOSE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    Died { pid: i32, end: End },
    DoubleFork { pid: i32 },
    OrphanDied { pid: i32, ppid: i32 },
    Stopped { pid: i32, sig: i32 },
    Continued { pid: i32 },
    InitFailed,
    ForkFailed { errno: i32 },
    Started { pid: i32 },
    DependencyUp { secs: u64 },
}

/// What supervise does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    WriteStatus(Status),
    WriteInfo(Info),
    /// Run `init` and wait for it; answered by [`Event::Init`].
    RunInit,
    /// Look for a `wait` dependency, then start `run`; answered by [`Event::Dependency`],
    /// [`Event::Spawned`], [`Event::ForkFailed`] or [`Event::Term`].
    Start(How),
    /// Wait until the dependency is up; answered by [`Event::DependencyUp`] or
    /// [`Event::Term`].
    AwaitDependency,
    /// Start `run`; answered by [`Event::Spawned`], [`Event::ForkFailed`] or
    /// [`Event::Term`].
    Spawn(How),
    /// Send `sig` to `pid`, or to its process group (falling back to `pid` alone).
    Signal {
        pid: i32,
        sig: Signal,
        group: bool,
    },
    Script(Script),
    /// Hold `supervise/up` (UPFIFO) open for reading: `svc -w` and dependents proceed.
    OpenUp,
    CloseUp,
    /// Hold `supervise/dn` open for reading: `svc -W` proceeds.
    OpenDn,
    CloseDn,
    /// Stop reading the service's readiness pipe.
    CloseNotify,
    Note(Note),
    Exit,
}

impl Action {
    /// Whether the executor answers this action with an event.
    pub fn answered(&self) -> bool {
        matches!(
            self,
            Action::RunInit | Action::Start(_) | Action::AwaitDependency | Action::Spawn(_)
        )
    }
}

/// The actions of one step, without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actions {
    list: [Option<Action>; Actions::CAPACITY],
    len: usize,
}

impl Actions {
    pub const CAPACITY: usize = 10;

    fn new() -> Actions {
        Actions {
            list: [None; Actions::CAPACITY],
            len: 0,
        }
    }

    fn push(&mut self, a: Action) {
        self.list[self.len] = Some(a);
        self.len += 1;
    }

    pub fn iter(&self) -> impl Iterator<Item = Action> + '_ {
        self.list[..self.len].iter().flatten().copied()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The time of an event: the monotonic clock for deadlines, TAI64N for the status file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub mono: Instant,
    pub label: Label,
}

impl Now {
    pub fn read() -> Now {
        Now {
            mono: Instant::now(),
            label: Label::now(),
        }
    }
}

/// What does not change while supervise runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// supervise's own pid: the status file's pid while the service is down.
    pub pid: u32,
    /// What `svc -d` and SIGTERM send before SIGCONT (None: only SIGCONT).
    pub shutdown_signal: Option<Signal>,
}

/// supervise's whole state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub phase: Phase,
    pub want: Want,
    /// `svc -x` or SIGTERM: exit once the service is down.
    pub exit: bool,
    /// `svc -G`: the next signal goes to the service's process group.
    pub group_next: bool,
    /// The last change of state, as the status file shows it.
    pub when: Label,
    pub last_start: Option<Instant>,
    /// Starts of `run` since supervise began.
    pub starts: u32,
    pub settings: Settings,
}

impl State {
    /// The state before `init`: the status file already says down with `want`.
    pub fn new(settings: Settings, want: Want, when: Label) -> State {
        State {
            phase: Phase::Init { retry: None },
            want,
            exit: false,
            group_next: false,
            when,
            last_start: None,
            starts: 0,
            settings,
        }
    }

    /// The 21-byte status record of this state.
    pub fn status(&self) -> Status {
        let (pid, paused, up) = match self.phase {
            Phase::Up(run) => (run.pid as u32, run.paused, true),
            _ => (self.settings.pid, false, false),
        };
        let wait = match self.phase {
            Phase::AwaitingDependency { .. } => -2,
            Phase::Delaying { delay, .. } => delay,
            _ => 0,
        };
        Status {
            when: self.when,
            pid,
            paused,
            want: self.want,
            wait,
            up,
            layout: Layout::IndiMail,
        }
    }

    /// The readiness and restart record of this state.
    pub fn info(&self) -> Info {
        let (pid, ready) = match self.phase {
            Phase::Up(run) => (
                run.pid as u32,
                match run.ready {
                    Readiness::Untracked => None,
                    Readiness::Pending => Some(false),
                    Readiness::Ready => Some(true),
                },
            ),
            _ => (self.settings.pid, None),
        };
        Info {
            pid,
            ready,
            restarts: self.starts.saturating_sub(1),
        }
    }

    /// The transition function.
    pub fn step(self, event: Event, now: Now) -> (State, Actions) {
        let mut s = self;
        let mut out = Actions::new();
        match event {
            Event::Control(byte) if s.phase.attentive() => s.control(byte, now, &mut out),
            Event::Control(_) => {}
            Event::Exited {
                pid,
                end,
                descendants,
            } => s.exited(pid, end, descendants, now, &mut out),
            Event::Stopped { pid, sig } => out.push(Action::Note(Note::Stopped { pid, sig })),
            Event::Continued { pid } => out.push(Action::Note(Note::Continued { pid })),
            Event::NoChildren => {
                if let Phase::Up(run) = s.phase {
                    if run.orphans {
                        s.died(run, End::Unknown, now, &mut out);
                    }
                }
            }
            Event::Timer => s.timer(now, &mut out),
            Event::Init { ok } => s.init_done(ok, now, &mut out),
            Event::Dependency { delay } => {
                if let Phase::Starting { how } = s.phase {
                    s.phase = Phase::AwaitingDependency {
                        how,
                        began: now.mono,
                        delay,
                    };
                    s.when = now.label;
                    out.push(Action::WriteStatus(s.status()));
                    out.push(Action::AwaitDependency);
                }
            }
            Event::DependencyUp => {
                if let Phase::AwaitingDependency { how, began, delay } = s.phase {
                    let until = now.mono + Duration::from_secs(delay.max(0) as u64);
                    s.phase = Phase::Delaying {
                        how,
                        began,
                        delay,
                        until,
                    };
                    s.when = now.label;
                    out.push(Action::WriteStatus(s.status()));
                }
            }
            Event::Spawned { pid, notify } => {
                if let Phase::Starting { .. } = s.phase {
                    s.started(pid, notify, now, &mut out);
                }
            }
            Event::ForkFailed { errno } => {
                if let Phase::Starting { .. } = s.phase {
                    out.push(Action::Note(Note::ForkFailed { errno }));
                    s.phase = Phase::Backoff {
                        until: now.mono + RETRY,
                    };
                }
            }
            Event::Ready => {
                if let Phase::Up(mut run) = s.phase {
                    if run.ready == Readiness::Pending {
                        run.ready = Readiness::Ready;
                        s.phase = Phase::Up(run);
                        out.push(Action::CloseNotify);
                        out.push(Action::OpenUp);
                        out.push(Action::WriteInfo(s.info()));
                    }
                }
            }
            Event::Term => s.term(now, &mut out),
        }
        (s, out)
    }

    /// Start now, or as soon as the throttle allows.
    fn start(&mut self, how: How, now: Now, out: &mut Actions) {
        match self.last_start {
            Some(t) if now.mono < t + THROTTLE => {
                self.phase = Phase::Throttled {
                    how,
                    at: t + THROTTLE,
                }
            }
            _ => self.start_now(how, out),
        }
    }

    fn start_now(&mut self, how: How, out: &mut Actions) {
        self.phase = Phase::Starting { how };
        out.push(Action::Start(how));
    }

    fn started(&mut self, pid: i32, notify: bool, now: Now, out: &mut Actions) {
        let ready = if notify {
            Readiness::Pending
        } else {
            Readiness::Untracked
        };
        self.phase = Phase::Up(Run {
            pid,
            orphans: false,
            paused: false,
            restart: false,
            ready,
        });
        self.when = now.label;
        self.last_start = Some(now.mono);
        self.starts = self.starts.saturating_add(1);
        out.push(Action::WriteStatus(self.status()));
        out.push(Action::WriteInfo(self.info()));
        // With readiness, `up` opens when the service says so.
        if !notify {
            out.push(Action::OpenUp);
        }
        out.push(Action::CloseDn);
        out.push(Action::Note(Note::Started { pid }));
    }

    fn init_done(&mut self, ok: bool, now: Now, out: &mut Actions) {
        if !matches!(self.phase, Phase::Init { retry: None }) {
            return;
        }
        if !ok {
            out.push(Action::Note(Note::InitFailed));
            self.phase = Phase::Init {
                retry: Some(now.mono + RETRY),
            };
        } else if self.want == Want::Up {
            self.start(How::Auto, now, out);
        } else {
            self.phase = Phase::Down;
        }
    }

    fn timer(&mut self, now: Now, out: &mut Actions) {
        match self.phase.deadline() {
            Some(due) if now.mono >= due => {}
            _ => return,
        }
        match self.phase {
            Phase::Init { .. } => {
                self.phase = Phase::Init { retry: None };
                out.push(Action::RunInit);
            }
            Phase::Throttled { how, .. } => self.start_now(how, out),
            Phase::Delaying { how, began, .. } => {
                self.delay_over(how, began, now, out);
                out.push(Action::Spawn(how));
            }
            Phase::Backoff { .. } => {
                self.phase = Phase::Throttled {
                    how: How::SystemFailure,
                    at: now.mono,
                }
            }
            _ => {}
        }
    }

    /// The dependency's delay is over (or cut short): the status says so.
    fn delay_over(&mut self, how: How, began: Instant, now: Now, out: &mut Actions) {
        self.phase = Phase::Starting { how };
        out.push(Action::WriteStatus(self.status()));
        let secs = now.mono.saturating_duration_since(began).as_secs();
        if secs > 0 {
            out.push(Action::Note(Note::DependencyUp { secs }));
        }
    }

    fn control(&mut self, byte: u8, now: Now, out: &mut Actions) {
        let status = |s: &State, out: &mut Actions| out.push(Action::WriteStatus(s.status()));
        match byte {
            b'u' => {
                self.want = Want::Up;
                status(self, out);
                if self.phase == Phase::Down {
                    self.start(How::Manual, now, out);
                }
            }
            b'd' => {
                self.want = Want::Down;
                match self.phase {
                    Phase::Throttled { .. } => self.phase = Phase::Down,
                    Phase::Up(mut run) => {
                        run.restart = false;
                        self.stop(run, out);
                    }
                    _ => {}
                }
                out.push(Action::OpenDn);
                status(self, out);
            }
            b'r' => {
                self.want = Want::Up;
                match self.phase {
                    Phase::Up(mut run) => {
                        run.restart = true;
                        self.stop(run, out);
                        status(self, out);
                    }
                    Phase::Down => {
                        status(self, out);
                        self.start(How::Restart, now, out);
                    }
                    // A start is already coming.
                    _ => status(self, out),
                }
            }
            b'o' => {
                self.want = Want::Once;
                status(self, out);
                if self.phase == Phase::Down {
                    self.start(How::Once, now, out);
                }
            }
            b'p' | b'c' => {
                if let Phase::Up(mut run) = self.phase {
                    run.paused = byte == b'p';
                    self.phase = Phase::Up(run);
                }
                status(self, out);
                let sig = if byte == b'p' {
                    Signal::STOP
                } else {
                    Signal::CONT
                };
                self.signal(sig, out);
            }
            b'G' => self.group_next = true,
            b'x' => {
                self.exit = true;
                if let Phase::Throttled { .. } = self.phase {
                    self.phase = Phase::Down;
                }
                status(self, out);
                if !matches!(self.phase, Phase::Up(_)) {
                    out.push(Action::Exit);
                }
            }
            _ => {
                if let Some(sig) = signal_of(byte) {
                    self.signal(sig, out);
                }
            }
        }
    }

    /// `svc -d` or `-r` on a running service: the shutdown script (waited for), then the
    /// shutdown signal and SIGCONT. `run` carries the updated restart request.
    fn stop(&mut self, run: Run, out: &mut Actions) {
        self.phase = Phase::Up(Run {
            paused: false,
            ..run
        });
        out.push(Action::Script(Script::Shutdown {
            pid: run.pid,
            wait: true,
        }));
        if let Some(sig) = self.settings.shutdown_signal {
            self.signal(sig, out);
        }
        self.signal(Signal::CONT, out);
    }

    /// Send `sig` to the service: to its process group after `G` (which it uses up) or
    /// while following a double fork. Nothing, and `G` kept, when nothing runs.
    fn signal(&mut self, sig: Signal, out: &mut Actions) {
        let Phase::Up(run) = self.phase else { return };
        let group = self.group_next || run.orphans;
        if group {
            self.group_next = false;
        }
        out.push(Action::Signal {
            pid: run.pid,
            sig,
            group,
        });
    }

    fn exited(&mut self, pid: i32, end: End, descendants: bool, now: Now, out: &mut Actions) {
        let Phase::Up(mut run) = self.phase else {
            return;
        };
        if pid == run.pid && !run.orphans {
            out.push(Action::Note(Note::Died { pid, end }));
            if descendants {
                out.push(Action::Note(Note::DoubleFork { pid }));
                run.orphans = true;
                self.phase = Phase::Up(run);
                return;
            }
            self.died(run, end, now, out);
        } else if run.orphans {
            out.push(Action::Note(Note::OrphanDied { pid, ppid: run.pid }));
            if !descendants {
                self.died(run, end, now, out);
            }
        }
    }

    /// The service is gone: publish it, then start again as `want` says.
    fn died(&mut self, run: Run, end: End, now: Now, out: &mut Actions) {
        self.phase = Phase::Down;
        self.when = now.label;
        out.push(Action::CloseUp);
        out.push(Action::CloseNotify);
        out.push(Action::WriteStatus(self.status()));
        out.push(Action::WriteInfo(self.info()));
        if self.exit {
            out.push(Action::Exit);
        } else if self.want == Want::Up {
            if !run.restart {
                out.push(Action::Script(Script::Alert { pid: run.pid, end }));
            }
            let how = if run.restart {
                How::Restart
            } else {
                How::Abnormal
            };
            self.start(how, now, out);
        }
    }

    /// SIGTERM: the shutdown script without waiting, the signals to the whole group, exit.
    fn term(&mut self, now: Now, out: &mut Actions) {
        match self.phase {
            Phase::Up(run) => {
                out.push(Action::Script(Script::Shutdown {
                    pid: run.pid,
                    wait: false,
                }));
                self.want = Want::Down;
                self.exit = true;
                for sig in [self.settings.shutdown_signal, Some(Signal::CONT)]
                    .into_iter()
                    .flatten()
                {
                    out.push(Action::Signal {
                        pid: run.pid,
                        sig,
                        group: true,
                    });
                }
                out.push(Action::WriteStatus(self.status()));
            }
            Phase::Delaying { how, began, .. } => self.delay_over(how, began, now, out),
            _ => {}
        }
        self.exit = true;
        out.push(Action::Exit);
    }
}

/// The signal a control byte sends, for the bytes that only send one.
fn signal_of(byte: u8) -> Option<Signal> {
    Some(match byte {
        b'h' => Signal::HUP,
        b'a' => Signal::ALARM,
        b'i' => Signal::INT,
        b't' => Signal::TERM,
        b'q' => Signal::QUIT,
        b'k' => Signal::KILL,
        b'1' | b'U' => Signal::USR1,
        b'2' => Signal::USR2,
        _ => return None,
    })
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
