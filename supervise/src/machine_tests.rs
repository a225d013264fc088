//! The transition table, tested exhaustively: every event (each of the 256 control bytes,
//! every kind of child exit, every answer to an action) in every state (every phase, with
//! every combination of the flags that outlive a phase). The generators name each variant
//! in a match without a wildcard, so a new phase or event does not compile until it is
//! generated here too.

use super::*;
use std::collections::BTreeSet;

const SUPERVISE_PID: u32 = 4242;
const RUN_PID: i32 = 777;
const OTHER_PID: i32 = 999;

struct Clock {
    base: Instant,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            base: Instant::now(),
        }
    }

    fn at(&self, secs_tenths: u64) -> Instant {
        self.base + Duration::from_millis(secs_tenths * 100)
    }

    /// The time of every event: t = 10 s.
    fn now(&self) -> Now {
        Now {
            mono: self.at(100),
            label: label(100),
        }
    }

    /// A deadline already passed at `now`, and one still ahead.
    fn past(&self) -> Instant {
        self.at(50)
    }

    fn future(&self) -> Instant {
        self.at(200)
    }
}

fn label(tenths: u64) -> Label {
    Label {
        secs: indicore::tai::UNIX_EPOCH_TAI + 1_700_000_000 + tenths / 10,
        nanos: 0,
    }
}

fn phase_kind(p: &Phase) -> &'static str {
    match p {
        Phase::Init { .. } => "init",
        Phase::Down => "down",
        Phase::Throttled { .. } => "throttled",
        Phase::Starting { .. } => "starting",
        Phase::AwaitingDependency { .. } => "awaiting",
        Phase::Delaying { .. } => "delaying",
        Phase::Backoff { .. } => "backoff",
        Phase::Up(_) => "up",
    }
}
const PHASE_KINDS: usize = 8;

fn event_kind(e: &Event) -> &'static str {
    match e {
        Event::Control(_) => "control",
        Event::Exited { .. } => "exited",
        Event::Stopped { .. } => "stopped",
        Event::Continued { .. } => "continued",
        Event::NoChildren => "nochildren",
        Event::Timer => "timer",
        Event::Init { .. } => "init",
        Event::Dependency { .. } => "dependency",
        Event::DependencyUp => "dependencyup",
        Event::Spawned { .. } => "spawned",
        Event::ForkFailed { .. } => "forkfailed",
        Event::Ready => "ready",
        Event::Term => "term",
    }
}
const EVENT_KINDS: usize = 13;

fn runs() -> Vec<Run> {
    let mut v = Vec::new();
    for orphans in [false, true] {
        for paused in [false, true] {
            for restart in [false, true] {
                for ready in [Readiness::Untracked, Readiness::Pending, Readiness::Ready] {
                    v.push(Run {
                        pid: RUN_PID,
                        orphans,
                        paused,
                        restart,
                        ready,
                    });
                }
            }
        }
    }
    v
}

fn phases(c: &Clock) -> Vec<Phase> {
    let mut v = vec![
        Phase::Init { retry: None },
        Phase::Init {
            retry: Some(c.past()),
        },
        Phase::Init {
            retry: Some(c.future()),
        },
        Phase::Down,
        Phase::Backoff { until: c.past() },
        Phase::Backoff { until: c.future() },
    ];
    for how in [How::Manual, How::Abnormal] {
        v.push(Phase::Throttled { how, at: c.past() });
        v.push(Phase::Throttled {
            how,
            at: c.future(),
        });
        v.push(Phase::Starting { how });
        v.push(Phase::AwaitingDependency {
            how,
            began: c.at(20),
            delay: 3,
        });
        for until in [c.past(), c.future()] {
            for began in [c.at(20), c.at(100)] {
                v.push(Phase::Delaying {
                    how,
                    began,
                    delay: 3,
                    until,
                });
            }
        }
    }
    v.extend(runs().into_iter().map(Phase::Up));
    v
}

fn states(c: &Clock) -> Vec<State> {
    let mut v = Vec::new();
    for phase in phases(c) {
        for want in [Want::Up, Want::Down, Want::Once] {
            for exit in [false, true] {
                for group_next in [false, true] {
                    // Never started, started long ago, started within the throttle.
                    for last_start in [None, Some(c.at(10)), Some(c.at(95))] {
                        for shutdown_signal in [Some(Signal::TERM), None] {
                            v.push(State {
                                phase,
                                want,
                                exit,
                                group_next,
                                when: label(0),
                                last_start,
                                starts: if last_start.is_some() { 3 } else { 0 },
                                settings: Settings {
                                    pid: SUPERVISE_PID,
                                    shutdown_signal,
                                },
                            });
                        }
                    }
                }
            }
        }
    }
    v
}

