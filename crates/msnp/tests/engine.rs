//! The engine (`msnp::client`) against a scripted fake server on 127.0.0.1: sign-in, a
//! switchboard chat with ACKs, reconnection after the server drops the socket, and a message
//! re-sent through a new switchboard after the first one closed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use msnp::client::{self, ClientConfig, Event, Request};
use msnp::proto::auth::md5_login_hash;
use msnp::proto::codec::{Decoder, Direction, Frame, Limits};
use msnp::proto::command::{AckMode, ClientCommand, Status};
use msnp::proto::ns::{NsEvent, NsRequest};
use msnp::proto::payload::{self, Payload};

const SALT: &str = "1056561624.17795";
const PASSWORD: &str = "abcdefg1234567";

/// What a scripted switchboard connection does with a MSG.
#[derive(Clone, Copy)]
enum SbBehaviour {
    /// ACK every MSG and echo it back as the contact.
    AckAndEcho,
    /// Close the connection when the first MSG arrives (no ACK).
    CloseOnMsg,
}

/// Lines the fake servers received, for assertions.
#[derive(Debug)]
enum Seen {
    Ns(String),
    SbMsg(Vec<u8>),
}

struct Conn {
    stream: TcpStream,
    decoder: Decoder,
}

impl Conn {
    fn new(stream: TcpStream) -> Self {
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Conn {
            stream,
            decoder: Decoder::new(Direction::FromClient, Limits::SB_SERVER),
        }
    }

    fn next(&mut self) -> Option<Frame> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(f) = self.decoder.next_frame().ok()? {
                return Some(f);
            }
            let n = self.stream.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            self.decoder.feed(&buf[..n]);
        }
    }

    fn send(&mut self, line: &str) {
        let _ = self.stream.write_all(format!("{line}\r\n").as_bytes());
    }
}

/// Serves one notification connection; returns when the client leaves or when `drop_after_chg`
/// makes the server cut the connection right after the first CHG.
fn serve_ns(mut c: Conn, sb_port: u16, drop_after_chg: bool, seen: &mpsc::Sender<Seen>) {
    let mut cookie = 0;
    while let Some(frame) = c.next() {
        let _ = seen.send(Seen::Ns(frame.line.clone()));
        let Ok(cmd) = ClientCommand::parse(&frame) else {
            continue;
        };
        match cmd {
            ClientCommand::Ver { trid, .. } => c.send(&format!("VER {trid} MSNP7")),
            ClientCommand::Inf { trid } => c.send(&format!("INF {trid} MD5")),
            ClientCommand::UsrMd5Initial { trid, .. } => {
                c.send(&format!("USR {trid} MD5 S {SALT}"))
            }
            ClientCommand::UsrMd5Response { trid, hash } => {
                if hash == md5_login_hash(SALT, PASSWORD) {
                    c.send(&format!("USR {trid} OK alice@example.com Alice 1"));
                } else {
                    c.send(&format!("911 {trid}"));
                    return;
                }
            }
            ClientCommand::Syn { trid, .. } => {
                for line in [
                    format!("SYN {trid} 3"),
                    format!("GTC {trid} 3 A"),
                    format!("BLP {trid} 3 AL"),
                    format!("LSG {trid} 3 1 1 0 Other%20Contacts 0"),
                    format!("LST {trid} FL 3 1 1 bob@example.com Bob 0"),
                    format!("LST {trid} AL 3 1 1 bob@example.com Bob"),
                    format!("LST {trid} BL 3 0 0"),
                    format!("LST {trid} RL 3 1 1 bob@example.com Bob"),
                ] {
                    c.send(&line);
                }
            }
            ClientCommand::Chg { trid, status, .. } => {
                c.send(&format!("CHG {trid} {status}"));
                c.send(&format!("ILN {trid} NLN bob@example.com Bob"));
                if drop_after_chg {
                    return;
                }
            }
            ClientCommand::XfrSb { trid } => {
                cookie += 1;
                c.send(&format!(
                    "XFR {trid} SB 127.0.0.1:{sb_port} CKI cookie{cookie}"
                ));
            }
            ClientCommand::Png => c.send("QNG"),
            ClientCommand::Out => return,
            _ => {}
        }
    }
}

fn serve_sb(mut c: Conn, behaviour: SbBehaviour, seen: &mpsc::Sender<Seen>) {
    while let Some(frame) = c.next() {
        let Ok(cmd) = ClientCommand::parse(&frame) else {
            continue;
        };
        match cmd {
            ClientCommand::UsrSb { trid, account, .. } => {
                c.send(&format!("USR {trid} OK {account} Alice"))
            }
            ClientCommand::Cal { trid, account } => {
                c.send(&format!("CAL {trid} RINGING 11752013"));
                c.send(&format!("JOI {account} Bob"));
            }
            ClientCommand::Msg { trid, ack, payload } => {
                let _ = seen.send(Seen::SbMsg(payload.clone()));
                if let SbBehaviour::CloseOnMsg = behaviour {
                    return;
                }
                if ack == AckMode::Acknowledged {
                    c.send(&format!("ACK {trid}"));
                }
                let echo = payload::text_message_plain("echo");
                let _ = c
                    .stream
                    .write_all(format!("MSG bob@example.com Bob {}\r\n", echo.len()).as_bytes());
                let _ = c.stream.write_all(&echo);
            }
            ClientCommand::Out => return,
            _ => {}
        }
    }
}

