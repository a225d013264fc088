//! STARTTLS as a client (docs/ucspi-tcp.md#starttls-as-a-client, docs/decisions.md#u13): the plaintext exchange that asks an
//! SMTP, POP3 or IMAP server to start TLS, before the handshake.
//!
//! smtp: the whole greeting (multi-line too) is copied to fd 1 and must be 220; `EHLO`
//! goes first (RFC 3207), then `STARTTLS` must get 220. pop3: the greeting must be
//! `+OK`; `STLS` must get `+OK` (echoed). imap: the command is sent as
//! `STARTTLS STARTTLS` (tag `STARTTLS`), which standard servers accept and whose
//! reply still starts with `STARTTLS OK`, the reference's test (echoed).

use super::Starttls;
use indicore::Failure;
use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Lines read from a descriptor with a deadline, one byte at a time past the buffer so
/// nothing after the server's reply is consumed (the TLS handshake follows).
pub struct LineReader {
    fd: RawFd,
    deadline: Instant,
}

impl LineReader {
    pub fn new(fd: RawFd, timeout: Duration) -> LineReader {
        LineReader {
            fd,
            deadline: Instant::now() + timeout,
        }
    }

    /// One line with its end (`\n`), or the bytes up to end of file; empty at end of file.
    pub fn line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let mut p = [libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN,
                revents: 0,
            }];
            let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
            // SAFETY: poll on one live descriptor.
            let n = unsafe { libc::poll(p.as_mut_ptr(), 1, ms) };
            if n == 0 {
                return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT));
            }
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let mut b = [0u8; 1];
            // SAFETY: read one byte into a live buffer.
            let r = unsafe { libc::read(self.fd, b.as_mut_ptr().cast(), 1) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) {
                    continue;
                }
                return Err(e);
            }
            if r == 0 {
                return Ok(line);
            }
            line.push(b[0]);
            if b[0] == b'\n' || line.len() >= 8192 {
                return Ok(line);
            }
        }
    }

    /// A whole SMTP reply: lines until one whose fourth byte is not `-`.
    pub fn smtp_reply(&mut self) -> io::Result<Vec<u8>> {
        let mut all = Vec::new();
        loop {
            let line = self.line()?;
            if line.is_empty() {
                return Ok(all);
            }
            all.extend_from_slice(&line);
            if line.get(3) != Some(&b'-') {
                return Ok(all);
            }
        }
    }
}

/// Write all of `buf` to a (possibly non-blocking) descriptor.
pub fn write_all(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: write from a live buffer of its length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => {
                    let mut p = [libc::pollfd {
                        fd,
                        events: libc::POLLOUT,
                        revents: 0,
                    }];
                    // SAFETY: poll on one live descriptor.
                    unsafe { libc::poll(p.as_mut_ptr(), 1, 1000) };
                    continue;
                }
                _ => return Err(e),
            }
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

fn io_fail(e: &io::Error) -> Failure {
    Failure::temp_sys("STARTTLS dialogue failed: ", e)
}

fn rejected(line: &[u8]) -> Failure {
    Failure::temp(format!(
        "STARTTLS rejected while CERT exists: {}",
        String::from_utf8_lossy(line).trim_end()
    ))
}

/// Run the client side of the dialogue on the connected socket `fd`.
pub fn client(kind: Starttls, fd: RawFd, timeout: Duration) -> Result<(), Failure> {
    let mut r = LineReader::new(fd, timeout);
    match kind {
        Starttls::Smtp => {
            let greeting = r.smtp_reply().map_err(|e| io_fail(&e))?;
            let _ = write_all(1, &greeting);
            if !greeting.starts_with(b"220") {
                return Err(Failure::temp("connected but greeting failed"));
            }
            let me = hostname();
            write_all(fd, format!("EHLO {me}\r\n").as_bytes()).map_err(|e| io_fail(&e))?;
            let ehlo = r.smtp_reply().map_err(|e| io_fail(&e))?;
            if !ehlo.starts_with(b"250") {
                return Err(rejected(&ehlo));
            }
            write_all(fd, b"STARTTLS\r\n").map_err(|e| io_fail(&e))?;
            let reply = r.smtp_reply().map_err(|e| io_fail(&e))?;
            if reply.is_empty() {
                return Err(Failure::temp("NO TLS achieved while CERT exists"));
            }
            if !reply.starts_with(b"220") {
                return Err(rejected(&reply));
            }
        }
        Starttls::Pop3 => {
            let greeting = r.line().map_err(|e| io_fail(&e))?;
            if !greeting.starts_with(b"+OK") {
                return Err(Failure::temp("connected but greeting failed"));
            }
            write_all(fd, b"STLS\r\n").map_err(|e| io_fail(&e))?;
            let reply = r.line().map_err(|e| io_fail(&e))?;
            let _ = write_all(1, &reply);
            if !reply.starts_with(b"+OK") {
                return Err(rejected(&reply));
            }
        }
        Starttls::Imap => {
            let greeting = r.line().map_err(|e| io_fail(&e))?;
            if !greeting.starts_with(b"* ") {
                return Err(Failure::temp("connected but greeting failed"));
            }
            write_all(fd, b"STARTTLS STARTTLS\r\n").map_err(|e| io_fail(&e))?;
            loop {
                let reply = r.line().map_err(|e| io_fail(&e))?;
                if reply.starts_with(b"* ") {
                    continue; // untagged data before the tagged answer
                }
                let _ = write_all(1, &reply);
                if reply.len() < 11 || !reply[..11].eq_ignore_ascii_case(b"STARTTLS OK") {
                    return Err(rejected(&reply));
                }
                break;
            }
        }
    }
    Ok(())
}

/// This host's name for EHLO.
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most the buffer's length.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(0);
    match std::str::from_utf8(&buf[..end]) {
        Ok(s) if ok && !s.is_empty() => s.to_string(),
        _ => "localhost".to_string(),
    }
}
