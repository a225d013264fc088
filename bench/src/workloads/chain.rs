//! `chain`: the chain-loading programs a service's run script uses,
//! `envdir D softlimit -m 100000000 setuidgid nobody true`, one process
//! chain per operation. Each side's PATH makes envdir find that side's
//! softlimit and setuidgid.

use std::ffi::CString;

use crate::compare::{Trial, Workload};
use crate::error::{BenchError, Result};
use crate::side::Side;
use crate::spawn::Command;
use crate::tempdir::TempDir;

const USER: &str = "nobody";
const MEMORY: &str = "100000000";

pub struct Chain {
    envdir: TempDir,
    uid: libc::uid_t,
}

impl Chain {
    pub fn new() -> Result<Chain> {
        let uid = uid_of(USER)?;
        let envdir = TempDir::new("bench-chain")?;
        // Plain variable files only: Debian's envdir knows nothing of .envfile.
        envdir.write("FOO", "bar\n")?;
        envdir.write("GREETING", "hello world\nignored second line\n")?;
        envdir.write("LANG", "C\n")?;
        envdir.write("UNSETME", "")?;
        Ok(Chain { envdir, uid })
    }

    fn command(&self, side: &Side, last: &[&str]) -> Result<Command> {
        let dir = self
            .envdir
            .path()
            .to_str()
            .ok_or_else(|| BenchError::Fatal("temporary directory path is not UTF-8".into()))?;
        let mut args = vec![dir, "softlimit", "-m", MEMORY, "setuidgid", USER];
        args.extend_from_slice(last);
        Command::new(
            &side.program("envdir"),
            &args,
            &[("PATH", &side.path), ("UNSETME", "x")],
        )
    }
}

fn uid_of(user: &str) -> Result<libc::uid_t> {
    let name = CString::new(user).expect("no NUL in user name");
    // SAFETY: getpwnam with a valid C string; the result is read at once.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err(BenchError::Usage(format!("no user {user} on this system")));
    }
    // SAFETY: pw is non-null and points to getpwnam's static record.
    Ok(unsafe { (*pw).pw_uid })
}

struct ChainTrial(Command);

impl Trial for ChainTrial {
    fn once(&mut self) -> Result<()> {
        self.0.run()
    }
}

impl Workload for Chain {
    fn title(&self) -> String {
        "chain (envdir softlimit setuidgid true)".into()
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["envdir", "softlimit", "setuidgid"]
    }

    fn needs_root(&self) -> bool {
        true
    }

    fn target_ratio(&self) -> f64 {
        1.20
    }

    fn prepare(&self, side: &Side) -> Result<Box<dyn Trial>> {
        // Check once that the chain really does its work, so that a program
        // which skips it cannot look fast.
        let script = format!(
            "test \"$FOO\" = bar && test \"$GREETING\" = 'hello world' && \
             test -z \"${{UNSETME+set}}\" && test \"$(id -u)\" = {uid} && \
             test \"$(id -G)\" = \"$(id -g)\" && test \"$(ulimit -d)\" = {kb}",
            uid = self.uid,
            kb = MEMORY.parse::<u64>().expect("numeric") / 1024,
        );
        let check = self.command(side, &["sh", "-c", &script])?;
        check.run().map_err(|e| {
            BenchError::Fatal(format!(
                "{}: the chain does not do its work (environment, limits or \
                 privileges wrong): {e}",
                side.label
            ))
        })?;
        Ok(Box::new(ChainTrial(self.command(side, &["true"])?)))
    }
}
