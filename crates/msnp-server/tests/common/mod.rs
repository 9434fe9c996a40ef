//! Test helpers: a raw TCP MSNP client built on `msnp::proto`'s codec and commands, and
//! server set-up on loopback.
#![allow(dead_code)]

pub mod engine;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use msnp::proto::auth::md5_login_hash;
use msnp::proto::codec::{Decoder, Direction, Frame, Limits};
use msnp::proto::command::{List, ServerCommand};
use msnp_server::{AccountSpec, Config, Server, ServerHandle};

/// How long a test waits for an expected line before failing.
pub const WAIT: Duration = Duration::from_secs(5);

/// The standard test accounts.
pub fn accounts() -> Vec<AccountSpec> {
    vec![
        AccountSpec::new("alice@example.com", "alicepw").with_display_name("Alice"),
        AccountSpec::new("bob@example.com", "bobpw").with_display_name("Bob"),
        AccountSpec::new("carol@example.com", "carolpw").with_display_name("Carol C."),
        AccountSpec::new("dave@example.com", "davepw").with_display_name("Dave"),
    ]
}

/// The password of a standard test account.
pub fn password(account: &str) -> String {
    format!("{}pw", account.split('@').next().unwrap_or(""))
}

/// A server on free loopback ports with the standard accounts.
pub fn server() -> ServerHandle {
    server_with(|_| {})
}

/// A server with the standard accounts and a tweaked configuration.
pub fn server_with(tweak: impl FnOnce(&mut Config)) -> ServerHandle {
    let mut cfg = Config::loopback(accounts());
    tweak(&mut cfg);
    Server::start(cfg).expect("server starts")
}

/// One raw client connection.
pub struct Client {
    pub stream: TcpStream,
    decoder: Decoder,
    trid: u32,
    pub account: String,
}

impl Client {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).ok();
        Client {
            stream,
            decoder: Decoder::new(Direction::FromServer, Limits::CLIENT),
            trid: 0,
            account: String::new(),
        }
    }

    /// The next TrID.
    pub fn tr(&mut self) -> u32 {
        self.trid += 1;
        self.trid
    }

    /// Sends raw bytes.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a line (CR LF appended).
    pub fn line(&mut self, line: &str) {
        self.raw(format!("{line}\r\n").as_bytes());
    }

    /// Sends a command with a fresh TrID: `cmd("ADD", "FL bob@… bob@… 0")` → `ADD n FL …`.
    pub fn cmd(&mut self, code: &str, args: &str) -> u32 {
        let t = self.tr();
        if args.is_empty() {
            self.line(&format!("{code} {t}"));
        } else {
            self.line(&format!("{code} {t} {args}"));
        }
        t
    }

    /// Sends a payload command: `MSG t A len` + payload.
    pub fn msg(&mut self, ack: &str, payload: &[u8]) -> u32 {
        let t = self.tr();
        let mut b = format!("MSG {t} {ack} {}\r\n", payload.len()).into_bytes();
        b.extend_from_slice(payload);
        self.raw(&b);
        t
    }

    /// The next frame, or `None` when the server closed the connection.
    pub fn next_frame(&mut self, timeout: Duration) -> Option<Frame> {
        let end = Instant::now() + timeout;
        let mut buf = [0u8; 8192];
        loop {
            if let Some(f) = self
                .decoder
                .next_frame()
                .expect("valid framing from the server")
            {
                return Some(f);
            }
            let left = end.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "{}: timed out waiting for a line",
                self.account
            );
            self.stream.set_read_timeout(Some(left)).ok();
            match self.stream.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => self.decoder.feed(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    panic!("{}: timed out waiting for a line", self.account)
                }
                Err(_) => return None,
            }
        }
    }

    /// The next line as text (payload ignored); panics on close.
    pub fn next_line(&mut self) -> String {
        match self.next_frame(WAIT) {
            Some(f) => f.line,
            None => panic!("{}: connection closed while waiting", self.account),
        }
    }

    /// The next command; panics on close.
    pub fn next(&mut self) -> ServerCommand {
        let f = self
            .next_frame(WAIT)
            .unwrap_or_else(|| panic!("{}: connection closed while waiting", self.account));
        ServerCommand::parse(&f).expect("parsable server line")
    }

    /// Asserts that the next line is exactly `line`.
    pub fn expect(&mut self, line: &str) {
        let got = self.next_line();
        assert_eq!(got, line, "{}: unexpected line", self.account);
    }

    /// Reads lines until one satisfies `pred`; returns it (the skipped ones are lost).
    pub fn until(&mut self, mut pred: impl FnMut(&str) -> bool) -> String {
        loop {
            let l = self.next_line();
            if pred(&l) {
                return l;
            }
        }
    }

    /// Reads lines until `line` arrives; returns the lines before it.
    pub fn until_line(&mut self, line: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let l = self.next_line();
            if l == line {
                return seen;
            }
            seen.push(l);
        }
    }

    /// Asserts that the server closes the connection; returns the lines received before.
    pub fn expect_closed(&mut self) -> Vec<String> {
        let mut seen = Vec::new();
        while let Some(f) = self.next_frame(WAIT) {
            seen.push(f.line);
        }
        seen
    }

    /// NS round trip: sends `PNG` and returns every line received before the `QNG`. Because the
    /// server handles commands in order, nothing caused earlier can arrive after it.
    pub fn sync(&mut self) -> Vec<String> {
        self.line("PNG");
        self.until_line("QNG")
    }

    /// SB round trip: `CAL` oneself (always `215`) and return the lines before the error.
    pub fn sb_sync(&mut self) -> Vec<String> {
        let me = self.account.clone();
        let t = self.cmd("CAL", &me);
        self.until_line(&format!("215 {t}"))
    }
}

