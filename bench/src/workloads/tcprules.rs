//! `tcprules`: compile a 100,000-line rules file (quick: 2,000 lines; addresses, ranges,
//! host names, environment settings) into a cdb, one build per operation, ours against
//! djb's and IndiMail's.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::compare::{Trial, Workload};
use crate::error::{BenchError, Result};
use crate::side::Side;
use crate::tempdir::TempDir;

pub struct Build {
    dir: TempDir,
    lines: u32,
}

fn rules_text(lines: u32) -> String {
    let mut s = String::with_capacity(lines as usize * 40);
    for i in 0..lines {
        let (a, b, c) = ((i >> 16) & 255, (i >> 8) & 255, i & 255);
        match i % 4 {
            0 => s.push_str(&format!("10.{a}.{b}.{c}:deny\n")),
            1 => s.push_str(&format!(
                "=host{i}.example.com:allow,RELAYCLIENT=\"\",QMAILQUEUE=\"/bin/q{c}\"\n"
            )),
            2 => s.push_str(&format!("172.{a}.{b}.1-3:allow,X=\"{c}\"\n")),
            _ => s.push_str(&format!("user{i}@192.168.{b}.{c}:allow,MAXPERIP=\"{c}\"\n")),
        }
    }
    s.push_str(":allow\n");
    s
}

impl Build {
    pub fn new(quick: bool) -> Result<Build> {
        let lines = if quick { 2_000 } else { 100_000 };
        let dir = TempDir::new("bench-tcprules")?;
        dir.write("rules.txt", &rules_text(lines))?;
        Ok(Build { dir, lines })
    }
}

struct BuildTrial {
    program: PathBuf,
    input: PathBuf,
    cdb: PathBuf,
    tmp: PathBuf,
}

impl Trial for BuildTrial {
    fn once(&mut self) -> Result<()> {
        let input =
            std::fs::File::open(&self.input).map_err(|e| BenchError::Fatal(e.to_string()))?;
        let status = Command::new(&self.program)
            .arg(&self.cdb)
            .arg(&self.tmp)
            .stdin(input)
            .stdout(Stdio::null())
            .status()
            .map_err(|e| BenchError::Fatal(format!("tcprules: {e}")))?;
        if !status.success() {
            return Err(BenchError::Fatal(format!("tcprules exited {status}")));
        }
        Ok(())
    }
}

impl Workload for Build {
    fn title(&self) -> String {
        format!("tcprules ({} lines)", self.lines)
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["tcprules"]
    }

    fn target_ratio(&self) -> f64 {
        1.0
    }

    fn warmup(&self) -> u64 {
        2
    }

    fn max_runs(&self) -> Option<u64> {
        // A build takes a good part of a second.
        Some(50)
    }

    fn prepare(&self, side: &Side) -> Result<Box<dyn Trial>> {
        let tag = side.label;
        let mut t = BuildTrial {
            program: side.program("tcprules"),
            input: self.dir.path().join("rules.txt"),
            cdb: self.dir.path().join(format!("{tag}.cdb")),
            tmp: self.dir.path().join(format!("{tag}.tmp")),
        };
        t.once()?;
        let size = std::fs::metadata(&t.cdb)
            .map_err(|e| BenchError::Fatal(e.to_string()))?
            .len();
        if size < u64::from(self.lines) * 16 {
            return Err(BenchError::Fatal(format!(
                "{tag}: tcprules wrote only {size} bytes"
            )));
        }
        Ok(Box::new(t))
    }
}
