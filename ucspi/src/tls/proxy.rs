//! The TLS engine every program here shares (docs/decisions.md#u10): a handshake with a
//! deadline, then a single-threaded poll(2) loop that relays plaintext between the TLS
//! connection and a local pair of descriptors (a program's pipes, or stdin and stdout).
//!
//! Both directions close on their own: when the peer ends (close_notify or a TCP end)
//! the local side sees end of file once everything is written to it; when the local side
//! ends, close_notify goes out and the socket is shut down for writing; the relay ends
//! when both directions are done, or when the local reader has gone away and nothing is
//! left to send. Neither side moving for the idle time ends it too.

use rustls::Connection;
use std::io::{self, Read, Write};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Plaintext read from the local side at a time. More is read only once rustls has
/// handed everything before it to the kernel, whose socket buffer does the pipelining.
const CHUNK: usize = 64 * 1024;
/// Plaintext from the peer held for the local side before the network is left unread.
const LOCAL_BACKLOG: usize = 256 * 1024;
/// What one write to a descriptor we do not own (stdout) may carry after POLLOUT.
const SHARED_WRITE: usize = 4096;

/// A descriptor read and written without blocking (the network side).
pub struct Fd(pub RawFd);

impl Read for Fd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: read into a live buffer of its length.
            let n = unsafe { libc::read(self.0, buf.as_mut_ptr().cast(), buf.len()) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl Write for Fd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            // SAFETY: send/write from a live buffer of its length. MSG_NOSIGNAL keeps
            // a reset peer from killing us with SIGPIPE.
            let mut n =
                unsafe { libc::send(self.0, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
            if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOTSOCK) {
                // SAFETY: as above, for a descriptor that is not a socket.
                n = unsafe { libc::write(self.0, buf.as_ptr().cast(), buf.len()) };
            }
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
    /// rustls hands over one buffer per record: one sendmsg for all of them.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = bufs.len().min(64);
        loop {
            // SAFETY: an all-zero msghdr is valid; it points at the caller's live slices,
            // whose layout is that of iovec.
            let r = unsafe {
                let mut msg: libc::msghdr = std::mem::zeroed();
                msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
                msg.msg_iovlen = n as _;
                let r = libc::sendmsg(self.0, &msg, libc::MSG_NOSIGNAL);
                if r < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOTSOCK) {
                    libc::writev(self.0, bufs.as_ptr() as *const libc::iovec, n as i32)
                } else {
                    r
                }
            };
            if r >= 0 {
                return Ok(r as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A proxy writes to pipes and sockets whose reader may be gone: that must be EPIPE, not
/// death by SIGPIPE. (Programs get the default back when they start.)
fn ignore_sigpipe() {
    // SAFETY: setting a signal disposition.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// A zeroed buffer on an anonymous mapping, whose pages cost nothing until touched. A
/// `vec![0; 64 * 1024]` is cleared by calloc at once: 16 page faults in a process that
/// then reads a few hundred bytes of handshake into it. A failed mapping falls back to
/// the heap.
pub enum Zeroed {
    Mapped(std::ptr::NonNull<u8>, usize),
    Heap(Vec<u8>),
}

impl Zeroed {
    pub fn new(len: usize) -> Zeroed {
        // SAFETY: a fresh private anonymous mapping, owned by the value (unmapped on drop).
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        match std::ptr::NonNull::new(p.cast::<u8>()) {
            Some(p) if p.as_ptr().cast() != libc::MAP_FAILED && len > 0 => Zeroed::Mapped(p, len),
            _ => Zeroed::Heap(vec![0; len]),
        }
    }
}

impl std::ops::Deref for Zeroed {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            // SAFETY: the mapping holds len bytes, zero-filled by the kernel, for the
            // value's life.
            Zeroed::Mapped(p, len) => unsafe { std::slice::from_raw_parts(p.as_ptr(), *len) },
            Zeroed::Heap(v) => v,
        }
    }
}

impl std::ops::DerefMut for Zeroed {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            // SAFETY: as in deref; &mut self makes the borrow unique.
            Zeroed::Mapped(p, len) => unsafe { std::slice::from_raw_parts_mut(p.as_ptr(), *len) },
            Zeroed::Heap(v) => v,
        }
    }
}

impl Drop for Zeroed {
    fn drop(&mut self) {
        if let Zeroed::Mapped(p, len) = self {
            // SAFETY: the mapping made in new, no longer borrowed.
            unsafe { libc::munmap(p.as_ptr().cast(), *len) };
        }
    }
}

/// The network's input side, read 64 KiB at a time: rustls asks for 4 KiB per
/// `read_tls`, which would otherwise be a system call each. Bytes read ahead (a client's
/// first data behind its handshake, say) stay here for the relay.
pub struct NetIn {
    pub fd: RawFd,
    buf: Zeroed,
    pos: usize,
    len: usize,
}

impl NetIn {
    pub fn new(fd: RawFd) -> NetIn {
        NetIn {
            fd,
            buf: Zeroed::new(64 * 1024),
            pos: 0,
            len: 0,
        }
    }

    /// Bytes read from the descriptor and not yet given to rustls.
    pub fn buffered(&self) -> bool {
        self.pos < self.len
    }
}

impl Read for NetIn {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            let n = Fd(self.fd).read(&mut self.buf)?;
            self.pos = 0;
            self.len = n;
            if n == 0 {
                return Ok(0);
            }
        }
        let n = out.len().min(self.len - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Put a descriptor in non-blocking mode.
pub fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on a descriptor; failure leaves it as it was.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
    }
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let ms = timeout.map_or(-1, |t| i32::try_from(t.as_millis()).unwrap_or(i32::MAX));
    loop {
        // SAFETY: poll over a live array of pollfd.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Why a handshake failed.
#[derive(Debug)]
pub enum HandshakeError {
    /// The peer broke the protocol, or its certificate was refused.
    Tls(rustls::Error),
    /// The network failed or ended first.
    Io(io::Error),
    /// The deadline passed.
    Timeout,
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandshakeError::Tls(e) => write!(f, "{e}"),
            HandshakeError::Io(e) => f.write_str(indicore::errstr(e)),
            HandshakeError::Timeout => f.write_str("timed out"),
        }
    }
}

