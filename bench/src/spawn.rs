//! Starting one child with posix_spawn and waiting for it, with nothing
//! allocated between runs: argv and envp are built once.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;

use crate::error::{BenchError, Result};

/// A prepared command line: absolute program path, argv and a complete environment.
pub struct Command {
    program: CString,
    _args: Vec<CString>,
    _env: Vec<CString>,
    argv: Vec<*mut libc::c_char>,
    envp: Vec<*mut libc::c_char>,
    shown: String,
}

fn cstring(s: &[u8]) -> Result<CString> {
    CString::new(s).map_err(|_| BenchError::Usage("argument contains a NUL byte".into()))
}

impl Command {
    /// `program` is executed directly (no PATH search); `args` excludes argv[0],
    /// which is the program path; `env` is the whole environment.
    pub fn new(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Command> {
        let program_c = cstring(program.as_os_str().as_bytes())?;
        let mut arg_c = vec![program_c.clone()];
        for a in args {
            arg_c.push(cstring(a.as_bytes())?);
        }
        let env_c = env
            .iter()
            .map(|(k, v)| cstring(format!("{k}={v}").as_bytes()))
            .collect::<Result<Vec<_>>>()?;
        let mut argv: Vec<*mut libc::c_char> = arg_c.iter().map(|c| c.as_ptr() as *mut _).collect();
        argv.push(ptr::null_mut());
        let mut envp: Vec<*mut libc::c_char> = env_c.iter().map(|c| c.as_ptr() as *mut _).collect();
        envp.push(ptr::null_mut());
        let shown = std::iter::once(program.display().to_string())
            .chain(args.iter().map(|a| a.to_string()))
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Command {
            program: program_c,
            _args: arg_c,
            _env: env_c,
            argv,
            envp,
            shown,
        })
    }

    /// Spawns the command, waits for it, and fails unless it exited 0.
    pub fn run(&self) -> Result<()> {
        let mut pid: libc::pid_t = 0;
        // SAFETY: program, argv and envp are NUL-terminated and outlive the call;
        // null file actions and attributes mean "inherit everything".
        let rc = unsafe {
            libc::posix_spawn(
                &mut pid,
                self.program.as_ptr(),
                ptr::null(),
                ptr::null(),
                self.argv.as_ptr(),
                self.envp.as_ptr(),
            )
        };
        if rc != 0 {
            return Err(BenchError::Fatal(format!(
                "unable to spawn {}: {}",
                self.shown,
                std::io::Error::from_raw_os_error(rc)
            )));
        }
        let status = wait(pid)?;
        if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
            return Ok(());
        }
        let how = if libc::WIFEXITED(status) {
            format!("exited {}", libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            format!("killed by signal {}", libc::WTERMSIG(status))
        } else {
            format!("ended with wait status {status:#x}")
        };
        Err(BenchError::Fatal(format!("{} {how}", self.shown)))
    }
}

fn wait(pid: libc::pid_t) -> Result<libc::c_int> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: plain waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(status);
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(BenchError::Fatal(format!("waitpid {pid}: {err}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_checks_status() {
        let env = [("PATH", "/bin:/usr/bin")];
        Command::new(Path::new("/bin/sh"), &["-c", "exit 0"], &env)
            .unwrap()
            .run()
            .unwrap();
        let e = Command::new(Path::new("/bin/sh"), &["-c", "exit 3"], &env)
            .unwrap()
            .run()
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("exited 3"), "{e}");
        let e = Command::new(Path::new("/bin/sh"), &["-c", "kill -9 $$"], &env)
            .unwrap()
            .run()
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("killed by signal 9"), "{e}");
        assert!(Command::new(Path::new("/nonexistent"), &[], &env)
            .unwrap()
            .run()
            .is_err());
    }

    #[test]
    fn environment_is_exactly_what_was_given() {
        let env = [("PATH", "/bin:/usr/bin"), ("ONLY", "1")];
        let c = Command::new(
            Path::new("/bin/sh"),
            &["-c", "test \"$ONLY\" = 1 && test -z \"$HOME\""],
            &env,
        )
        .unwrap();
        c.run().unwrap();
    }
}
