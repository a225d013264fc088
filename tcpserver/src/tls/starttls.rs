//! STARTTLS emulation for a program that has none (dotls `-s`, docs/ucspi-tcp.md#starttls-emulation, docs/decisions.md#u14):
//! while the session is plain, client commands and program replies pass through this
//! filter, which advertises STARTTLS, answers the STARTTLS command itself and then hands
//! the connection to TLS. The program never sees STARTTLS.
//!
//! Replies are matched to commands in order, so pipelined commands are handled as they
//! arrive: every complete command line is processed at once, and STARTTLS waits only
//! until the replies to the commands before it are out (RFC 3207, 2595, 3501). What the
//! client sent after STARTTLS in the same packet is discarded (RFC 3207 §4, the
//! command-injection attack).
//!
//! smtp: `EHLO` replies get `250-STARTTLS` before their last line; after `DATA` is
//! answered 354 the message passes untouched to its end-of-data line.
//! pop3: `CAPA` lists get `STLS` (a program without CAPA gets a list of its own);
//! multi-line replies (RETR, TOP, LIST, UIDL) are followed to their end.
//! imap: `* CAPABILITY` lines and `[CAPABILITY ...]` codes get `STARTTLS`; `tag STARTTLS`
//! (and the reference client's untagged `STARTTLS`) start TLS; literals are followed in
//! both directions.
//! smtp and pop3: `QUIT` reaches the program as `quit` (the reference writes its own).

use std::collections::VecDeque;

/// The protocol being emulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Smtp,
    Pop3,
    Imap,
}

impl Protocol {
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_lowercase().as_str() {
            "smtp" => Some(Protocol::Smtp),
            "pop3" => Some(Protocol::Pop3),
            "imap" => Some(Protocol::Imap),
            _ => None,
        }
    }
}

/// What a pending reply needs done to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Pass through (SMTP: one reply; POP3: one line).
    Plain,
    /// SMTP EHLO: add STARTTLS.
    Ehlo,
    /// SMTP DATA: 354 starts the message.
    Data,
    /// POP3: multi-line when +OK.
    Multi,
    /// POP3 CAPA: add STLS.
    Capa,
}

/// The filter's state. Feed it what each side sent; take what each side is owed.
#[derive(Debug)]
pub struct Emulator {
    proto: Protocol,
    /// Client bytes not yet processed, and program bytes not yet processed.
    from_client: Vec<u8>,
    from_program: Vec<u8>,
    pub to_client: Vec<u8>,
    pub to_program: Vec<u8>,
    expect: VecDeque<Expect>,
    /// SMTP: the client is sending a message (after 354).
    message: bool,
    /// SMTP: waiting for the DATA reply; the client's next lines are not commands yet.
    data_pending: bool,
    /// POP3: inside a multi-line reply; reply being collected for CAPA.
    multi: bool,
    capa: Option<Vec<Vec<u8>>>,
    /// IMAP: commands without their tagged reply; literal bytes still to pass.
    outstanding: usize,
    client_literal: usize,
    program_literal: usize,
    client_continues: bool,
    /// IMAP: AUTHENTICATE or IDLE running (its tag): client lines are not commands.
    exchange: Option<Vec<u8>>,
    /// The STARTTLS reply, once TLS is to start.
    pub start: Option<Vec<u8>>,
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let mut l = line;
    while let [rest @ .., b'\r' | b'\n'] = l {
        l = rest;
    }
    l
}