fn ends() -> [End; 4] {
    [End::Exit(0), End::Exit(111), End::Signal(9), End::Unknown]
}

fn events() -> Vec<Event> {
    let mut v: Vec<Event> = (0..=255u8).map(Event::Control).collect();
    for pid in [RUN_PID, OTHER_PID] {
        for end in ends() {
            for descendants in [false, true] {
                v.push(Event::Exited {
                    pid,
                    end,
                    descendants,
                });
            }
        }
        v.push(Event::Stopped { pid, sig: 19 });
        v.push(Event::Continued { pid });
    }
    v.extend([
        Event::NoChildren,
        Event::Timer,
        Event::Init { ok: true },
        Event::Init { ok: false },
        Event::Dependency { delay: 0 },
        Event::Dependency { delay: 5 },
        Event::DependencyUp,
        Event::Spawned {
            pid: OTHER_PID,
            notify: false,
        },
        Event::Spawned {
            pid: OTHER_PID,
            notify: true,
        },
        Event::ForkFailed { errno: 11 },
        Event::Ready,
        Event::Term,
    ]);
    v
}

fn acts(a: &Actions) -> Vec<Action> {
    a.iter().collect()
}

fn run_of(s: &State) -> Option<Run> {
    match s.phase {
        Phase::Up(r) => Some(r),
        _ => None,
    }
}

/// The pair under test, formatted only when an assertion fails.
struct Ctx<'a> {
    old: &'a State,
    event: Event,
    new: &'a State,
    out: &'a [Action],
}

impl std::fmt::Display for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?}\n  + {:?}\n  = {:?}\n  -> {:?}",
            self.old, self.event, self.new, self.out
        )
    }
}

/// Every pair of the table, with the checks that hold for all of them and the ones of the
/// event's kind.
#[test]
fn every_event_in_every_state() {
    let c = Clock::new();
    let states = states(&c);
    let events = events();
    let kinds: BTreeSet<_> = states.iter().map(|s| phase_kind(&s.phase)).collect();
    assert_eq!(kinds.len(), PHASE_KINDS, "a phase is not generated");
    let kinds: BTreeSet<_> = events.iter().map(event_kind).collect();
    assert_eq!(kinds.len(), EVENT_KINDS, "an event is not generated");
    let mut pairs = 0;
    for old in &states {
        for &event in &events {
            let (new, out) = old.step(event, c.now());
            let out = acts(&out);
            let ctx = &Ctx {
                old,
                event,
                new: &new,
                out: &out,
            };
            invariants(&c, old, &new, &out, ctx);
            match event {
                Event::Control(b) => control(&c, old, b, &new, &out, ctx),
                Event::Exited {
                    pid,
                    end,
                    descendants,
                } => exited(&c, old, (pid, end, descendants), &new, &out, ctx),
                Event::Stopped { .. } | Event::Continued { .. } => {
                    assert_eq!(&new, old, "{ctx}");
                    assert!(matches!(out[..], [Action::Note(_)]), "{ctx}");
                }
                Event::NoChildren => no_children(&c, old, &new, &out, ctx),
                Event::Timer => timer(&c, old, &new, &out, ctx),
                Event::Term => term(old, &new, &out, ctx),
                _ => answer(&c, old, event, &new, &out, ctx),
            }
            pairs += 1;
        }
    }
    assert!(pairs > 100_000, "{pairs}");
}

