//! The per-line engine of multilog, without any I/O: input arrives in pieces of any size,
//! output goes to a [`Sinks`].
//!
//! A line's first [`LINE_MAX`] bytes (its label included, with `t`) form its *head*: the
//! patterns, `e` and `=` see only the head. Directories get the whole line: the head,
//! then the bytes past it as they arrive, then `\n` (also added to a final partial line).

use crate::io::find;
use crate::pattern::matches;
use crate::script::{Action, Script};

/// Bytes of a line the actions see.
pub const LINE_MAX: usize = 1000;
/// Size of an `=file` record: the head padded with `\n`.
pub const STATUS_LEN: usize = LINE_MAX + 1;
/// Bytes of a line `e` prints before `...`.
pub const ALERT_MAX: usize = 200;
/// Length of the `t` prefix: label and space.
pub const PREFIX_LEN: usize = crate::stamp::LABEL_LEN + 1;

/// Where the engine's output goes.
pub trait Sinks {
    /// Bytes for log directory number `dir` (in script order).
    fn to_dir(&mut self, dir: usize, bytes: &[u8]);
    /// A new record for status file number `file` (in script order).
    fn status(&mut self, file: usize, record: &[u8; STATUS_LEN]);
    /// Bytes for stderr.
    fn alert(&mut self, bytes: &[u8]);
}

enum Step {
    Deselect(Box<[u8]>),
    Select(Box<[u8]>),
    Alert,
    Status(usize),
    Dir(usize),
}

pub struct Lines {
    steps: Vec<Step>,
    timestamps: bool,
    /// Selection recorded for each directory by the current line.
    selected: Vec<bool>,
    /// The head, always padded with `\n` to [`STATUS_LEN`] bytes.
    head: [u8; STATUS_LEN],
    headlen: usize,
    /// A line has started (at least one byte of it was read).
    in_line: bool,
    /// The head is full and decided; the rest of the line goes straight to the directories.
    overflow: bool,
}

impl Lines {
    pub fn new(script: &Script) -> Lines {
        let (mut dirs, mut files) = (0, 0);
        let mut steps = Vec::new();
        for action in &script.actions {
            match action {
                Action::Deselect(p) => steps.push(Step::Deselect(p.clone().into())),
                Action::Select(p) => steps.push(Step::Select(p.clone().into())),
                Action::Alert => steps.push(Step::Alert),
                Action::Status(_) => {
                    steps.push(Step::Status(files));
                    files += 1;
                }
                Action::Dir(_) => {
                    steps.push(Step::Dir(dirs));
                    dirs += 1;
                }
                Action::Timer(_) | Action::Setting => {}
            }
        }
        Lines {
            steps,
            timestamps: script.timestamps,
            selected: vec![false; dirs],
            head: [b'\n'; STATUS_LEN],
            headlen: 0,
            in_line: false,
            overflow: false,
        }
    }

    /// True between lines (the last byte fed was `\n`, or nothing was fed yet).
    pub fn between_lines(&self) -> bool {
        !self.in_line
    }

    /// Process a piece of input. `prefix` is the label of the read that delivered it (used
    /// only with `t`); `logging` is false after SIGINT, making lines start deselected.
    pub fn feed<S: Sinks>(
        &mut self,
        data: &[u8],
        prefix: &[u8; PREFIX_LEN],
        logging: bool,
        sinks: &mut S,
    ) {
        let mut pos = 0;
        while pos < data.len() {
            let rest = &data[pos..];
            if self.overflow {
                match find(b'\n', rest) {
                    Some(i) => {
                        self.emit(sinks, &rest[..i]);
                        self.end_line(sinks);
                        pos += i + 1;
                    }
                    None => {
                        self.emit(sinks, rest);
                        pos = data.len();
                    }
                }
                continue;
            }
            if !self.in_line {
                self.start_line(prefix);
            }
            let window = &rest[..rest.len().min(LINE_MAX - self.headlen)];
            match find(b'\n', window) {
                Some(i) => {
                    self.push_head(&window[..i]);
                    pos += i + 1;
                    self.decide(logging, sinks);
                    self.end_line(sinks);
                }
                None => {
                    self.push_head(window);
                    pos += window.len();
                    if self.headlen == LINE_MAX {
                        self.decide(logging, sinks);
                        self.overflow = true;
                    }
                }
            }
        }
    }

    /// End of input: a partial final line is completed with `\n`.
    pub fn finish<S: Sinks>(&mut self, logging: bool, sinks: &mut S) {
        if self.in_line {
            if !self.overflow {
                self.decide(logging, sinks);
            }
            self.end_line(sinks);
        }
    }

    fn start_line(&mut self, prefix: &[u8; PREFIX_LEN]) {
        self.head[..self.headlen].fill(b'\n');
        self.headlen = 0;
        self.in_line = true;
        if self.timestamps {
            self.head[..PREFIX_LEN].copy_from_slice(prefix);
            self.headlen = PREFIX_LEN;
        }
    }