/// Send what rustls has queued (an alert, say), giving up at the deadline or on error.
fn flush_until(conn: &mut Connection, net_out: RawFd, deadline: Instant) {
    while conn.wants_write() {
        match conn.write_tls(&mut Fd(net_out)) {
            Ok(_) => continue,
            Err(e) if would_block(&e) => {}
            Err(_) => return,
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let mut p = [libc::pollfd {
            fd: net_out,
            events: libc::POLLOUT,
            revents: 0,
        }];
        if left.is_zero() || !matches!(poll(&mut p, Some(left)), Ok(1)) {
            return;
        }
    }
}

/// Run the handshake on the network descriptors (made non-blocking) within `timeout`.
pub fn handshake(
    conn: &mut Connection,
    net: &mut NetIn,
    net_out: RawFd,
    timeout: Duration,
) -> Result<(), HandshakeError> {
    ignore_sigpipe();
    set_nonblocking(net.fd);
    set_nonblocking(net_out);
    let deadline = Instant::now() + timeout;
    loop {
        while conn.wants_write() {
            match conn.write_tls(&mut Fd(net_out)) {
                Ok(_) => {}
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(HandshakeError::Io(e)),
            }
        }
        if !conn.is_handshaking() && !conn.wants_write() {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HandshakeError::Timeout);
        }
        let mut fds = [
            libc::pollfd {
                fd: net.fd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: net_out,
                events: libc::POLLOUT,
                revents: 0,
            },
        ];
        let n = if conn.wants_write() { 2 } else { 1 };
        if !net.buffered() {
            if poll(&mut fds[..n], Some(left)).map_err(HandshakeError::Io)? == 0 {
                return Err(HandshakeError::Timeout);
            }
            if fds[0].revents == 0 {
                continue;
            }
        }
        match conn.read_tls(net) {
            Ok(0) => {
                return Err(HandshakeError::Io(io::Error::from_raw_os_error(
                    libc::ECONNRESET,
                )))
            }
            Ok(_) => {}
            Err(e) if would_block(&e) => continue,
            Err(e) => return Err(HandshakeError::Io(e)),
        }
        if let Err(e) = conn.process_new_packets() {
            // Tell the peer why, as far as the network allows.
            flush_until(conn, net_out, Instant::now() + Duration::from_secs(1));
            return Err(HandshakeError::Tls(e));
        }
    }
}

/// The plaintext side of a relay.
#[derive(Debug, Clone, Copy)]
pub struct Local {
    /// Where plaintext from the peer goes (a program's stdin pipe, or stdout).
    pub to: RawFd,
    /// Where plaintext for the peer comes from (a program's stdout pipe, or stdin).
    pub from: RawFd,
    /// The descriptors are ours alone (pipes we made): they are made non-blocking,
    /// written in large pieces and closed when their direction ends. Otherwise (stdin
    /// and stdout shared with a shell) they keep their mode and stay open.
    pub owned: bool,
}