/// What holds after any step.
fn invariants(c: &Clock, old: &State, new: &State, out: &[Action], ctx: &Ctx) {
    assert_eq!(new.settings, old.settings, "{ctx}");
    // Actions answered by an event, and Exit, come last; at most one of them.
    let last_only = out
        .iter()
        .filter(|a| a.answered() || **a == Action::Exit)
        .count();
    assert!(last_only <= 1, "{ctx}");
    if let Some(i) = out.iter().position(|a| a.answered() || *a == Action::Exit) {
        assert_eq!(i, out.len() - 1, "{ctx}");
    }
    // The published records are never stale after a step.
    if old.status() != new.status() {
        let last = out.iter().rev().find_map(|a| match a {
            Action::WriteStatus(s) => Some(*s),
            _ => None,
        });
        assert_eq!(last, Some(new.status()), "status not published: {ctx}");
    }
    if old.info() != new.info() {
        let last = out.iter().rev().find_map(|a| match a {
            Action::WriteInfo(i) => Some(*i),
            _ => None,
        });
        assert_eq!(last, Some(new.info()), "info not published: {ctx}");
    }
    // The status says up exactly when a service runs.
    assert_eq!(new.status().up, run_of(new).is_some(), "{ctx}");
    // Each answered action leaves the phase that waits for its answer.
    match out.last() {
        Some(Action::Start(how) | Action::Spawn(how)) => {
            assert_eq!(new.phase, Phase::Starting { how: *how }, "{ctx}")
        }
        Some(Action::AwaitDependency) => {
            assert!(
                matches!(new.phase, Phase::AwaitingDependency { .. }),
                "{ctx}"
            )
        }
        Some(Action::RunInit) => assert_eq!(new.phase, Phase::Init { retry: None }, "{ctx}"),
        Some(Action::Exit) => assert!(new.exit, "{ctx}"),
        _ => {}
    }
    // A start is made only once the throttle allows it.
    if let (Phase::Starting { .. }, false) =
        (new.phase, matches!(old.phase, Phase::Starting { .. }))
    {
        if let Some(t) = new.last_start {
            assert!(
                c.now().mono >= t + THROTTLE
                    || matches!(old.phase, Phase::Throttled { .. } | Phase::Delaying { .. }),
                "{ctx}"
            );
        }
    }
    // Signals go to the running service only.
    for a in out {
        if let Action::Signal { pid, .. } = a {
            assert_eq!(Some(*pid), run_of(old).map(|r| r.pid), "{ctx}");
        }
    }
}

/// What a start from `old` (down, want up or once) must look like.
fn expect_start(c: &Clock, old: &State, how: How, new: &State, out: &[Action], ctx: &Ctx) {
    match old.last_start {
        Some(t) if c.now().mono < t + THROTTLE => {
            assert_eq!(
                new.phase,
                Phase::Throttled {
                    how,
                    at: t + THROTTLE
                },
                "{ctx}"
            );
            assert!(!out.iter().any(Action::answered), "{ctx}");
        }
        _ => {
            assert_eq!(new.phase, Phase::Starting { how }, "{ctx}");
            assert_eq!(out.last(), Some(&Action::Start(how)), "{ctx}");
        }
    }
}

/// The signals `svc -d` and `-r` send to a running service.
fn stop_signals(old: &State, run: Run) -> Vec<Action> {
    let mut group = old.group_next || run.orphans;
    let mut v = vec![Action::Script(Script::Shutdown {
        pid: run.pid,
        wait: true,
    })];
    for sig in [old.settings.shutdown_signal, Some(Signal::CONT)]
        .into_iter()
        .flatten()
    {
        v.push(Action::Signal {
            pid: run.pid,
            sig,
            group,
        });
        group = run.orphans;
    }
    v
}

fn control(c: &Clock, old: &State, b: u8, new: &State, out: &[Action], ctx: &Ctx) {
    if !old.phase.attentive() {
        assert_eq!(
            new,
            old,
            "control read while {}: {ctx}",
            phase_kind(&old.phase)
        );
        assert!(out.is_empty(), "{ctx}");
        return;
    }
    // No control byte moves the clock fields.
    assert_eq!(
        (new.when, new.last_start, new.starts),
        (old.when, old.last_start, old.starts),
        "{ctx}"
    );
    match b {
        b'u' | b'o' => control_up_or_once(c, old, b, new, out, ctx),
        b'd' | b'r' => control_down_or_restart(c, old, b, new, out, ctx),
        b'p' | b'c' => control_pause(old, b, new, out, ctx),
        b'G' => {
            let grouped = State {
                group_next: true,
                ..*old
            };
            assert_eq!(*new, grouped, "{ctx}");
            assert!(out.is_empty(), "{ctx}");
        }
        b'x' => {
            assert!(new.exit, "{ctx}");
            assert_eq!(
                out.first(),
                Some(&Action::WriteStatus(new.status())),
                "{ctx}"
            );
            if run_of(old).is_some() {
                assert_eq!(new.phase, old.phase, "{ctx}");
                assert_eq!(out.len(), 1, "exit waits for the service: {ctx}");
            } else {
                assert_eq!(new.phase, Phase::Down, "{ctx}");
                assert_eq!(out.last(), Some(&Action::Exit), "{ctx}");
            }
        }
        _ => control_signal(old, b, new, out, ctx),
    }
}

