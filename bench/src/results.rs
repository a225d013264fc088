//! What the workloads measured, as records the report is made from: one line each,
//! tab-separated, appended to the results file (`--results FILE`) as they come, so that
//! a run that fails half way still leaves what it measured.
//!
//! * `machine KEY VALUE`: where and when the run was made.
//! * `ratio GROUP WORKLOAD PEER METRIC BETTER OURS THEIRS TARGET`: one figure of ours next
//!   to the same figure of one peer. BETTER is `higher` or `lower`; TARGET is `-`,
//!   `adv>=X` (ours at least X times better than this peer) or `ours<=X` (an absolute
//!   ceiling on our figure).
//! * `curve ID TITLE XLABEL YLABEL LOGX` and `point ID PEER X Y`: scale curves.
//! * `note TEXT`: something a reader of the figures must know (a peer left out, and why).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{BenchError, Result};

static FILE: OnceLock<PathBuf> = OnceLock::new();

/// Where records go for the rest of this run (no file: records are dropped).
pub fn set_file(path: &Path) {
    let _ = FILE.set(path.to_path_buf());
}

fn append(line: &str) -> Result<()> {
    let Some(path) = FILE.get() else {
        return Ok(());
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| BenchError::Fatal(format!("{}: {e}", path.display())))?;
    writeln!(f, "{line}").map_err(|e| BenchError::Fatal(format!("{}: {e}", path.display())))
}

/// A field: tabs and newlines would break the line format.
fn clean(s: &str) -> String {
    s.replace(['\t', '\n'], " ")
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    None,
    /// Ours at least this many times better than the peer.
    Advantage(f64),
    /// Our figure at most this (absolute).
    OursAtMost(f64),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::None => f.write_str("-"),
            Target::Advantage(x) => write!(f, "adv>={x}"),
            Target::OursAtMost(x) => write!(f, "ours<={x}"),
        }
    }
}

impl Target {
    fn parse(s: &str) -> Option<Target> {
        if s == "-" {
            return Some(Target::None);
        }
        if let Some(x) = s.strip_prefix("adv>=") {
            return x.parse().ok().map(Target::Advantage);
        }
        s.strip_prefix("ours<=")
            .and_then(|x| x.parse().ok())
            .map(Target::OursAtMost)
    }
}

/// One of our figures next to one peer's.
#[derive(Debug, Clone, PartialEq)]
pub struct Ratio {
    /// Chart group: the program family ("tcpserver", "multilog", ...).
    pub group: String,
    /// What was run, e.g. "tcpserver -x (10,000 rules) c=8".
    pub workload: String,
    pub peer: String,
    /// The figure and its unit, e.g. "conn/s", "Private_Dirty kB".
    pub metric: String,
    pub higher_better: bool,
    pub ours: f64,
    pub theirs: f64,
    pub target: Target,
}

impl Ratio {
    /// ours/theirs of the figure itself.
    pub fn ratio(&self) -> Option<f64> {
        (self.theirs != 0.0).then(|| self.ours / self.theirs)
    }

    /// How many times better ours is (above 1: ours better), whichever way the figure goes.
    pub fn advantage(&self) -> Option<f64> {
        let (good, bad) = if self.higher_better {
            (self.ours, self.theirs)
        } else {
            (self.theirs, self.ours)
        };
        // One side at zero: no finite ratio (a target on it is judged as missed).
        match (good == 0.0, bad == 0.0) {
            (true, true) => Some(1.0),
            (false, false) => Some(good / bad),
            _ => None,
        }
    }

    /// Whether the target is met (None: no target).
    pub fn met(&self) -> Option<bool> {
        match self.target {
            Target::None => None,
            Target::Advantage(x) => Some(self.advantage().is_some_and(|a| a >= x)),
            Target::OursAtMost(x) => Some(self.ours <= x),
        }
    }

    fn line(&self) -> String {
        format!(
            "ratio\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            clean(&self.group),
            clean(&self.workload),
            clean(&self.peer),
            clean(&self.metric),
            if self.higher_better {
                "higher"
            } else {
                "lower"
            },
            self.ours,
            self.theirs,
            self.target
        )
    }
}

/// Records one comparison.
pub fn ratio(r: Ratio) -> Result<()> {
    append(&r.line())
}

/// What a workload measures, to record ours against each peer.
pub struct Figure<'a> {
    pub group: &'a str,
    pub workload: &'a str,
    pub metric: &'a str,
    pub higher_better: bool,
}

impl Figure<'_> {
    /// Records our value next to `peer`'s.
    pub fn record(&self, ours: f64, peer: &str, theirs: f64, target: Target) -> Result<()> {
        ratio(Ratio {
            group: self.group.into(),
            workload: self.workload.into(),
            peer: peer.into(),
            metric: self.metric.into(),
            higher_better: self.higher_better,
            ours,
            theirs,
            target,
        })
    }
}

/// A scale curve's description.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
}

/// Records a curve's description (once per curve, before or after its points).
pub fn curve(c: &Curve) -> Result<()> {
    append(&format!(
        "curve\t{}\t{}\t{}\t{}\t{}",
        clean(&c.id),
        clean(&c.title),
        clean(&c.x_label),
        clean(&c.y_label),
        u8::from(c.log_x)
    ))
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub curve: String,
    pub peer: String,
    pub x: f64,
    pub y: f64,
}