/// How a relay ended.
#[derive(Debug)]
pub enum End {
    /// Both directions finished.
    Done,
    /// Neither side moved for the idle time.
    Idle,
    /// The peer broke the protocol.
    Tls(rustls::Error),
    /// The network failed.
    Io(io::Error),
}

fn close(fd: RawFd) {
    // SAFETY: closing a descriptor this relay owns; it is not used afterwards.
    unsafe { libc::close(fd) };
}

/// Relay between the TLS connection on `net`/`net_out` and `local` until both
/// directions end, the peer fails, or nothing moves for `idle` (None: no limit).
/// Owned local descriptors are closed by the time it returns.
pub fn relay(
    conn: &mut Connection,
    net: &mut NetIn,
    net_out: RawFd,
    local: Local,
    idle: Option<Duration>,
) -> End {
    ignore_sigpipe();
    let mut r = Relay {
        conn,
        net,
        net_out,
        local,
        to_local: Vec::new(),
        done_local: 0,
        net_eof: false,
        local_from_eof: false,
        local_to_closed: false,
        close_sent: false,
        shut: false,
    };
    let end = r.run(idle);
    if local.owned {
        if !r.local_to_closed {
            close(local.to);
        }
        close(local.from);
    }
    end
}

/// A relay and where it stands between polls.
struct Relay<'a> {
    conn: &'a mut Connection,
    net: &'a mut NetIn,
    net_out: RawFd,
    local: Local,
    /// Plaintext for the local side, and how much of it is written.
    to_local: Vec<u8>,
    done_local: usize,
    net_eof: bool,
    local_from_eof: bool,
    local_to_closed: bool,
    close_sent: bool,
    shut: bool,
}