/// `u` and `o`: want up or once, published; a start only from down.
fn control_up_or_once(c: &Clock, old: &State, b: u8, new: &State, out: &[Action], ctx: &Ctx) {
    let (want, how) = if b == b'u' {
        (Want::Up, How::Manual)
    } else {
        (Want::Once, How::Once)
    };
    assert_eq!(new.want, want, "{ctx}");
    let published = Action::WriteStatus(old_with_want(old, want).status());
    assert_eq!(out.first(), Some(&published), "{ctx}");
    if old.phase == Phase::Down {
        expect_start(c, old, how, new, out, ctx);
    } else {
        assert_eq!(new.phase, old.phase, "{ctx}");
        assert_eq!(out.len(), 1, "{ctx}");
    }
}

/// `d` and `r`: a running service gets the shutdown script and signals; `d` opens `dn`,
/// `r` asks for a start once it is gone, or starts at once from down.
fn control_down_or_restart(c: &Clock, old: &State, b: u8, new: &State, out: &[Action], ctx: &Ctx) {
    let restart = b == b'r';
    let ws = Action::WriteStatus(new.status());
    assert_eq!(
        new.want,
        if restart { Want::Up } else { Want::Down },
        "{ctx}"
    );
    match old.phase {
        Phase::Up(r) => {
            let stopping = Run {
                restart,
                paused: false,
                ..r
            };
            assert_eq!(new.phase, Phase::Up(stopping), "{ctx}");
            let mut expect = stop_signals(old, r);
            if !restart {
                expect.push(Action::OpenDn);
            }
            expect.push(ws);
            assert_eq!(out, expect, "{ctx}");
        }
        _ if !restart => {
            assert_eq!(new.phase, Phase::Down, "{ctx}");
            assert_eq!(out, [Action::OpenDn, ws], "{ctx}");
        }
        Phase::Down => {
            let published = Action::WriteStatus(old_with_want(old, Want::Up).status());
            assert_eq!(out.first(), Some(&published), "{ctx}");
            expect_start(c, old, How::Restart, new, out, ctx);
        }
        // A start is already coming.
        _ => {
            assert_eq!(new.phase, old.phase, "{ctx}");
            assert_eq!(out, [ws], "{ctx}");
        }
    }
}

/// `p` and `c`: the paused flag of a running service, published, and STOP or CONT.
fn control_pause(old: &State, b: u8, new: &State, out: &[Action], ctx: &Ctx) {
    let paused = b == b'p';
    let sig = if paused { Signal::STOP } else { Signal::CONT };
    assert_eq!(
        out.first(),
        Some(&Action::WriteStatus(new.status())),
        "{ctx}"
    );
    match run_of(old) {
        Some(r) => {
            assert_eq!(new.phase, Phase::Up(Run { paused, ..r }), "{ctx}");
            let group = old.group_next || r.orphans;
            let signal = Action::Signal {
                pid: r.pid,
                sig,
                group,
            };
            assert_eq!(out[1..], [signal], "{ctx}");
        }
        None => assert_eq!(out.len(), 1, "{ctx}"),
    }
}

/// Every other byte: a signal letter signals a running service (to its group after `G`,
/// which it uses up); anything else does nothing.
fn control_signal(old: &State, b: u8, new: &State, out: &[Action], ctx: &Ctx) {
    match (expected_signal(b), run_of(old)) {
        (Some(sig), Some(r)) => {
            let group = old.group_next || r.orphans;
            let signal = Action::Signal {
                pid: r.pid,
                sig,
                group,
            };
            assert_eq!(out, [signal], "{ctx}");
            assert_eq!(new.group_next, old.group_next && !group, "{ctx}");
            assert_eq!(new.phase, old.phase, "{ctx}");
        }
        _ => {
            assert_eq!(new, old, "{ctx}");
            assert!(out.is_empty(), "{ctx}");
        }
    }
}

/// The reference's table of the control bytes that only send a signal (svc's letters).
fn expected_signal(b: u8) -> Option<Signal> {
    let table = [
        (b'h', Signal::HUP),
        (b'a', Signal::ALARM),
        (b'i', Signal::INT),
        (b't', Signal::TERM),
        (b'q', Signal::QUIT),
        (b'k', Signal::KILL),
        (b'1', Signal::USR1),
        (b'U', Signal::USR1),
        (b'2', Signal::USR2),
    ];
    table.iter().find(|(c, _)| *c == b).map(|(_, s)| *s)
}