/// Records one point of a curve.
pub fn point(curve: &str, peer: &str, x: f64, y: f64) -> Result<()> {
    append(&format!(
        "point\t{}\t{}\t{x}\t{y}",
        clean(curve),
        clean(peer)
    ))
}

/// Records a fact about the machine or the run.
pub fn machine(key: &str, value: &str) -> Result<()> {
    append(&format!("machine\t{}\t{}", clean(key), clean(value)))
}

/// Records a note for the report (and prints it).
pub fn note(text: &str) -> Result<()> {
    println!("note: {text}");
    append(&format!("note\t{}", clean(text)))
}

/// Everything a results file holds.
#[derive(Debug, Default)]
pub struct Results {
    pub machine: Vec<(String, String)>,
    pub notes: Vec<String>,
    pub ratios: Vec<Ratio>,
    pub curves: Vec<Curve>,
    pub points: Vec<Point>,
}

impl Results {
    pub fn machine(&self, key: &str) -> Option<&str> {
        self.machine
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

pub fn parse(text: &str) -> Result<Results> {
    let mut r = Results::default();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        let bad = || BenchError::Fatal(format!("results line {}: malformed: {line:?}", i + 1));
        let num = |s: &str| s.parse::<f64>().map_err(|_| bad());
        match f.as_slice() {
            [] | [""] => {}
            ["machine", k, v] => r.machine.push((k.to_string(), v.to_string())),
            ["note", text] => r.notes.push(text.to_string()),
            ["ratio", group, workload, peer, metric, better, ours, theirs, target] => {
                r.ratios.push(Ratio {
                    group: group.to_string(),
                    workload: workload.to_string(),
                    peer: peer.to_string(),
                    metric: metric.to_string(),
                    higher_better: match *better {
                        "higher" => true,
                        "lower" => false,
                        _ => return Err(bad()),
                    },
                    ours: num(ours)?,
                    theirs: num(theirs)?,
                    target: Target::parse(target).ok_or_else(bad)?,
                })
            }
            ["curve", id, title, x, y, log_x] => {
                let c = Curve {
                    id: id.to_string(),
                    title: title.to_string(),
                    x_label: x.to_string(),
                    y_label: y.to_string(),
                    log_x: *log_x == "1",
                };
                if !r.curves.iter().any(|k| k.id == c.id) {
                    r.curves.push(c);
                }
            }
            ["point", curve, peer, x, y] => r.points.push(Point {
                curve: curve.to_string(),
                peer: peer.to_string(),
                x: num(x)?,
                y: num(y)?,
            }),
            _ => return Err(bad()),
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(higher_better: bool, ours: f64, theirs: f64, target: Target) -> Ratio {
        Ratio {
            group: "g".into(),
            workload: "w\tx".into(),
            peer: "p".into(),
            metric: "m".into(),
            higher_better,
            ours,
            theirs,
            target,
        }
    }

    #[test]
    fn advantage_follows_the_better_direction() {
        assert_eq!(
            sample(true, 300.0, 100.0, Target::None).advantage(),
            Some(3.0)
        );
        assert_eq!(
            sample(false, 50.0, 100.0, Target::None).advantage(),
            Some(2.0)
        );
        assert_eq!(sample(false, 0.0, 0.0, Target::None).advantage(), Some(1.0));
        assert_eq!(sample(false, 5.0, 0.0, Target::None).advantage(), None);
        assert_eq!(sample(false, 0.0, 5.0, Target::None).advantage(), None);
    }

    #[test]
    fn targets() {
        assert_eq!(sample(true, 1.0, 1.0, Target::None).met(), None);
        assert_eq!(
            sample(true, 130.0, 100.0, Target::Advantage(1.3)).met(),
            Some(true)
        );
        assert_eq!(
            sample(true, 120.0, 100.0, Target::Advantage(1.3)).met(),
            Some(false)
        );
        assert_eq!(
            sample(false, 0.0, 3.0, Target::OursAtMost(0.0)).met(),
            Some(true)
        );
        assert_eq!(
            sample(false, 0.5, 3.0, Target::OursAtMost(0.0)).met(),
            Some(false)
        );
    }

    #[test]
    fn lines_round_trip() {
        let mut text = String::new();
        for t in [
            Target::None,
            Target::Advantage(1.3),
            Target::OursAtMost(0.0),
        ] {
            text += &sample(false, 1.5, 2.25, t).line();
            text += "\n";
        }
        text += "note\ta b\nmachine\tcores\t2\ncurve\tc1\tT\tX\tY\t1\npoint\tc1\tours\t8\t123.5\n";
        let r = parse(&text).unwrap();
        assert_eq!(r.ratios.len(), 3);
        assert_eq!(r.ratios[0].workload, "w x");
        assert_eq!(r.ratios[1].target, Target::Advantage(1.3));
        assert_eq!(r.ratios[2].target, Target::OursAtMost(0.0));
        assert_eq!(r.machine("cores"), Some("2"));
        assert_eq!(r.notes, ["a b"]);
        assert!(r.curves[0].log_x);
        assert_eq!(r.points[0].y, 123.5);
        assert!(parse("ratio\tshort\n").is_err());
        assert!(parse("point\tc\tp\tx\t1\n").is_err());
    }
}