struct Fake {
    ns_port: u16,
    seen: mpsc::Receiver<Seen>,
}

/// Starts the fake servers: `ns_script[i]` says whether the i-th NS connection is dropped after
/// its first CHG; `sb_script[i]` how the i-th switchboard connection behaves.
fn fake(ns_script: Vec<bool>, sb_script: Vec<SbBehaviour>) -> Fake {
    let ns = TcpListener::bind("127.0.0.1:0").unwrap();
    let sb = TcpListener::bind("127.0.0.1:0").unwrap();
    let ns_port = ns.local_addr().unwrap().port();
    let sb_port = sb.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    let ns_tx = tx.clone();
    std::thread::spawn(move || {
        for drop_after_chg in ns_script {
            let Ok((s, _)) = ns.accept() else { return };
            serve_ns(Conn::new(s), sb_port, drop_after_chg, &ns_tx);
        }
    });
    std::thread::spawn(move || {
        for behaviour in sb_script {
            let Ok((s, _)) = sb.accept() else { return };
            let tx = tx.clone();
            std::thread::spawn(move || serve_sb(Conn::new(s), behaviour, &tx));
        }
    });
    Fake { ns_port, seen: rx }
}

fn start(port: u16, password: &str) -> client::Session {
    client::start(ClientConfig {
        server: format!("127.0.0.1:{port}"),
        account: "alice@example.com".into(),
        password: password.into(),
        initial_status: Status::Busy,
        // The fake server answers `VER n MSNP7` to the automatic offer: the client follows.
        ..ClientConfig::default()
    })
    .unwrap()
}

/// Waits for the first event matching `pred`, collecting everything seen on the way.
fn wait_for(
    session: &client::Session,
    seen: &mut Vec<Event>,
    pred: impl Fn(&Event) -> bool,
) -> Event {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match session.events.try_recv() {
            Ok(event) => {
                seen.push(event.clone());
                if pred(&event) {
                    return event;
                }
            }
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => panic!("timed out; events so far: {seen:#?}"),
        }
    }
}