fn old_with_want(old: &State, want: Want) -> State {
    State { want, ..*old }
}

/// The service is gone: what `died` must do from `old` with `run`.
fn expect_died(c: &Clock, old: &State, run: Run, end: End, new: &State, out: &[Action], ctx: &Ctx) {
    assert_eq!(new.when, c.now().label, "{ctx}");
    assert!(
        out.contains(&Action::CloseUp) && out.contains(&Action::CloseNotify),
        "{ctx}"
    );
    let alert = Action::Script(Script::Alert { pid: run.pid, end });
    if old.exit {
        assert_eq!(new.phase, Phase::Down, "{ctx}");
        assert_eq!(out.last(), Some(&Action::Exit), "{ctx}");
    } else if old.want != Want::Up {
        assert_eq!(new.phase, Phase::Down, "{ctx}");
        assert!(!out.contains(&alert), "{ctx}");
    } else if run.restart {
        assert!(!out.contains(&alert), "svc -r runs no alert: {ctx}");
        expect_start(c, old, How::Restart, new, out, ctx);
    } else {
        assert!(out.contains(&alert), "{ctx}");
        expect_start(c, old, How::Abnormal, new, out, ctx);
    }
}

fn exited(c: &Clock, old: &State, ev: (i32, End, bool), new: &State, out: &[Action], ctx: &Ctx) {
    let (pid, end, descendants) = ev;
    let Some(run) = run_of(old) else {
        assert_eq!(new, old, "{ctx}");
        assert!(out.is_empty(), "{ctx}");
        return;
    };
    if pid == run.pid && !run.orphans {
        assert_eq!(out[0], Action::Note(Note::Died { pid, end }), "{ctx}");
        if descendants {
            assert_eq!(
                new.phase,
                Phase::Up(Run {
                    orphans: true,
                    ..run
                }),
                "{ctx}"
            );
            assert_eq!(out[1..], [Action::Note(Note::DoubleFork { pid })], "{ctx}");
        } else {
            expect_died(c, old, run, end, new, out, ctx);
        }
    } else if run.orphans {
        assert_eq!(
            out[0],
            Action::Note(Note::OrphanDied { pid, ppid: run.pid }),
            "{ctx}"
        );
        if descendants {
            assert_eq!(new, old, "{ctx}");
            assert_eq!(out.len(), 1, "{ctx}");
        } else {
            expect_died(c, old, run, end, new, out, ctx);
        }
    } else {
        // Not the service: an adopted stray is reaped and forgotten.
        assert_eq!(new, old, "{ctx}");
        assert!(out.is_empty(), "{ctx}");
    }
}

fn no_children(c: &Clock, old: &State, new: &State, out: &[Action], ctx: &Ctx) {
    match run_of(old) {
        Some(run) if run.orphans => expect_died(c, old, run, End::Unknown, new, out, ctx),
        _ => {
            assert_eq!(new, old, "{ctx}");
            assert!(out.is_empty(), "{ctx}");
        }
    }
}

fn timer(c: &Clock, old: &State, new: &State, out: &[Action], ctx: &Ctx) {
    let due = old.phase.deadline().is_some_and(|d| d <= c.now().mono);
    if !due {
        assert_eq!(new, old, "{ctx}");
        assert!(out.is_empty(), "{ctx}");
        return;
    }
    match old.phase {
        Phase::Init { .. } => assert_eq!(out, [Action::RunInit], "{ctx}"),
        Phase::Throttled { how, .. } => assert_eq!(out, [Action::Start(how)], "{ctx}"),
        Phase::Delaying { how, began, .. } => {
            assert_eq!(new.status().wait, 0, "{ctx}");
            assert_eq!(
                out.first(),
                Some(&Action::WriteStatus(new.status())),
                "{ctx}"
            );
            let noted = out
                .iter()
                .any(|a| matches!(a, Action::Note(Note::DependencyUp { .. })));
            assert_eq!(
                noted,
                c.now().mono > began + Duration::from_secs(1),
                "{ctx}"
            );
            assert_eq!(out.last(), Some(&Action::Spawn(how)), "{ctx}");
        }
        Phase::Backoff { .. } => {
            assert_eq!(
                new.phase,
                Phase::Throttled {
                    how: How::SystemFailure,
                    at: c.now().mono
                },
                "{ctx}"
            );
            assert!(out.is_empty(), "{ctx}");
        }
        _ => unreachable!("{ctx}"),
    }
}