/// Signs in with MSNP7 MD5 up to and including the profile message.
pub fn sign_in(addr: SocketAddr, account: &str, password: &str) -> Client {
    let mut c = Client::connect(addr);
    c.account = account.to_string();
    let t = c.cmd("VER", "MSNP7 CVR0");
    c.expect(&format!("VER {t} MSNP7 CVR0"));
    let t = c.cmd("INF", "");
    c.expect(&format!("INF {t} MD5"));
    let t = c.cmd("USR", &format!("MD5 I {account}"));
    let salt = match c.next() {
        ServerCommand::UsrMd5Salt { trid, salt } if trid == t => salt,
        other => panic!("expected a salt, got {other:?}"),
    };
    let t = c.cmd("USR", &format!("MD5 S {}", md5_login_hash(&salt, password)));
    match c.next() {
        ServerCommand::UsrOk {
            trid, account: a, ..
        } if trid == t => assert_eq!(a, account),
        other => panic!("expected USR OK, got {other:?}"),
    }
    match c.next() {
        ServerCommand::Msg {
            sender, payload, ..
        } => {
            assert_eq!(sender, "Hotmail");
            assert!(String::from_utf8_lossy(&payload).contains("text/x-msmsgsprofile"));
        }
        other => panic!("expected the profile, got {other:?}"),
    }
    c
}

/// Sends `SYN ver` and collects the reply up to the end of the RL (or the lone `SYN`).
pub fn syn(c: &mut Client, version: u32) -> Vec<ServerCommand> {
    let t = c.cmd("SYN", &version.to_string());
    let mut out = Vec::new();
    let first = c.next();
    let server_version = match &first {
        ServerCommand::Syn { trid, version } if *trid == t => *version,
        other => panic!("expected SYN, got {other:?}"),
    };
    out.push(first);
    if server_version == version {
        return out;
    }
    loop {
        let cmd = c.next();
        let done = matches!(
            &cmd,
            ServerCommand::Lst { list: List::Reverse, index, count, .. } if index == count
        );
        out.push(cmd);
        if done {
            return out;
        }
    }
}

/// Signs in, syncs from version 0 and goes online (`CHG NLN`); the ILN lines are consumed.
pub fn online(addr: SocketAddr, account: &str) -> Client {
    let mut c = sign_in(addr, account, &password(account));
    syn(&mut c, 0);
    let t = c.cmd("CHG", "NLN");
    c.expect(&format!("CHG {t} NLN"));
    c.sync();
    c
}

/// Makes `a` and `b` (both online) add each other to FL and AL; drains the effects.
pub fn befriend(a: &mut Client, b: &mut Client) {
    let (an, bn) = (a.account.clone(), b.account.clone());
    a.cmd("ADD", &format!("FL {bn} {bn} 0"));
    a.cmd("ADD", &format!("AL {bn} {bn}"));
    a.sync();
    b.cmd("ADD", &format!("FL {an} {an} 0"));
    b.cmd("ADD", &format!("AL {an} {an}"));
    b.sync();
    a.sync();
}

/// Opens a switchboard from `a` (via XFR SB) and authenticates.
pub fn open_sb(a: &mut Client) -> Client {
    let t = a.cmd("XFR", "SB");
    let (addr, cookie) = match a.next() {
        ServerCommand::XfrSb {
            trid,
            address,
            cookie,
        } if trid == t => (address, cookie),
        other => panic!("expected XFR SB, got {other:?}"),
    };
    let mut sb = Client::connect(addr.parse().expect("address"));
    sb.account = a.account.clone();
    let t = sb.cmd("USR", &format!("{} {cookie}", a.account));
    assert!(sb
        .next_line()
        .starts_with(&format!("USR {t} OK {}", a.account)));
    sb
}

/// `a_sb` calls `b` (online on `b_ns`); `b` answers. Returns b's switchboard connection and the
/// IRO lines b received.
pub fn call(a_sb: &mut Client, b_ns: &mut Client) -> (Client, Vec<String>) {
    let callee = b_ns.account.clone();
    let t = a_sb.cmd("CAL", &callee);
    let ringing = a_sb.next_line();
    assert!(
        ringing.starts_with(&format!("CAL {t} RINGING ")),
        "{ringing}"
    );
    let (sid, addr, cookie) = match b_ns.next() {
        ServerCommand::Rng {
            session_id,
            address,
            cookie,
            ..
        } => (session_id, address, cookie),
        other => panic!("expected RNG, got {other:?}"),
    };
    assert!(ringing.ends_with(&sid));
    let mut sb = Client::connect(addr.parse().expect("address"));
    sb.account = callee.clone();
    let t = sb.cmd("ANS", &format!("{callee} {cookie} {sid}"));
    let iro = sb.until_line(&format!("ANS {t} OK"));
    (sb, iro)
}