    fn push_head(&mut self, bytes: &[u8]) {
        self.head[self.headlen..self.headlen + bytes.len()].copy_from_slice(bytes);
        self.headlen += bytes.len();
    }

    /// Run the actions over the complete head and give it to the selected directories.
    fn decide<S: Sinks>(&mut self, logging: bool, sinks: &mut S) {
        let head = &self.head[..self.headlen];
        let mut selected = logging;
        for step in &self.steps {
            match step {
                Step::Deselect(p) if selected && matches(p, head) => selected = false,
                Step::Select(p) if !selected && matches(p, head) => selected = true,
                Step::Alert if selected => {
                    if head.len() > ALERT_MAX {
                        sinks.alert(&head[..ALERT_MAX]);
                        sinks.alert(b"...\n");
                    } else {
                        sinks.alert(head);
                        sinks.alert(b"\n");
                    }
                }
                Step::Status(i) if selected => sinks.status(*i, &self.head),
                Step::Dir(j) => self.selected[*j] = selected,
                _ => {}
            }
        }
        let head = &self.head[..self.headlen];
        for (j, _) in self.selected.iter().enumerate().filter(|(_, s)| **s) {
            sinks.to_dir(j, head);
        }
    }

    fn emit<S: Sinks>(&self, sinks: &mut S, bytes: &[u8]) {
        for (j, _) in self.selected.iter().enumerate().filter(|(_, s)| **s) {
            sinks.to_dir(j, bytes);
        }
    }