fn term(old: &State, new: &State, out: &[Action], ctx: &Ctx) {
    assert!(new.exit, "{ctx}");
    assert_eq!(out.last(), Some(&Action::Exit), "{ctx}");
    match old.phase {
        Phase::Up(run) => {
            assert_eq!(new.want, Want::Down, "{ctx}");
            let mut expect = vec![Action::Script(Script::Shutdown {
                pid: run.pid,
                wait: false,
            })];
            for sig in [old.settings.shutdown_signal, Some(Signal::CONT)]
                .into_iter()
                .flatten()
            {
                expect.push(Action::Signal {
                    pid: run.pid,
                    sig,
                    group: true,
                });
            }
            expect.extend([Action::WriteStatus(new.status()), Action::Exit]);
            assert_eq!(out, expect, "{ctx}");
        }
        Phase::Delaying { .. } => assert_eq!(new.status().wait, 0, "{ctx}"),
        _ => assert_eq!(out, [Action::Exit], "{ctx}"),
    }
}

/// The answers to actions, and readiness: each counts only in the phase that waits for it.
fn answer(c: &Clock, old: &State, event: Event, new: &State, out: &[Action], ctx: &Ctx) {
    let expected_phase = match (event, old.phase) {
        (Event::Init { .. }, Phase::Init { retry: None }) => true,
        (
            Event::Dependency { .. } | Event::Spawned { .. } | Event::ForkFailed { .. },
            Phase::Starting { .. },
        ) => true,
        (Event::DependencyUp, Phase::AwaitingDependency { .. }) => true,
        (Event::Ready, Phase::Up(run)) => run.ready == Readiness::Pending,
        _ => false,
    };
    if !expected_phase {
        assert_eq!(new, old, "{ctx}");
        assert!(out.is_empty(), "{ctx}");
        return;
    }
    let now = c.now();
    match (event, old.phase) {
        (Event::Init { ok: false }, _) => {
            assert_eq!(
                new.phase,
                Phase::Init {
                    retry: Some(now.mono + RETRY)
                },
                "{ctx}"
            );
            assert_eq!(out, [Action::Note(Note::InitFailed)], "{ctx}");
        }
        (Event::Init { ok: true }, _) if old.want == Want::Up => {
            expect_start(c, old, How::Auto, new, out, ctx)
        }
        (Event::Init { ok: true }, _) => {
            assert_eq!(new.phase, Phase::Down, "{ctx}");
            assert!(out.is_empty(), "{ctx}");
        }
        (Event::Dependency { delay }, Phase::Starting { how }) => {
            assert_eq!(
                new.phase,
                Phase::AwaitingDependency {
                    how,
                    began: now.mono,
                    delay
                },
                "{ctx}"
            );
            assert_eq!(new.status().wait, -2, "{ctx}");
            assert_eq!(
                out,
                [Action::WriteStatus(new.status()), Action::AwaitDependency],
                "{ctx}"
            );
        }
        (Event::DependencyUp, Phase::AwaitingDependency { delay, .. }) => {
            assert_eq!(new.status().wait, delay, "{ctx}");
            assert_eq!(
                new.phase.deadline(),
                Some(now.mono + Duration::from_secs(delay as u64)),
                "{ctx}"
            );
            assert_eq!(out, [Action::WriteStatus(new.status())], "{ctx}");
        }
        (Event::Spawned { pid, notify }, _) => {
            let run = run_of(new).unwrap_or_else(|| panic!("{ctx}"));
            assert_eq!(
                (run.pid, run.orphans, run.paused, run.restart),
                (pid, false, false, false),
                "{ctx}"
            );
            let ready = if notify {
                Readiness::Pending
            } else {
                Readiness::Untracked
            };
            assert_eq!(run.ready, ready, "{ctx}");
            assert_eq!(new.last_start, Some(now.mono), "{ctx}");
            assert_eq!(new.starts, old.starts + 1, "{ctx}");
            assert_eq!(new.info().restarts, old.starts, "{ctx}");
            // `up` opens at exec without readiness, at the readiness line with it.
            assert_eq!(out.contains(&Action::OpenUp), !notify, "{ctx}");
            assert!(out.contains(&Action::CloseDn), "{ctx}");
        }
        (Event::ForkFailed { errno }, _) => {
            assert_eq!(
                new.phase,
                Phase::Backoff {
                    until: now.mono + RETRY
                },
                "{ctx}"
            );
            assert_eq!(out, [Action::Note(Note::ForkFailed { errno })], "{ctx}");
        }
        (Event::Ready, Phase::Up(run)) => {
            assert_eq!(
                new.phase,
                Phase::Up(Run {
                    ready: Readiness::Ready,
                    ..run
                }),
                "{ctx}"
            );
            assert_eq!(new.info().ready, Some(true), "{ctx}");
            assert_eq!(
                out,
                [
                    Action::CloseNotify,
                    Action::OpenUp,
                    Action::WriteInfo(new.info())
                ],
                "{ctx}"
            );
        }
        _ => unreachable!("{ctx}"),
    }
}