impl Relay<'_> {
    fn run(&mut self, idle: Option<Duration>) -> End {
        set_nonblocking(self.net.fd);
        set_nonblocking(self.net_out);
        if self.local.owned {
            set_nonblocking(self.local.to);
            set_nonblocking(self.local.from);
        }
        let mut buf = Zeroed::new(CHUNK);
        loop {
            if let Some(end) = self.settle() {
                return end;
            }
            let pending_local = self.to_local.len() - self.done_local;
            let want_net = !self.net_eof && pending_local < LOCAL_BACKLOG;
            let mut fds = self.poll_set(want_net, pending_local);
            // Bytes already read ahead from the network need no waiting.
            let ahead = want_net && self.net.buffered();
            match poll(&mut fds, if ahead { Some(Duration::ZERO) } else { idle }) {
                Ok(0) if !ahead => {
                    indicore::diag::emit(format_args!(
                        "timeout reached without input from network\ntimeout reached without output from child\n"
                    ));
                    self.conn.send_close_notify();
                    flush_until(
                        self.conn,
                        self.net_out,
                        Instant::now() + Duration::from_secs(1),
                    );
                    return End::Idle;
                }
                Ok(_) => {}
                Err(e) => return End::Io(e),
            }
            if let Err(end) = self.transfer(&fds, ahead, &mut buf) {
                return end;
            }
        }
    }

    /// What is due between polls: plaintext rustls holds, ends passed on, the finish.
    /// Some when the relay is over.
    fn settle(&mut self) -> Option<End> {
        if self.done_local >= self.to_local.len() {
            self.to_local.clear();
            self.done_local = 0;
        }
        // Plaintext rustls holds moves to our buffer (or is dropped once the local
        // reader is gone).
        if !self.net_eof {
            match drain(self.conn, &mut self.to_local, self.local_to_closed) {
                Ok(true) => self.net_eof = true,
                Ok(false) => {}
                Err(()) => self.net_eof = true,
            }
        }
        if self.net_eof && self.done_local >= self.to_local.len() && !self.local_to_closed {
            self.close_local_to();
        }
        if self.local_from_eof && !self.close_sent {
            self.conn.send_close_notify();
            self.close_sent = true;
        }
        if self.close_sent && !self.conn.wants_write() && !self.shut {
            self.shut = true;
            // SAFETY: shutdown for writing on the network socket (ENOTSOCK is harmless).
            unsafe { libc::shutdown(self.net_out, libc::SHUT_WR) };
        }
        if self.shut && self.local_to_closed {
            return Some(End::Done);
        }
        // Both sides ended and everything is delivered.
        let delivered = self.done_local >= self.to_local.len();
        if self.net_eof && self.local_from_eof && !self.conn.wants_write() && delivered {
            return Some(End::Done);
        }
        None
    }

    /// The descriptors to wait on: network in, network out, local in, local out.
    fn poll_set(&self, want_net: bool, pending_local: usize) -> [libc::pollfd; 4] {
        let pfd = |fd: RawFd, events: i16| libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        let mut fds = [pfd(-1, 0); 4];
        if want_net {
            fds[0] = pfd(self.net.fd, libc::POLLIN);
        }
        if self.conn.wants_write() {
            fds[1] = pfd(self.net_out, libc::POLLOUT);
        }
        if !self.local_from_eof && !self.close_sent && !self.conn.wants_write() {
            fds[2] = pfd(self.local.from, libc::POLLIN);
        }
        if !self.local_to_closed {
            // With nothing to write, still learn when the reader goes away (POLLERR).
            let events = if pending_local > 0 { libc::POLLOUT } else { 0 };
            if self.local.owned || events != 0 {
                fds[3] = pfd(self.local.to, events);
            }
        }
        fds
    }

    /// One round of reads and writes, as `fds` found them ready.
    fn transfer(
        &mut self,
        fds: &[libc::pollfd; 4],
        ahead: bool,
        buf: &mut [u8],
    ) -> Result<(), End> {
        if ahead || fds[0].revents != 0 {
            self.read_net()?;
        }
        if fds[1].revents != 0 {
            self.write_net()?;
        }
        if fds[2].revents != 0 {
            match Fd(self.local.from).read(buf) {
                Ok(0) => self.local_from_eof = true,
                Ok(n) => {
                    let _ = self.conn.writer().write_all(&buf[..n]);
                    // Try the network at once; poll only when it is full.
                    self.write_net()?;
                }
                Err(e) if would_block(&e) => {}
                Err(_) => self.local_from_eof = true,
            }
        }
        if fds[3].revents != 0 {
            self.write_local(fds[3].revents);
        }
        Ok(())
    }

    /// Records until the socket is empty or enough plaintext waits.
    fn read_net(&mut self) -> Result<(), End> {
        loop {
            match self.conn.read_tls(&mut *self.net) {
                Ok(0) => {
                    self.net_eof = true;
                }
                Ok(_) => {}
                Err(e) if would_block(&e) => break,
                // rustls's plaintext buffer is full: drain it first.
                Err(e) if e.kind() == io::ErrorKind::Other => {}
                Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => self.net_eof = true,
                Err(e) => return Err(End::Io(e)),
            }
            if let Err(e) = self.conn.process_new_packets() {
                flush_until(
                    self.conn,
                    self.net_out,
                    Instant::now() + Duration::from_secs(1),
                );
                return Err(End::Tls(e));
            }
            match drain(self.conn, &mut self.to_local, self.local_to_closed) {
                Ok(true) | Err(()) => self.net_eof = true,
                Ok(false) => {}
            }
            if self.net_eof || self.to_local.len() - self.done_local >= LOCAL_BACKLOG {
                break;
            }
        }
        Ok(())
    }

    /// TLS records out until rustls has none or the socket is full.
    fn write_net(&mut self) -> Result<(), End> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut Fd(self.net_out)) {
                Ok(_) => {}
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(End::Io(e)),
            }
        }
        Ok(())
    }

    /// Plaintext to the local side; a reader that is gone ends this direction.
    fn write_local(&mut self, revents: i16) {
        if self.done_local < self.to_local.len() {
            let end = if self.local.owned {
                self.to_local.len()
            } else {
                (self.done_local + SHARED_WRITE).min(self.to_local.len())
            };
            match Fd(self.local.to).write(&self.to_local[self.done_local..end]) {
                Ok(n) => self.done_local += n,
                Err(e) if would_block(&e) => {}
                Err(_) => {
                    // The reader is gone: drop what it would have read.
                    self.to_local.clear();
                    self.done_local = 0;
                    self.close_local_to();
                }
            }
        } else if revents & (libc::POLLERR | libc::POLLHUP) != 0 {
            self.close_local_to();
        }
    }

    /// The local side gets no more plaintext (its descriptor closed when ours).
    fn close_local_to(&mut self) {
        self.local_to_closed = true;
        if self.local.owned {
            close(self.local.to);
        }
    }
}

/// Move the plaintext rustls holds into `out` (or drop it when `discard`). Ok(true): the
/// peer has ended its side (close_notify); Err: it ended without close_notify.
fn drain(conn: &mut Connection, out: &mut Vec<u8>, discard: bool) -> Result<bool, ()> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match conn.reader().read(&mut chunk) {
            Ok(0) => return Ok(true),
            Ok(n) if !discard => out.extend_from_slice(&chunk[..n]),
            Ok(_) => {}
            Err(e) if would_block(&e) => return Ok(false),
            Err(_) => return Err(()),
        }
    }
}