#[test]
fn sign_in_and_chat_with_ack() {
    let fake = fake(vec![false], vec![SbBehaviour::AckAndEcho]);
    let s = start(fake.ns_port, PASSWORD);
    let mut seen = Vec::new();
    wait_for(&s, &mut seen, |e| {
        matches!(e, Event::Ns(NsEvent::SignedIn { .. }))
    });
    wait_for(
        &s,
        &mut seen,
        |e| matches!(e, Event::Ns(NsEvent::ListSynced { list, .. }) if list.get("bob@example.com").is_some()),
    );
    wait_for(
        &s,
        &mut seen,
        |e| matches!(e, Event::Ns(NsEvent::Presence { account, .. }) if account == "bob@example.com"),
    );
    let text = payload::text_message_plain("hello bob");
    s.requests
        .send_blocking(Request::SendTo {
            id: 42,
            to: "bob@example.com".into(),
            ack: AckMode::Acknowledged,
            payload: text.clone(),
        })
        .unwrap();
    wait_for(&s, &mut seen, |e| {
        matches!(e, Event::MessageDelivered { id: 42 })
    });
    let reply = wait_for(&s, &mut seen, |e| matches!(e, Event::Message { .. }));
    let Event::Message { from, payload, .. } = reply else {
        unreachable!()
    };
    assert_eq!(from, "bob@example.com");
    assert!(matches!(Payload::parse(&payload), Payload::Text(t) if t.text == "echo"));
    let msgs: Vec<Vec<u8>> = fake
        .seen
        .try_iter()
        .filter_map(|s| {
            if let Seen::SbMsg(p) = s {
                Some(p)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(msgs, vec![text]);
    s.requests.send_blocking(Request::Shutdown).unwrap();
    wait_for(&s, &mut seen, |e| matches!(e, Event::Stopped));
}

#[test]
fn wrong_password_is_reported_and_not_retried() {
    let fake = fake(vec![false, false], vec![]);
    let s = start(fake.ns_port, "wrong");
    let mut seen = Vec::new();
    wait_for(&s, &mut seen, |e| {
        matches!(e, Event::Ns(NsEvent::LoginFailed(_)))
    });
    std::thread::sleep(Duration::from_millis(1500));
    let mut reconnects = 0;
    while let Ok(e) = s.events.try_recv() {
        if matches!(e, Event::Connecting { .. }) {
            reconnects += 1;
        }
    }
    assert_eq!(
        reconnects, 0,
        "a wrong password must not be retried automatically"
    );
}

#[test]
fn reconnects_after_the_server_drops_the_socket_and_restores_status() {
    // First NS connection is dropped right after the first CHG; the second one stays.
    let fake = fake(vec![true, false], vec![]);
    let s = start(fake.ns_port, PASSWORD);
    let mut seen = Vec::new();
    wait_for(&s, &mut seen, |e| {
        matches!(e, Event::Ns(NsEvent::OwnStatus(Status::Busy)))
    });
    s.requests
        .send_blocking(Request::Ns(NsRequest::SetStatus(Status::Away)))
        .unwrap();
    let ev = wait_for(&s, &mut seen, |e| matches!(e, Event::Reconnecting { .. }));
    assert!(matches!(
        ev,
        Event::Reconnecting {
            retry_in_secs: 1,
            ..
        }
    ));
    wait_for(&s, &mut seen, |e| matches!(e, Event::Connecting { .. }));
    wait_for(&s, &mut seen, |e| {
        matches!(e, Event::Ns(NsEvent::SignedIn { .. }))
    });
    wait_for(&s, &mut seen, |e| {
        matches!(e, Event::Ns(NsEvent::OwnStatus(_)))
    });
    let lines: Vec<String> = fake
        .seen
        .try_iter()
        .filter_map(|s| if let Seen::Ns(l) = s { Some(l) } else { None })
        .collect();
    // The second sign-in sends SYN with the cached version 3 and restores the last status.
    assert!(lines.iter().any(|l| l == "SYN 5 3"), "{lines:?}");
    let chgs: Vec<&String> = lines.iter().filter(|l| l.starts_with("CHG")).collect();
    assert_eq!(
        chgs.last().map(|s| s.as_str()),
        Some("CHG 6 AWY"),
        "{lines:?}"
    );
    s.requests.send_blocking(Request::Shutdown).unwrap();
}

#[test]
fn message_is_resent_through_a_new_switchboard() {
    let fake = fake(
        vec![false],
        vec![SbBehaviour::CloseOnMsg, SbBehaviour::AckAndEcho],
    );
    let s = start(fake.ns_port, PASSWORD);
    let mut seen = Vec::new();
    wait_for(&s, &mut seen, |e| {
        matches!(e, Event::Ns(NsEvent::OwnStatus(_)))
    });
    let text = payload::text_message_plain("do not lose me");
    s.requests
        .send_blocking(Request::SendTo {
            id: 7,
            to: "bob@example.com".into(),
            ack: AckMode::Acknowledged,
            payload: text.clone(),
        })
        .unwrap();
    wait_for(&s, &mut seen, |e| {
        matches!(
            e,
            Event::MessageDelivered { id: 7 } | Event::MessageFailed { id: 7, .. }
        )
    });
    assert!(
        seen.iter()
            .any(|e| matches!(e, Event::MessageDelivered { id: 7 })),
        "{seen:#?}"
    );
    let msgs: Vec<Vec<u8>> = fake
        .seen
        .try_iter()
        .filter_map(|s| {
            if let Seen::SbMsg(p) = s {
                Some(p)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        msgs,
        vec![text.clone(), text],
        "sent once in each switchboard"
    );
    s.requests.send_blocking(Request::Shutdown).unwrap();
}

#[test]
fn a_message_waiting_for_a_lost_server_fails_after_the_send_timeout() {
    // The only NS connection is dropped after the first CHG; reconnecting never succeeds.
    let fake = fake(vec![true], vec![]);
    let s = client::start(ClientConfig {
        server: format!("127.0.0.1:{}", fake.ns_port),
        account: "alice@example.com".into(),
        password: PASSWORD.into(),
        initial_status: Status::Busy,
        send_timeout: Duration::from_secs(1),
        ..ClientConfig::default()
    })
    .unwrap();
    let mut seen = Vec::new();
    wait_for(&s, &mut seen, |e| {
        matches!(e, Event::Ns(NsEvent::OwnStatus(Status::Busy)))
    });
    // The CHG makes the fake server drop the connection.
    s.requests
        .send_blocking(Request::Ns(NsRequest::SetStatus(Status::Away)))
        .unwrap();
    wait_for(&s, &mut seen, |e| matches!(e, Event::Reconnecting { .. }));
    let sent = Instant::now();
    s.requests
        .send_blocking(Request::SendTo {
            id: 9,
            to: "bob@example.com".into(),
            ack: AckMode::Acknowledged,
            payload: payload::text_message_plain("nobody to take me"),
        })
        .unwrap();
    let ev = wait_for(&s, &mut seen, |e| {
        matches!(
            e,
            Event::MessageDelivered { id: 9 } | Event::MessageFailed { id: 9, .. }
        )
    });
    assert!(matches!(ev, Event::MessageFailed { id: 9, .. }), "{ev:?}");
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    s.requests.send_blocking(Request::Shutdown).unwrap();
}