// ----- scenarios: sequences an administrator would recognise -----

fn boot(c: &Clock, want: Want) -> State {
    State::new(
        Settings {
            pid: SUPERVISE_PID,
            shutdown_signal: Some(Signal::TERM),
        },
        want,
        label(0),
    )
    .step(
        Event::Init { ok: true },
        Now {
            mono: c.at(0),
            label: label(0),
        },
    )
    .0
}

fn at(c: &Clock, tenths: u64) -> Now {
    Now {
        mono: c.at(tenths),
        label: label(tenths),
    }
}

#[test]
fn a_crashing_service_is_restarted_once_a_second_with_alerts() {
    let c = Clock::new();
    let s = boot(&c, Want::Up);
    assert_eq!(s.phase, Phase::Starting { how: How::Auto });
    let (s, _) = s.step(
        Event::Spawned {
            pid: 10,
            notify: false,
        },
        at(&c, 1),
    );
    let (s, out) = s.step(
        Event::Exited {
            pid: 10,
            end: End::Exit(1),
            descendants: false,
        },
        at(&c, 2),
    );
    assert!(acts(&out).contains(&Action::Script(Script::Alert {
        pid: 10,
        end: End::Exit(1)
    })));
    assert_eq!(
        s.phase,
        Phase::Throttled {
            how: How::Abnormal,
            at: c.at(11)
        }
    );
    assert_eq!(
        s.step(Event::Timer, at(&c, 5)).0,
        s,
        "not before the second is over"
    );
    let (s, out) = s.step(Event::Timer, at(&c, 11));
    assert_eq!(acts(&out), [Action::Start(How::Abnormal)]);
    let (s, _) = s.step(
        Event::Spawned {
            pid: 11,
            notify: false,
        },
        at(&c, 11),
    );
    assert_eq!(s.info().restarts, 1);
    assert_eq!(s.status().pid, 11);
}

#[test]
fn readiness_opens_up_at_the_line_and_never_without_it() {
    let c = Clock::new();
    let s = boot(&c, Want::Up);
    let (s, out) = s.step(
        Event::Spawned {
            pid: 10,
            notify: true,
        },
        at(&c, 1),
    );
    assert!(!acts(&out).contains(&Action::OpenUp));
    assert_eq!(s.info().ready, Some(false));
    assert!(s.status().up, "up, not ready");
    let (s, out) = s.step(Event::Ready, at(&c, 30));
    assert!(acts(&out).contains(&Action::OpenUp));
    assert_eq!(
        s.info(),
        Info {
            pid: 10,
            ready: Some(true),
            restarts: 0
        }
    );
    // A second line changes nothing; death forgets readiness.
    assert!(s.step(Event::Ready, at(&c, 31)).1.is_empty());
    let (s, _) = s.step(
        Event::Exited {
            pid: 10,
            end: End::Signal(9),
            descendants: false,
        },
        at(&c, 40),
    );
    assert_eq!(s.info().ready, None);
}