    fn end_line<S: Sinks>(&mut self, sinks: &mut S) {
        self.emit(sinks, b"\n");
        self.in_line = false;
        self.overflow = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[derive(Default)]
    struct Mem {
        dirs: Vec<Vec<u8>>,
        status: Vec<Vec<u8>>,
        alerts: Vec<u8>,
    }

    impl Sinks for Mem {
        fn to_dir(&mut self, dir: usize, bytes: &[u8]) {
            if self.dirs.len() <= dir {
                self.dirs.resize(dir + 1, Vec::new());
            }
            self.dirs[dir].extend_from_slice(bytes);
        }
        fn status(&mut self, file: usize, record: &[u8; STATUS_LEN]) {
            if self.status.len() <= file {
                self.status.resize(file + 1, Vec::new());
            }
            self.status[file] = record.to_vec();
        }
        fn alert(&mut self, bytes: &[u8]) {
            self.alerts.extend_from_slice(bytes);
        }
    }

    const P: &[u8; PREFIX_LEN] = b"@400000003b4a39c23294b13c ";

    /// Feed `input` in pieces of `piece` bytes.
    fn run(args: &[&str], input: &[u8], piece: usize) -> Mem {
        let script = Script::parse(&args.iter().map(OsString::from).collect::<Vec<_>>());
        let mut lines = Lines::new(&script);
        let mut mem = Mem::default();
        for chunk in input.chunks(piece) {
            lines.feed(chunk, P, true, &mut mem);
        }
        lines.finish(true, &mut mem);
        mem
    }

    #[test]
    fn selection_and_alerts() {
        for piece in [1, 3, 1000] {
            let m = run(
                &["-*", "+one", "e", "./a", "+t*", "./b"],
                b"one\ntwo\nthree",
                piece,
            );
            assert_eq!(m.alerts, b"one\n");
            assert_eq!(m.dirs[0], b"one\n");
            assert_eq!(m.dirs[1], b"one\ntwo\nthree\n");
        }
    }

    #[test]
    fn timestamps_count_toward_the_head() {
        let line = vec![b'x'; 1200];
        let mut input = line.clone();
        input.push(b'\n');
        let m = run(&["t", "e", "=s", "./d"], &input, 7);
        // Directories get everything, with the label.
        assert_eq!(&m.dirs[0][..PREFIX_LEN], P);
        assert_eq!(m.dirs[0].len(), PREFIX_LEN + 1200 + 1);
        // e: the first 200 bytes of the head, then "...".
        assert_eq!(m.alerts.len(), 204);
        assert!(m.alerts.ends_with(b"...\n"));
        // =: the 1000-byte head plus one newline.
        let rec = &m.status[0];
        assert_eq!(rec.len(), STATUS_LEN);
        assert_eq!(&rec[..PREFIX_LEN], P);
        assert!(rec[PREFIX_LEN..LINE_MAX].iter().all(|&b| b == b'x'));
        assert_eq!(rec[LINE_MAX], b'\n');
    }

    #[test]
    fn status_record_is_padded_after_a_longer_line() {
        let m = run(&["=s"], b"a long line\nhi\n", 4);
        let mut want = b"hi".to_vec();
        want.resize(STATUS_LEN, b'\n');
        assert_eq!(m.status[0], want);
    }

    #[test]
    fn alert_boundary_and_partial_lines() {
        let exact = vec![b'y'; 200];
        let m = run(&["e"], &exact, 64);
        assert_eq!(m.alerts.len(), 201);
        let m = run(&["e", "./d"], b"", 64);
        assert!(m.alerts.is_empty() && m.dirs.is_empty());
        let m = run(&["./d"], b"a\0b\n\n\xff", 2);
        assert_eq!(m.dirs[0], b"a\0b\n\n\xff\n");
    }

    #[test]
    fn logging_off_starts_lines_deselected() {
        let script = Script::parse(&[OsString::from("+keep*"), OsString::from("./d")]);
        let mut lines = Lines::new(&script);
        let mut mem = Mem::default();
        lines.feed(b"drop\nkeep this\n", P, false, &mut mem);
        lines.feed(b"back\n", P, true, &mut mem);
        assert_eq!(mem.dirs[0], b"keep this\nback\n");
        assert!(lines.between_lines());
    }

    #[test]
    fn exact_head_length_line() {
        let mut input = vec![b'z'; LINE_MAX];
        input.extend_from_slice(b"\nnext\n");
        let m = run(&["=s", "./d"], &input, 333);
        assert_eq!(m.dirs[0], input);
        let mut want = b"next".to_vec();
        want.resize(STATUS_LEN, b'\n');
        assert_eq!(m.status[0], want);
    }

    mod props {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        /// Scripts made of every kind of action, patterns with stars included.
        fn script() -> impl Strategy<Value = Vec<String>> {
            let action = prop_oneof![
                "[-+][a-c* ]{0,6}",
                Just("e".to_string()),
                Just("=st".to_string()),
                Just("./d".to_string()),
                "s[0-9]{0,9}",
                "n[0-9]{0,3}",
                "r[0-9]{0,3}",
                Just("!cat".to_string()),
                "[a-z?#]{0,3}",
            ];
            (any::<bool>(), vec(action, 0..8)).prop_map(|(t, mut v)| {
                if t {
                    v.insert(0, "t".to_string());
                }
                v
            })
        }

        /// Lines of any length (past the 1000-byte head too), any bytes, maybe no final
        /// newline.
        fn input() -> impl Strategy<Value = Vec<u8>> {
            vec(
                prop_oneof![
                    vec(
                        prop_oneof![Just(b'a'), Just(b'b'), Just(b' '), any::<u8>()],
                        0..30
                    ),
                    (990usize..1100).prop_map(|n| vec![b'c'; n]),
                ],
                0..8,
            )
            .prop_map(|lines| lines.join(&b'\n'))
        }

        fn feed(args: &[String], input: &[u8], pieces: &[usize]) -> Mem {
            let script = Script::parse(&args.iter().map(OsString::from).collect::<Vec<_>>());
            let mut lines = Lines::new(&script);
            let mut mem = Mem::default();
            let mut rest = input;
            let mut i = 0;
            while !rest.is_empty() {
                let n = pieces
                    .get(i)
                    .copied()
                    .unwrap_or(rest.len())
                    .clamp(1, rest.len());
                lines.feed(&rest[..n], P, true, &mut mem);
                rest = &rest[n..];
                i += 1;
            }
            lines.finish(true, &mut mem);
            mem
        }

        proptest! {
            /// The output never depends on how the input was cut into reads; every log
            /// gets whole lines.
            #[test]
            fn reads_of_any_size_give_the_same_output(
                args in script(), input in input(), pieces in vec(1usize..1200, 0..20),
            ) {
                let whole = feed(&args, &input, &[]);
                let cut = feed(&args, &input, &pieces);
                prop_assert_eq!(&whole.dirs, &cut.dirs);
                prop_assert_eq!(&whole.status, &cut.status);
                prop_assert_eq!(&whole.alerts, &cut.alerts);
                for d in &whole.dirs {
                    prop_assert!(d.is_empty() || d.ends_with(b"\n"));
                }
                for st in &whole.status {
                    prop_assert_eq!(st.len(), STATUS_LEN);
                }
            }

            /// With everything selected and no label, a log is the input exactly (a final
            /// partial line gets its newline).
            #[test]
            fn everything_selected_is_logged_unchanged(input in input()) {
                let args = ["+*".to_string(), "./d".to_string()];
                let mem = feed(&args, &input, &[]);
                let mut want = input.clone();
                if !want.is_empty() && !want.ends_with(b"\n") {
                    want.push(b'\n');
                }
                let got = mem.dirs.first().cloned().unwrap_or_default();
                prop_assert_eq!(got, want);
            }

            /// Any command line parses; sizes and counts are clamped as documented.
            #[test]
            fn any_script_parses(args in vec(vec(any::<u8>(), 0..12), 0..10)) {
                use std::os::unix::ffi::OsStringExt;
                let args: Vec<OsString> = args.into_iter().map(OsString::from_vec).collect();
                let s = Script::parse(&args);
                for d in s.dirs() {
                    prop_assert!(d.size == 0 || (4096..=16_777_215).contains(&d.size));
                    prop_assert!(d.num >= 2);
                }
            }
        }
    }
}
