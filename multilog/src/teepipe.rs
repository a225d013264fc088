//! `teepipe program [args ...]`: copy standard input both to standard output and to a
//! program (found in PATH), whose own standard output goes to our standard error. The
//! exit code is the program's; a failed write to either side stops the copy (111).

use indicore::sys::signal;
use indicore::{Failure, Prog};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::process::{Command, Stdio};

pub const PROG: Prog = Prog("teepipe");

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let Some(program) = args.get(1) else {
        indicore::diag::emit(format_args!(
            "teepipe: warning: usage: teepipe program [args ...]: \n"
        ));
        return Err(Failure::Silent(100));
    };
    // A reader that went away is a write error, not a silent death.
    let _ = signal::catch_quietly(&[signal::Signal::PIPE]);
    let to_stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| Failure::temp_sys("Error setting up standard output: ", &e))?;
    let mut child = Command::new(program)
        .args(&args[2..])
        .stdin(Stdio::piped())
        .stdout(Stdio::from(to_stderr))
        .spawn()
        .map_err(|e| {
            let name = program.to_string_lossy();
            Failure::temp_sys(format_args!("Error executing {name}: "), &e)
        })?;
    let mut pipe = child.stdin.take().expect("piped stdin");
    let mut input = std::io::stdin().lock();
    let mut output = std::io::stdout().lock();
    let mut buf = [0u8; 4096];
    loop {
        let n = match input.read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pipe.write_all(&buf[..n])
            .map_err(|e| Failure::temp_sys("Error writing to program: ", &e))?;
        output
            .write_all(&buf[..n])
            .and_then(|()| output.flush())
            .map_err(|e| Failure::temp_sys("Error writing to standard out: ", &e))?;
    }
    // the program sees end of input and finishes
    drop(pipe);
    let status = child
        .wait()
        .map_err(|e| Failure::temp_sys("failed to wait for child: ", &e))?;
    status
        .code()
        .ok_or_else(|| Failure::temp("child crashed: "))
}