#[test]
fn svc_r_restarts_without_alert_and_svc_d_stays_down() {
    let c = Clock::new();
    let s = boot(&c, Want::Up);
    let (s, _) = s.step(
        Event::Spawned {
            pid: 10,
            notify: false,
        },
        at(&c, 1),
    );
    let (s, out) = s.step(Event::Control(b'r'), at(&c, 20));
    assert!(acts(&out).contains(&Action::Signal {
        pid: 10,
        sig: Signal::TERM,
        group: false
    }));
    let (s, out) = s.step(
        Event::Exited {
            pid: 10,
            end: End::Signal(15),
            descendants: false,
        },
        at(&c, 21),
    );
    assert_eq!(acts(&out).last(), Some(&Action::Start(How::Restart)));
    assert!(!acts(&out)
        .iter()
        .any(|a| matches!(a, Action::Script(Script::Alert { .. }))));
    let (s, _) = s.step(
        Event::Spawned {
            pid: 11,
            notify: false,
        },
        at(&c, 21),
    );
    let (s, _) = s.step(Event::Control(b'd'), at(&c, 40));
    let (s, out) = s.step(
        Event::Exited {
            pid: 11,
            end: End::Signal(15),
            descendants: false,
        },
        at(&c, 41),
    );
    assert_eq!(s.phase, Phase::Down);
    assert!(!acts(&out).iter().any(Action::answered));
    assert_eq!(s.status().want, Want::Down);
}

#[test]
fn group_flag_waits_for_a_service_and_is_used_once() {
    let c = Clock::new();
    let s = boot(&c, Want::Down);
    let (s, out) = s.step(Event::Control(b'G'), at(&c, 1));
    assert!(out.is_empty() && s.group_next);
    let (s, out) = s.step(Event::Control(b'k'), at(&c, 1));
    assert!(out.is_empty() && s.group_next, "nothing to signal: G kept");
    let (s, _) = s.step(Event::Control(b'u'), at(&c, 2));
    let (s, _) = s.step(
        Event::Spawned {
            pid: 10,
            notify: false,
        },
        at(&c, 2),
    );
    let (s, out) = s.step(Event::Control(b'h'), at(&c, 3));
    assert_eq!(
        acts(&out),
        [Action::Signal {
            pid: 10,
            sig: Signal::HUP,
            group: true
        }]
    );
    let (_, out) = s.step(Event::Control(b'h'), at(&c, 3));
    assert_eq!(
        acts(&out),
        [Action::Signal {
            pid: 10,
            sig: Signal::HUP,
            group: false
        }]
    );
}

#[test]
fn a_double_fork_is_followed_to_the_last_descendant() {
    let c = Clock::new();
    let s = boot(&c, Want::Up);
    let (s, _) = s.step(
        Event::Spawned {
            pid: 10,
            notify: false,
        },
        at(&c, 1),
    );
    let (s, _) = s.step(
        Event::Exited {
            pid: 10,
            end: End::Exit(0),
            descendants: true,
        },
        at(&c, 2),
    );
    assert!(s.status().up, "still up while the daemon it forked runs");
    let (s, out) = s.step(Event::Control(b't'), at(&c, 3));
    assert_eq!(
        acts(&out),
        [Action::Signal {
            pid: 10,
            sig: Signal::TERM,
            group: true
        }]
    );
    let (s, _) = s.step(
        Event::Exited {
            pid: 12,
            end: End::Signal(15),
            descendants: true,
        },
        at(&c, 4),
    );
    assert!(s.status().up);
    let (s, _) = s.step(Event::NoChildren, at(&c, 5));
    assert!(!s.status().up);
}

#[test]
fn dependency_wait_shows_in_the_status_then_the_delay() {
    let c = Clock::new();
    let s = boot(&c, Want::Up);
    let (s, _) = s.step(Event::Dependency { delay: 3 }, at(&c, 1));
    assert_eq!(s.status().wait, -2);
    let (s, _) = s.step(Event::DependencyUp, at(&c, 20));
    assert_eq!((s.status().wait, s.status().when), (3, label(20)));
    let (s, out) = s.step(Event::Timer, at(&c, 50));
    assert_eq!(s.status().wait, 0);
    assert!(acts(&out).contains(&Action::Note(Note::DependencyUp { secs: 4 })));
    assert_eq!(acts(&out).last(), Some(&Action::Spawn(How::Auto)));
}

#[test]
fn failed_init_retries_after_a_minute_and_sigterm_ends_it() {
    let c = Clock::new();
    let s = State::new(
        Settings {
            pid: SUPERVISE_PID,
            shutdown_signal: None,
        },
        Want::Up,
        label(0),
    );
    let (s, _) = s.step(Event::Init { ok: false }, at(&c, 0));
    assert!(!s.phase.attentive(), "control waits while init is retried");
    assert_eq!(s.phase.deadline(), Some(c.at(600)));
    let (s, out) = s.step(Event::Timer, at(&c, 600));
    assert_eq!(acts(&out), [Action::RunInit]);
    let (_, out) = s.step(Event::Term, at(&c, 601));
    assert_eq!(acts(&out), [Action::Exit]);
}