fn word(line: &[u8], n: usize) -> Vec<u8> {
    trim_eol(line)
        .split(|&b| b == b' ')
        .filter(|w| !w.is_empty())
        .nth(n)
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// `{n}` or `{n+}` at the end of a line: the literal's size.
fn literal(line: &[u8]) -> Option<usize> {
    let l = trim_eol(line);
    let l = l.strip_suffix(b"}")?;
    let l = l.strip_suffix(b"+").unwrap_or(l);
    let open = l.iter().rposition(|&b| b == b'{')?;
    let digits = &l[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits.len() > 9 {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Take one line (through `\n`) off the front of `buf`.
fn take_line(buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let end = buf.iter().position(|&b| b == b'\n')?;
    Some(buf.drain(..=end).collect())
}

fn has_token(text: &[u8], token: &[u8]) -> bool {
    text.split(|&b| b == b' ' || b == b']' || b == b'[')
        .any(|w| w.eq_ignore_ascii_case(token))
}

impl Emulator {
    pub fn new(proto: Protocol) -> Emulator {
        let mut expect = VecDeque::new();
        if proto != Protocol::Imap {
            expect.push_back(Expect::Plain); // the greeting
        }
        Emulator {
            proto,
            from_client: Vec::new(),
            from_program: Vec::new(),
            to_client: Vec::new(),
            to_program: Vec::new(),
            expect,
            message: false,
            data_pending: false,
            multi: false,
            capa: None,
            outstanding: 0,
            client_literal: 0,
            program_literal: 0,
            client_continues: false,
            exchange: None,
            start: None,
        }
    }

    /// Bytes from the client.
    pub fn client(&mut self, data: &[u8]) {
        if self.start.is_none() {
            self.from_client.extend_from_slice(data);
            self.run();
        }
    }

    /// Bytes from the program.
    pub fn program(&mut self, data: &[u8]) {
        self.from_program.extend_from_slice(data);
        self.run();
    }

    /// The program ended its output: pass on what is left.
    pub fn program_eof(&mut self) {
        let rest = std::mem::take(&mut self.from_program);
        self.to_client.extend_from_slice(&rest);
    }

    /// Client bytes that will still go to the program once the replies they wait for
    /// arrive (a command line held behind DATA or STARTTLS, literal bytes).
    pub fn client_pending(&self) -> bool {
        self.start.is_none()
            && (self.from_client.contains(&b'\n')
                || (self.client_literal > 0 && !self.from_client.is_empty()))
    }

    /// Program bytes not yet given to the client (they follow in TLS).
    pub fn take_program_rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.from_program)
    }

    fn run(&mut self) {
        loop {
            let a = self.program_step();
            let b = self.start.is_none() && self.client_step();
            if !a && !b {
                return;
            }
        }
    }

    // ---- the program's side ------------------------------------------------------

    fn program_step(&mut self) -> bool {
        if self.program_literal > 0 {
            let n = self.program_literal.min(self.from_program.len());
            if n == 0 {
                return false;
            }
            self.to_client.extend(self.from_program.drain(..n));
            self.program_literal -= n;
            return true;
        }
        match self.proto {
            Protocol::Smtp => self.smtp_reply(),
            Protocol::Pop3 => match take_line(&mut self.from_program) {
                Some(line) => {
                    self.pop3_line(line);
                    true
                }
                None => false,
            },
            Protocol::Imap => match take_line(&mut self.from_program) {
                Some(line) => {
                    self.imap_line(line);
                    true
                }
                None => false,
            },
        }
    }

    /// A whole SMTP reply (lines until one without `-` after the code).
    fn smtp_reply(&mut self) -> bool {
        let mut end = 0;
        let mut lines = Vec::new();
        loop {
            let Some(nl) = self.from_program[end..].iter().position(|&b| b == b'\n') else {
                return false;
            };
            let line = &self.from_program[end..end + nl + 1];
            lines.push(line.to_vec());
            end += nl + 1;
            if line.get(3) != Some(&b'-') {
                break;
            }
        }
        self.from_program.drain(..end);
        let kind = self.expect.pop_front().unwrap_or(Expect::Plain);
        let ok = |code: &[u8]| lines[0].starts_with(code);
        match kind {
            Expect::Ehlo if ok(b"250") => {
                let advertised = lines.iter().any(|l| {
                    let text = trim_eol(l.get(4..).unwrap_or_default());
                    text.eq_ignore_ascii_case(b"STARTTLS")
                });
                if !advertised {
                    let last = lines.len() - 1;
                    if last == 0 {
                        // A one-line 250 becomes 250-first, 250 STARTTLS.
                        let mut first = lines[0].clone();
                        first[3] = b'-';
                        lines = vec![first, b"250 STARTTLS\r\n".to_vec()];
                    } else {
                        lines.insert(last, b"250-STARTTLS\r\n".to_vec());
                    }
                }
            }
            Expect::Data => {
                self.data_pending = false;
                self.message = ok(b"354");
            }
            _ => {}
        }
        for l in lines {
            self.to_client.extend_from_slice(&l);
        }
        true
    }

    fn pop3_line(&mut self, line: Vec<u8>) {
        if let Some(capa) = &mut self.capa {
            if trim_eol(&line) == b"." {
                let mut list = std::mem::take(capa);
                self.capa = None;
                if !list.iter().any(|l| word(l, 0) == b"STLS") {
                    list.push(b"STLS\r\n".to_vec());
                }
                for l in list {
                    self.to_client.extend_from_slice(&l);
                }
                self.to_client.extend_from_slice(b".\r\n");
            } else {
                capa.push(line);
            }
            return;
        }
        if self.multi {
            if trim_eol(&line) == b"." {
                self.multi = false;
            }
            self.to_client.extend_from_slice(&line);
            return;
        }
        let ok = line.starts_with(b"+OK");
        match self.expect.pop_front().unwrap_or(Expect::Plain) {
            Expect::Multi if ok => self.multi = true,
            Expect::Capa if ok => {
                self.to_client.extend_from_slice(&line);
                self.capa = Some(Vec::new());
                return;
            }
            Expect::Capa => {
                self.to_client
                    .extend_from_slice(b"+OK Capability list follows\r\nSTLS\r\n.\r\n");
                return;
            }
            _ => {}
        }
        self.to_client.extend_from_slice(&line);
    }

    fn imap_line(&mut self, mut line: Vec<u8>) {
        if let Some(n) = literal(&line) {
            self.program_literal = n;
        }
        if line.starts_with(b"* ") {
            // Advertise STARTTLS wherever capabilities are listed.
            if word(&line, 1) == b"CAPABILITY" && !has_token(&line, b"STARTTLS") {
                let at = trim_eol(&line).len();
                line.splice(at..at, b" STARTTLS".iter().copied());
            } else if let Some(open) = find(&line, b"[CAPABILITY ") {
                if let Some(close) = line[open..].iter().position(|&b| b == b']') {
                    let code = &line[open..open + close];
                    if !has_token(code, b"STARTTLS") {
                        let at = open + close;
                        line.splice(at..at, b" STARTTLS".iter().copied());
                    }
                }
            }
        } else if !line.starts_with(b"+") {
            // A tagged reply completes a command.
            self.outstanding = self.outstanding.saturating_sub(1);
            if self
                .exchange
                .as_deref()
                .is_some_and(|t| word(&line, 0) == t)
            {
                self.exchange = None;
            }
        }
        self.to_client.extend_from_slice(&line);
    }

    // ---- the client's side -------------------------------------------------------

    fn client_step(&mut self) -> bool {
        if self.client_literal > 0 {
            let n = self.client_literal.min(self.from_client.len());
            if n == 0 {
                return false;
            }
            self.to_program.extend(self.from_client.drain(..n));
            self.client_literal -= n;
            return true;
        }
        if self.data_pending {
            return false; // the client waits for 354 too (RFC 2920)
        }
        let Some(end) = self.from_client.iter().position(|&b| b == b'\n') else {
            return false;
        };
        let line = self.from_client[..=end].to_vec();
        let handled = match self.proto {
            Protocol::Smtp => self.smtp_command(&line),
            Protocol::Pop3 => self.pop3_command(&line),
            Protocol::Imap => self.imap_command(&line),
        };
        if !handled {
            return false; // STARTTLS waits for earlier replies
        }
        if self.start.is_some() {
            self.from_client.clear(); // nothing sent after STARTTLS is trusted
        } else {
            self.from_client.drain(..=end);
        }
        true
    }

    fn ready_for_tls(&self) -> bool {
        self.expect.is_empty() && !self.multi && self.capa.is_none() && self.outstanding == 0
    }

    fn forward(&mut self, line: &[u8], expect: Option<Expect>) {
        self.to_program.extend_from_slice(line);
        if let Some(e) = expect {
            self.expect.push_back(e);
        }
    }

    fn smtp_command(&mut self, line: &[u8]) -> bool {
        if self.message {
            if trim_eol(line) == b"." {
                self.message = false;
                self.forward(line, Some(Expect::Plain));
            } else {
                self.forward(line, None);
            }
            return true;
        }
        let verb = word(line, 0);
        match verb.as_slice() {
            b"STARTTLS" if word(line, 1).is_empty() => {
                if !self.ready_for_tls() {
                    return false;
                }
                self.start = Some(b"220 ready for tls\r\n".to_vec());
            }
            b"EHLO" => self.forward(line, Some(Expect::Ehlo)),
            // The reference sends its own `quit`, whatever the client's line said.
            b"QUIT" => self.forward(b"quit\r\n", Some(Expect::Plain)),
            b"DATA" => {
                self.data_pending = true;
                self.forward(line, Some(Expect::Data));
            }
            _ => self.forward(line, Some(Expect::Plain)),
        }
        true
    }

    fn pop3_command(&mut self, line: &[u8]) -> bool {
        let verb = word(line, 0);
        let has_arg = !word(line, 1).is_empty();
        match verb.as_slice() {
            b"STLS" => {
                if !self.ready_for_tls() {
                    return false;
                }
                self.start = Some(b"+OK Begin SSL/TLS negotiation now.\r\n".to_vec());
            }
            b"CAPA" => self.forward(line, Some(Expect::Capa)),
            b"QUIT" => self.forward(b"quit\r\n", Some(Expect::Plain)),
            b"RETR" | b"TOP" => self.forward(line, Some(Expect::Multi)),
            b"LIST" | b"UIDL" if !has_arg => self.forward(line, Some(Expect::Multi)),
            _ => self.forward(line, Some(Expect::Plain)),
        }
        true
    }

    fn imap_command(&mut self, line: &[u8]) -> bool {
        let continues = self.client_continues;
        self.client_continues = false;
        if let Some(n) = literal(line) {
            self.client_literal = n;
            self.client_continues = true;
        }
        if continues || self.exchange.is_some() {
            self.forward(line, None);
            return true;
        }
        let tag = word(line, 0);
        let verb = word(line, 1);
        if trim_eol(line).eq_ignore_ascii_case(b"STARTTLS") || verb == b"STARTTLS" {
            if !self.ready_for_tls() {
                self.client_continues = continues;
                return false;
            }
            let tag = if verb == b"STARTTLS" {
                trim_eol(line)
                    .split(|&b| b == b' ')
                    .next()
                    .unwrap_or_default()
                    .to_vec()
            } else {
                b"STARTTLS".to_vec()
            };
            let mut reply = tag;
            reply.extend_from_slice(b" OK Begin TLS negotiation now\r\n");
            self.start = Some(reply);
            return true;
        }
        if verb == b"AUTHENTICATE" || verb == b"IDLE" {
            self.exchange = Some(tag);
        }
        self.outstanding += 1;
        self.forward(line, None);
        true
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(v: &mut Vec<u8>) -> String {
        String::from_utf8(std::mem::take(v)).unwrap()
    }

    #[test]
    fn smtp_ehlo_pipelining_and_starttls() {
        let mut e = Emulator::new(Protocol::Smtp);
        e.program(b"220 mx ESMTP\r\n");
        assert_eq!(take(&mut e.to_client), "220 mx ESMTP\r\n");
        // Two commands in one packet: both reach the program at once.
        e.client(b"EHLO me\r\nNOOP\r\n");
        assert_eq!(take(&mut e.to_program), "EHLO me\r\nNOOP\r\n");
        e.program(b"250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 ok\r\n");
        assert_eq!(
            take(&mut e.to_client),
            "250-mx\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n250 ok\r\n"
        );
        // STARTTLS waits for the reply before it, then drops what follows it.
        e.client(b"NOOP\r\nSTARTTLS\r\nMAIL FROM:<evil>\r\n");
        assert_eq!(take(&mut e.to_program), "NOOP\r\n");
        assert!(e.start.is_none());
        e.program(b"250 ok\r\n");
        assert_eq!(e.start.as_deref(), Some(&b"220 ready for tls\r\n"[..]));
        assert_eq!(take(&mut e.to_program), "");
    }

    #[test]
    fn smtp_one_line_ehlo_and_data() {
        let mut e2 = Emulator::new(Protocol::Smtp);
        e2.program(b"220 x\r\n");
        e2.client(b"EHLO a\r\n");
        e2.program(b"250 x\r\n");
        assert_eq!(
            take(&mut e2.to_client),
            "220 x\r\n250-x\r\n250 STARTTLS\r\n"
        );
        // A message body line STARTTLS is data, not a command.
        e2.client(b"DATA\r\nSTARTTLS\r\n.\r\n");
        assert_eq!(take(&mut e2.to_program), "EHLO a\r\nDATA\r\n");
        e2.program(b"354 go\r\n");
        assert_eq!(take(&mut e2.to_program), "STARTTLS\r\n.\r\n");
        assert!(e2.start.is_none());
    }

    #[test]
    fn pop3_capa_and_stls() {
        let mut e = Emulator::new(Protocol::Pop3);
        e.program(b"+OK hi\r\n");
        e.client(b"CAPA\r\n");
        e.program(b"+OK caps\r\nUSER\r\nTOP\r\n.\r\n");
        assert_eq!(
            take(&mut e.to_client),
            "+OK hi\r\n+OK caps\r\nUSER\r\nTOP\r\nSTLS\r\n.\r\n"
        );
        e.client(b"STLS\r\n");
        assert_eq!(
            e.start.as_deref(),
            Some(&b"+OK Begin SSL/TLS negotiation now.\r\n"[..])
        );
        // Without CAPA in the program.
        let mut e = Emulator::new(Protocol::Pop3);
        e.program(b"+OK hi\r\n");
        e.client(b"CAPA\r\n");
        e.program(b"-ERR unimplemented\r\n");
        assert_eq!(
            take(&mut e.to_client),
            "+OK hi\r\n+OK Capability list follows\r\nSTLS\r\n.\r\n"
        );
    }

    #[test]
    fn imap_capability_literals_and_starttls() {
        let mut e = Emulator::new(Protocol::Imap);
        e.program(b"* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n");
        assert_eq!(
            take(&mut e.to_client),
            "* OK [CAPABILITY IMAP4rev1 IDLE STARTTLS] ready\r\n"
        );
        e.client(b"a1 CAPABILITY\r\na2 NOOP {3}\r\nabc\r\na3 STARTTLS\r\nx\r\n");
        assert_eq!(
            take(&mut e.to_program),
            "a1 CAPABILITY\r\na2 NOOP {3}\r\nabc\r\n"
        );
        e.program(b"* CAPABILITY IMAP4rev1\r\na1 OK done\r\n");
        assert!(e.start.is_none());
        e.program(b"a2 OK done\r\n");
        assert_eq!(
            take(&mut e.to_client),
            "* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\na2 OK done\r\n"
        );
        assert_eq!(
            e.start.as_deref(),
            Some(&b"a3 OK Begin TLS negotiation now\r\n"[..])
        );
        // The reference client's untagged form.
        let mut e = Emulator::new(Protocol::Imap);
        e.client(b"STARTTLS\r\n");
        assert_eq!(
            e.start.as_deref(),
            Some(&b"STARTTLS OK Begin TLS negotiation now\r\n"[..])
        );
    }

    /// Lines pipelined behind DATA are still owed to the program after the client's end.
    #[test]
    fn lines_held_behind_data_are_pending() {
        let mut e = Emulator::new(Protocol::Smtp);
        e.program(b"220 x\r\n");
        e.client(b"DATA\r\nbody\r\n.\r\npartial");
        assert_eq!(take(&mut e.to_program), "DATA\r\n");
        assert!(e.client_pending());
        e.program(b"354 go\r\n");
        assert_eq!(take(&mut e.to_program), "body\r\n.\r\n");
        assert!(!e.client_pending(), "a partial last line is not owed");
    }

    mod props {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        const CLIENT_WORDS: &[&[u8]] = &[
            b"EHLO x\r\n",
            b"HELO x\r\n",
            b"STARTTLS\r\n",
            b"starttls\n",
            b"DATA\r\n",
            b".\r\n",
            b"CAPA\r\n",
            b"STLS\r\n",
            b"RETR 1\r\n",
            b"LIST\r\n",
            b"a1 STARTTLS\r\n",
            b"a2 AUTHENTICATE PLAIN\r\n",
            b"a3 IDLE\r\n",
            b"a4 APPEND x {5}\r\n",
            b"x {4294967295}\r\n",
            b"DONE\r\n",
            b"\r\n",
        ];

        fn client_chunk() -> impl Strategy<Value = Vec<u8>> {
            let words = proptest::sample::select(CLIENT_WORDS);
            prop_oneof![
                vec(words, 1..4).prop_map(|w| w.concat()),
                vec(any::<u8>(), 0..40),
            ]
        }

        const PROGRAM_WORDS: &[&[u8]] = &[
            b"220 mx ESMTP\r\n",
            b"250-mx\r\n",
            b"250 ok\r\n",
            b"250\n",
            b"25\n",
            b"354 go\r\n",
            b"+OK\r\n",
            b"-ERR\r\n",
            b".\r\n",
            b"* CAPABILITY IMAP4rev1\r\n",
            b"* OK [CAPABILITY IMAP4rev1] hi\r\n",
            b"* OK [CAPABILITY IMAP4rev1\r\n",
            b"a1 OK done\r\n",
            b"* 1 FETCH {3}\r\n",
            b"+ \r\n",
        ];

        fn program_chunk() -> impl Strategy<Value = Vec<u8>> {
            let words = proptest::sample::select(PROGRAM_WORDS);
            prop_oneof![
                vec(words, 1..4).prop_map(|w| w.concat()),
                vec(any::<u8>(), 0..40),
            ]
        }

        proptest! {
            /// Any interleaving of client commands and program replies, well-formed or
            /// not, never panics; the program receives only bytes the client sent, in
            /// order; nothing reaches the program once TLS is to start.
            #[test]
            fn any_conversation(
                proto in prop_oneof![Just(Protocol::Smtp), Just(Protocol::Pop3), Just(Protocol::Imap)],
                steps in vec((any::<bool>(), client_chunk(), program_chunk()), 0..24),
            ) {
                let mut e = Emulator::new(proto);
                let mut sent: Vec<u8> = Vec::new();
                let mut to_program: Vec<u8> = Vec::new();
                for (from_client, c, p) in steps {
                    let before = e.start.is_some();
                    if from_client {
                        e.client(&c);
                        sent.extend_from_slice(&c);
                    } else {
                        e.program(&p);
                    }
                    let fresh = std::mem::take(&mut e.to_program);
                    prop_assert!(!before || fresh.is_empty(), "bytes to the program after STARTTLS");
                    to_program.extend_from_slice(&fresh);
                    e.to_client.clear();
                }
                e.program_eof();
                // What the program got is the client's bytes with intercepted command
                // lines taken out: a subsequence, in order.
                let mut it = sent.iter();
                for b in &to_program {
                    prop_assert!(it.any(|s| s == b), "the program got bytes the client never sent");
                }
            }
        }
    }
}
