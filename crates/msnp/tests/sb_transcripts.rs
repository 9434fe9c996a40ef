//! Switchboard state machine tests: the switchboard blocks of transcripts.md (§5, §6, §7, §8.3,
//! §8.4, §9.1) replayed byte-exact with a fake clock, plus delivery tracking, invitation failures,
//! timeouts, authentication failure, protocol errors and random input.

use std::time::{Duration, Instant};

use msnp::proto::command::AckMode;
use msnp::proto::error::ServerError;
use msnp::proto::names::WireName;
use msnp::proto::sb::{
    FailReason, SbEvent, Switchboard, ACK_TIMEOUT, JOI_TIMEOUT, NAK_GRACE, REPLY_TIMEOUT,
};
use proptest::prelude::*;

mod common;

use common::Item;

// ---------------------------------------------------------------------------------------------
// Transcript blocks (read from transcripts.md, notation of README.md)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Client,
    Server,
}

/// One command of a transcript block: its line and, for payload commands, the payload.
#[derive(Debug, Clone)]
struct Step {
    dir: Dir,
    line: String,
    payload: Option<Vec<u8>>,
}

impl Step {
    fn bytes(&self) -> Vec<u8> {
        let mut out = self.line.as_bytes().to_vec();
        out.extend_from_slice(b"\r\n");
        if let Some(p) = &self.payload {
            out.extend_from_slice(p);
        }
        out
    }

    fn tokens(&self) -> Vec<&str> {
        self.line.split(' ').collect()
    }
}

/// The switchboard block of a transcripts.md section (`"5.2"`, `"6."`, `"8.3"`, ...), as steps:
/// each command line with its payload split off (only `MSG` carries one on a switchboard) and
/// the payload length checked against the length the line announces.
fn transcript(section: &str) -> Vec<Step> {
    let markdown = common::read("transcripts.md");
    let mut found = common::blocks(&markdown).into_iter().filter(|b| {
        b.heading.starts_with(section)
            && matches!(b.items.first(), Some(Item::Comment(c)) if c.starts_with("connection: switchboard"))
    });
    let block = found
        .next()
        .unwrap_or_else(|| panic!("no switchboard block in transcripts.md §{section}"));
    assert!(
        found.next().is_none(),
        "two switchboard blocks in §{section}"
    );
    let steps: Vec<Step> = block
        .items
        .into_iter()
        .filter_map(|item| {
            let (dir, bytes) = match item {
                Item::Client(b) => (Dir::Client, b),
                Item::Server(b) => (Dir::Server, b),
                Item::Comment(_) => return None,
            };
            let end = bytes
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("a line end");
            let line = String::from_utf8(bytes[..end].to_vec()).expect("UTF-8 line");
            let rest = bytes[end + 2..].to_vec();
            let payload = line.starts_with("MSG ").then_some(rest.clone());
            assert!(payload.is_some() || rest.is_empty(), "payload after {line}");
            Some(Step { dir, line, payload })
        })
        .collect();
    for step in &steps {
        if let Some(p) = &step.payload {
            let announced: usize = step.tokens().last().unwrap().parse().unwrap();
            assert_eq!(p.len(), announced, "payload length of {}", step.line);
        }
    }
    steps
}

// ---------------------------------------------------------------------------------------------
// Replay driver
// ---------------------------------------------------------------------------------------------

/// The outcome of a replay.
struct Replay {
    sb: Switchboard,
    now: Instant,
    events: Vec<SbEvent>,
    /// Caller ids of the messages sent, in order, with their ack mode.
    sent: Vec<(u64, AckMode)>,
}

fn ack_mode(code: &str) -> AckMode {
    AckMode::from_code(code).expect("ack mode")
}

/// Replays a block: server lines are fed (whole, or one byte at a time); for every client line,
/// what the machine already transmitted must match it, and when it transmitted nothing the line
/// is the user's action (connect, `CAL`, `MSG`, `OUT`), performed and then compared. The fake
/// clock advances one second per line.
fn replay(mut sb: Switchboard, steps: &[Step], byte_at_a_time: bool) -> Replay {
    let mut now = Instant::now();
    let mut pending: Vec<u8> = Vec::new();
    let mut events = Vec::new();
    let mut sent = Vec::new();
    for step in steps {
        now += Duration::from_secs(1);
        if sb.poll_timeout().is_some_and(|t| t <= now) {
            sb.handle_timeout(now);
        }
        match step.dir {
            Dir::Server => {
                let bytes = step.bytes();
                if byte_at_a_time {
                    for b in &bytes {
                        sb.handle_input(std::slice::from_ref(b), now);
                    }
                } else {
                    sb.handle_input(&bytes, now);
                }
            }
            Dir::Client => {
                while let Some(b) = sb.poll_transmit() {
                    pending.extend(b);
                }
                if pending.is_empty() {
                    let toks = step.tokens();
                    match toks[0] {
                        "USR" | "ANS" => sb.handle_connected(now),
                        "CAL" => sb.invite(toks[2], now),
                        "MSG" => {
                            let id = 100 + sent.len() as u64;
                            let ack = ack_mode(toks[2]);
                            sent.push((id, ack));
                            sb.send_message(id, ack, step.payload.clone().unwrap(), now);
                        }
                        "OUT" => sb.leave(),
                        other => panic!("no action for {other}"),
                    }
                    while let Some(b) = sb.poll_transmit() {
                        pending.extend(b);
                    }
                }
                let expected = step.bytes();
                assert!(
                    pending.starts_with(&expected),
                    "expected {:?}\n     got {:?}",
                    String::from_utf8_lossy(&expected),
                    String::from_utf8_lossy(&pending)
                );
                pending.drain(..expected.len());
            }
        }
        while let Some(e) = sb.poll_event() {
            events.push(e);
        }
    }
    while let Some(b) = sb.poll_transmit() {
        pending.extend(b);
    }
    assert!(
        pending.is_empty(),
        "unexpected bytes sent: {:?}",
        String::from_utf8_lossy(&pending)
    );
    Replay {
        sb,
        now,
        events,
        sent,
    }
}

fn payload_of(steps: &[Step], line_prefix: &str) -> Vec<u8> {
    steps
        .iter()
        .find(|s| s.line.starts_with(line_prefix))
        .and_then(|s| s.payload.clone())
        .expect("payload")
}

fn name(wire: &str) -> WireName {
    WireName::from_wire(wire)
}

fn joined(account: &str, wire: &str) -> SbEvent {
    SbEvent::Joined {
        account: account.into(),
        name: name(wire),
    }
}

fn left(account: &str) -> SbEvent {
    SbEvent::Left {
        account: account.into(),
        timed_out: false,
    }
}

fn message(steps: &[Step], line: &str) -> SbEvent {
    let toks: Vec<&str> = line.split(' ').collect();
    SbEvent::Message {
        from: toks[1].into(),
        name: name(toks[2]),
        payload: payload_of(steps, line),
    }
}

fn alice_out(invitees: &[&str], cookie: &str) -> Switchboard {
    Switchboard::outgoing(
        "alice@example.com",
        cookie,
        invitees.iter().map(|s| s.to_string()).collect(),
        Instant::now(),
    )
}

// ---------------------------------------------------------------------------------------------
// Transcript tests
// ---------------------------------------------------------------------------------------------

#[test]
fn transcript_8_3_alice_outgoing_escargot() {
    let t83 = transcript("8.3");
    for byte_at_a_time in [false, true] {
        let sb = alice_out(&["bob@example.com"], "2d5c60a9c44bf6abf55e");
        let mut r = replay(sb, &t83, byte_at_a_time);
        let id = r.sent[0].0;
        assert_eq!(
            r.events,
            vec![
                SbEvent::Ready,
                joined("bob@example.com", "Bob"),
                SbEvent::Delivered { id },
                message(&t83, "MSG bob@example.com Bob 88"),
                message(&t83, "MSG bob@example.com Bob 97"),
                left("bob@example.com"),
                SbEvent::Closed { error: None },
            ]
        );
        assert_eq!(r.sb.session_id(), Some("8eb3fb536f83e4247859927714c9bc3"));
        assert!(r.sb.is_closed());
        assert!(r.sb.participants().is_empty());
        assert!(r.sb.take_unresolved().is_empty());
        assert_eq!(r.sb.poll_timeout(), None);
    }
}

#[test]
fn transcript_8_4_bob_incoming_escargot() {
    let t84 = transcript("8.4");
    for byte_at_a_time in [false, true] {
        let sb = Switchboard::incoming(
            "bob@example.com",
            "4ae041ad266f9d19d73d",
            "8eb3fb536f83e4247859927714c9bc3",
            Instant::now(),
        );
        let mut r = replay(sb, &t84, byte_at_a_time);
        let alice = ("alice@example.com".to_string(), name("Alice"));
        assert_eq!(
            r.events,
            vec![
                SbEvent::Ready,
                SbEvent::Roster {
                    participants: vec![alice.clone()]
                },
                message(&t84, "MSG alice@example.com Alice 141"),
                SbEvent::Closed { error: None },
            ]
        );
        assert_eq!(r.sb.participants(), vec![alice]);
        // The N message was still inside its grace period when bob left: it is unresolved, the
        // U message (typing) is not reported at all.
        let unresolved = r.sb.take_unresolved();
        assert_eq!(unresolved.len(), 1);
        assert_eq!(unresolved[0].0, r.sent[1].0);
        assert_eq!(unresolved[0].1, AckMode::NakOnly);
        assert_eq!(unresolved[0].2, payload_of(&t84, "MSG 3 N 97"));
    }
}

#[test]
fn transcript_5_outgoing_multi_party() {
    let t5 = transcript("5.2");
    let sb = alice_out(&["bob@example.com"], "17262740.1050826919.32308");
    let mut r = replay(sb, &t5, false);
    let a_id = r.sent[0].0;
    assert_eq!(r.sent[1].1, AckMode::Unacknowledged);
    assert_eq!(
        r.events,
        vec![
            SbEvent::Ready,
            joined("bob@example.com", "Bob"),
            SbEvent::Delivered { id: a_id },
            message(&t5, "MSG bob@example.com Bob 88"),
            message(&t5, "MSG bob@example.com Bob 142"),
            joined("carol@example.com", "Carol%20C."),
            message(&t5, "MSG carol@example.com Carol%20C. 161"),
            left("carol@example.com"),
            message(&t5, "MSG bob@example.com Bob 124"),
            SbEvent::Closed { error: None },
        ]
    );
    assert_eq!(r.sb.session_id(), Some("11752013"));
    assert_eq!(
        r.sb.participants(),
        vec![("bob@example.com".to_string(), name("Bob"))]
    );
    // MSG 6 N was sent 5 s before OUT: unresolved, returned for re-sending.
    let unresolved = r.sb.take_unresolved();
    assert_eq!(unresolved.len(), 1);
    assert_eq!(unresolved[0].0, r.sent[2].0);
    assert!(r.sb.take_unresolved().is_empty());
}

#[test]
fn transcript_5_n_message_delivered_after_grace() {
    // The same session, but alice waits past the grace period before closing the window.
    let t5 = transcript("5.2");
    let cut = t5.iter().position(|s| s.line == "OUT").unwrap();
    let sb = alice_out(&["bob@example.com"], "17262740.1050826919.32308");
    let mut r = replay(sb, &t5[..cut], false);
    let n_id = r.sent[2].0;
    let deadline = r.sb.poll_timeout().unwrap();
    assert!(deadline > r.now);
    r.sb.handle_timeout(deadline);
    assert_eq!(r.sb.poll_event(), Some(SbEvent::Delivered { id: n_id }));
    assert_eq!(r.sb.poll_timeout(), None);
    r.sb.leave();
    assert_eq!(r.sb.poll_transmit(), Some(b"OUT\r\n".to_vec()));
    assert!(r.sb.take_unresolved().is_empty());
}

#[test]
fn transcript_6_incoming_roster() {
    let t6 = transcript("6.");
    let sb = Switchboard::incoming(
        "alice@example.com",
        "849102291.520491113",
        "11752099",
        Instant::now(),
    );
    let r = replay(sb, &t6, true);
    assert_eq!(
        r.events,
        vec![
            SbEvent::Ready,
            SbEvent::Roster {
                participants: vec![
                    ("carol@example.com".to_string(), name("Carol%20C.")),
                    ("frank@example.com".to_string(), name("Frank")),
                ]
            },
            message(&t6, "MSG carol@example.com Carol%20C. 178"),
            message(&t6, "MSG frank@example.com Frank 83"),
            left("frank@example.com"),
            left("carol@example.com"),
            SbEvent::Closed { error: None },
        ]
    );
    assert!(r.sb.participants().is_empty());
    assert_eq!(r.sb.session_id(), Some("11752099"));
}

#[test]
fn transcript_7_nudge_and_declined_invitation() {
    let t7 = transcript("7.");
    let sb = Switchboard::incoming(
        "alice@example.com",
        "1960351218.1056563900.14137",
        "11752150",
        Instant::now(),
    );
    let mut r = replay(sb, &t7, false);
    assert_eq!(
        r.events,
        vec![
            SbEvent::Ready,
            SbEvent::Roster {
                participants: vec![("bob@example.com".to_string(), name("Bob"))]
            },
            message(&t7, "MSG bob@example.com Bob 69"),
            message(&t7, "MSG bob@example.com Bob 276"),
            left("bob@example.com"),
            SbEvent::Closed { error: None },
        ]
    );
    // Both N messages were sent less than 10 s before OUT.
    let ids: Vec<u64> = r.sb.take_unresolved().iter().map(|m| m.0).collect();
    assert_eq!(ids, vec![r.sent[0].0, r.sent[1].0]);
}

#[test]
fn transcript_9_1_sign_out_leaves_open_switchboard() {
    let (mut sb, now) = ready_with_bob();
    sb.leave();
    assert_eq!(drain(&mut sb), b"OUT\r\n");
    assert_eq!(events(&mut sb), vec![SbEvent::Closed { error: None }]);
    assert!(sb.is_closed());
    // Nothing more: no second Closed, no output, no timers.
    sb.handle_closed(now);
    sb.leave();
    sb.handle_input(b"MSG bob@example.com Bob 0\r\n", now);
    assert!(events(&mut sb).is_empty());
    assert!(drain(&mut sb).is_empty());
    assert_eq!(sb.poll_timeout(), None);
}

#[test]
#[should_panic(expected = "expected")]
fn replay_detects_a_wrong_byte() {
    // Guard for the harness itself: a transcript whose TrID differs from ours must fail.
    let sb = alice_out(&["bob@example.com"], "2d5c60a9c44bf6abf55e");
    let mut t83 = transcript("8.3");
    let cal = t83
        .iter_mut()
        .find(|s| s.line == "CAL 2 bob@example.com")
        .unwrap();
    cal.line = "CAL 3 bob@example.com".into();
    replay(sb, &t83, false);
}

#[test]
fn transcript_parser_builds_exact_payloads() {
    let steps = transcript("5.2");
    let first = steps.iter().find(|s| s.line == "MSG 3 A 162").unwrap();
    let payload = first.payload.as_ref().unwrap();
    assert!(payload.starts_with(b"MIME-Version: 1.0\r\nContent-Type"));
    assert!(payload.ends_with("at 5? \u{2615}".as_bytes()));
    let typing = steps.iter().find(|s| s.line == "MSG 4 U 90").unwrap();
    assert!(typing.bytes().ends_with(b"\r\n\r\n"));
    assert_eq!(steps.iter().filter(|s| s.dir == Dir::Client).count(), 7);
}

// ---------------------------------------------------------------------------------------------
// Helpers for the scenario tests
// ---------------------------------------------------------------------------------------------

fn drain(sb: &mut Switchboard) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(b) = sb.poll_transmit() {
        out.extend(b);
    }
    out
}

fn events(sb: &mut Switchboard) -> Vec<SbEvent> {
    std::iter::from_fn(|| sb.poll_event()).collect()
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

/// An outgoing switchboard, authenticated, with Bob joined; all output and events drained.
fn ready_with_bob() -> (Switchboard, Instant) {
    let now = Instant::now();
    let mut sb = alice_out(&["bob@example.com"], "c00k1e");
    sb.handle_connected(now);
    sb.handle_input(b"USR 1 OK alice@example.com Alice\r\n", now);
    sb.handle_input(b"CAL 2 RINGING 42\r\nJOI bob@example.com Bob\r\n", now);
    assert_eq!(
        text(drain(&mut sb)),
        "USR 1 alice@example.com c00k1e\r\nCAL 2 bob@example.com\r\n"
    );
    assert_eq!(
        events(&mut sb),
        vec![SbEvent::Ready, joined("bob@example.com", "Bob")]
    );
    (sb, now)
}

// ---------------------------------------------------------------------------------------------
// Scenario tests
// ---------------------------------------------------------------------------------------------

#[test]
fn messages_queued_before_joi_are_flushed_in_order() {
    let now = Instant::now();
    let mut sb = alice_out(&["bob@example.com"], "k");
    // Typed before the connection is even up.
    sb.send_message(1, AckMode::Acknowledged, b"one".to_vec(), now);
    sb.send_message(2, AckMode::Unacknowledged, b"two".to_vec(), now);
    assert!(drain(&mut sb).is_empty());
    sb.handle_connected(now);
    assert_eq!(text(drain(&mut sb)), "USR 1 alice@example.com k\r\n");
    sb.send_message(3, AckMode::NakOnly, b"three".to_vec(), now);
    // Nothing but USR before USR OK.
    assert!(drain(&mut sb).is_empty());
    sb.handle_input(b"USR 1 OK alice@example.com Alice\r\n", now);
    assert_eq!(text(drain(&mut sb)), "CAL 2 bob@example.com\r\n");
    sb.handle_input(b"CAL 2 RINGING 42\r\n", now);
    assert!(drain(&mut sb).is_empty());
    sb.send_message(4, AckMode::Acknowledged, b"four".to_vec(), now);
    assert!(drain(&mut sb).is_empty());
    sb.handle_input(b"JOI bob@example.com Bob\r\n", now);
    assert_eq!(
        text(drain(&mut sb)),
        "MSG 3 A 3\r\noneMSG 4 U 3\r\ntwoMSG 5 N 5\r\nthreeMSG 6 A 4\r\nfour"
    );
    // Once someone is there, messages go out at once.
    sb.send_message(5, AckMode::Acknowledged, b"five".to_vec(), now);
    assert_eq!(text(drain(&mut sb)), "MSG 7 A 4\r\nfive");
    sb.handle_input(b"ACK 6\r\nACK 3\r\n", now);
    assert_eq!(
        events(&mut sb),
        vec![
            SbEvent::Ready,
            joined("bob@example.com", "Bob"),
            SbEvent::Delivered { id: 4 },
            SbEvent::Delivered { id: 1 },
        ]
    );
}

#[test]
fn messages_queue_again_when_everybody_left() {
    let (mut sb, now) = ready_with_bob();
    sb.handle_input(b"BYE bob@example.com 1\r\n", now);
    assert_eq!(
        events(&mut sb),
        vec![SbEvent::Left {
            account: "bob@example.com".into(),
            timed_out: true
        }]
    );
    sb.send_message(1, AckMode::Acknowledged, b"hi".to_vec(), now);
    assert!(drain(&mut sb).is_empty());
    sb.invite("bob@example.com", now);
    assert_eq!(text(drain(&mut sb)), "CAL 3 bob@example.com\r\n");
    sb.handle_input(b"CAL 3 RINGING 42\r\nJOI bob@example.com Bob\r\n", now);
    assert_eq!(text(drain(&mut sb)), "MSG 4 A 2\r\nhi");
}

#[test]
fn nak_fails_a_and_n_messages() {
    let (mut sb, now) = ready_with_bob();
    sb.send_message(1, AckMode::Acknowledged, b"a".to_vec(), now);
    sb.send_message(2, AckMode::NakOnly, b"n".to_vec(), now);
    assert_eq!(text(drain(&mut sb)), "MSG 3 A 1\r\naMSG 4 N 1\r\nn");
    sb.handle_input(b"NAK 4\r\nNAK 3\r\n", now);
    assert_eq!(
        events(&mut sb),
        vec![
            SbEvent::Failed {
                id: 2,
                reason: FailReason::Nak
            },
            SbEvent::Failed {
                id: 1,
                reason: FailReason::Nak
            },
        ]
    );
    // Resolved: no timers left, nothing later, nothing unresolved.
    assert_eq!(sb.poll_timeout(), None);
    sb.handle_timeout(now + ACK_TIMEOUT);
    sb.handle_input(b"ACK 3\r\n", now);
    assert!(events(&mut sb).is_empty());
    assert!(sb.take_unresolved().is_empty());
}

#[test]
fn error_line_for_a_message_fails_it() {
    let (mut sb, now) = ready_with_bob();
    sb.send_message(7, AckMode::Acknowledged, b"a".to_vec(), now);
    drain(&mut sb);
    sb.handle_input(b"500 3\r\n", now);
    assert_eq!(
        events(&mut sb),
        vec![SbEvent::Failed {
            id: 7,
            reason: FailReason::Server(ServerError::InternalServerError)
        }]
    );
}

#[test]
fn ack_timeout_fails_after_30_s() {
    let (mut sb, now) = ready_with_bob();
    sb.send_message(1, AckMode::Acknowledged, b"a".to_vec(), now);
    sb.send_message(
        2,
        AckMode::Data,
        b"d".to_vec(),
        now + Duration::from_secs(1),
    );
    drain(&mut sb);
    assert_eq!(sb.poll_timeout(), Some(now + ACK_TIMEOUT));
    sb.handle_timeout(now + ACK_TIMEOUT - Duration::from_millis(1));
    assert!(events(&mut sb).is_empty());
    sb.handle_timeout(now + ACK_TIMEOUT);
    assert_eq!(
        events(&mut sb),
        vec![SbEvent::Failed {
            id: 1,
            reason: FailReason::AckTimeout
        }]
    );
    assert_eq!(
        sb.poll_timeout(),
        Some(now + Duration::from_secs(1) + ACK_TIMEOUT)
    );
    // A late ACK for the failed one is ignored; the other is still resolved by its own.
    sb.handle_input(b"ACK 3\r\nACK 4\r\n", now + ACK_TIMEOUT);
    assert_eq!(events(&mut sb), vec![SbEvent::Delivered { id: 2 }]);
    assert_eq!(sb.poll_timeout(), None);
}

#[test]
fn n_message_delivered_after_grace_without_nak() {
    let (mut sb, now) = ready_with_bob();
    sb.send_message(9, AckMode::NakOnly, b"n".to_vec(), now);
    drain(&mut sb);
    assert_eq!(sb.poll_timeout(), Some(now + NAK_GRACE));
    sb.handle_timeout(now + Duration::from_secs(9));
    assert!(events(&mut sb).is_empty());
    sb.handle_timeout(now + NAK_GRACE);
    assert_eq!(events(&mut sb), vec![SbEvent::Delivered { id: 9 }]);
    // A NAK after the grace period changes nothing.
    sb.handle_input(b"NAK 3\r\n", now + NAK_GRACE);
    assert!(events(&mut sb).is_empty());
}

#[test]
fn u_messages_produce_no_events() {
    let (mut sb, now) = ready_with_bob();
    sb.send_message(1, AckMode::Unacknowledged, b"typing".to_vec(), now);
    assert_eq!(text(drain(&mut sb)), "MSG 3 U 6\r\ntyping");
    assert_eq!(sb.poll_timeout(), None);
    sb.handle_input(b"ACK 3\r\nNAK 3\r\n", now);
    sb.handle_timeout(now + Duration::from_secs(3600));
    assert!(events(&mut sb).is_empty());
    sb.handle_closed(now);
    assert_eq!(events(&mut sb), vec![SbEvent::Closed { error: None }]);
    assert!(sb.take_unresolved().is_empty());
}

#[test]
fn payload_over_1664_bytes_is_refused_and_never_sent() {
    let (mut sb, now) = ready_with_bob();
    sb.send_message(1, AckMode::NakOnly, vec![b'x'; 1665], now);
    assert!(drain(&mut sb).is_empty());
    assert_eq!(
        events(&mut sb),
        vec![SbEvent::Failed {
            id: 1,
            reason: FailReason::TooLarge
        }]
    );
    // Refused before queueing too, and it uses no TrID.
    sb.send_message(2, AckMode::Acknowledged, vec![b'y'; 1664], now);
    let out = drain(&mut sb);
    assert!(out.starts_with(b"MSG 3 A 1664\r\nyyy"));
    assert_eq!(out.len(), "MSG 3 A 1664\r\n".len() + 1664);
    let mut waiting = alice_out(&["bob@example.com"], "k");
    waiting.send_message(3, AckMode::Acknowledged, vec![0; 5000], now);
    assert_eq!(
        events(&mut waiting),
        vec![SbEvent::Failed {
            id: 3,
            reason: FailReason::TooLarge
        }]
    );
    assert!(waiting.take_unresolved().is_empty());
}

/// Authenticated outgoing session that invited bob and carol, with one message queued.
fn calling_two() -> (Switchboard, Instant) {
    let now = Instant::now();
    let mut sb = alice_out(&["bob@example.com", "carol@example.com"], "k");
    sb.send_message(1, AckMode::NakOnly, b"hello".to_vec(), now);
    sb.send_message(2, AckMode::Unacknowledged, b"typing".to_vec(), now);
    sb.handle_connected(now);
    sb.handle_input(b"USR 1 OK alice@example.com Alice\r\n", now);
    assert_eq!(
        text(drain(&mut sb)),
        "USR 1 alice@example.com k\r\nCAL 2 bob@example.com\r\nCAL 3 carol@example.com\r\n"
    );
    assert_eq!(events(&mut sb), vec![SbEvent::Ready]);
    (sb, now)
}

#[test]
fn cal_errors_217_and_215() {
    let (mut sb, now) = calling_two();
    sb.handle_input(b"217 2\r\n", now);
    // Carol is still being called: the message keeps waiting.
    assert_eq!(
        events(&mut sb),
        vec![SbEvent::CallFailed {
            account: "bob@example.com".into(),
            error: Some(ServerError::NotOnline)
        }]
    );
    sb.handle_input(b"215 3\r\n", now);
    assert_eq!(
        events(&mut sb),
        vec![
            SbEvent::CallFailed {
                account: "carol@example.com".into(),
                error: Some(ServerError::AlreadyThere)
            },
            SbEvent::Failed {
                id: 1,
                reason: FailReason::NobodyJoined
            },
        ]
    );
    assert!(!sb.is_closed());
    assert!(sb.take_unresolved().is_empty());
    assert!(drain(&mut sb).is_empty());
}

#[test]
fn cal_error_with_someone_present_fails_no_message() {
    let (mut sb, now) = ready_with_bob();
    sb.invite("carol@example.com", now);
    assert_eq!(text(drain(&mut sb)), "CAL 3 carol@example.com\r\n");
    sb.send_message(1, AckMode::Acknowledged, b"a".to_vec(), now);
    assert_eq!(text(drain(&mut sb)), "MSG 4 A 1\r\na");
    sb.handle_input(b"217 3\r\n", now);
    assert_eq!(
        events(&mut sb),
        vec![SbEvent::CallFailed {
            account: "carol@example.com".into(),
            error: Some(ServerError::NotOnline)
        }]
    );
    sb.handle_input(b"ACK 4\r\n", now);
    assert_eq!(events(&mut sb), vec![SbEvent::Delivered { id: 1 }]);
}

#[test]
fn joi_timeout_60_s_after_ringing() {
    let (mut sb, now) = calling_two();
    let t1 = now + Duration::from_secs(5);
    sb.handle_input(b"CAL 2 RINGING 42\r\nCAL 3 RINGING 42\r\n", t1);
    assert_eq!(sb.session_id(), Some("42"));
    assert_eq!(sb.poll_timeout(), Some(t1 + JOI_TIMEOUT));
    sb.handle_timeout(t1 + JOI_TIMEOUT - Duration::from_secs(1));
    assert!(events(&mut sb).is_empty());
    sb.handle_timeout(t1 + JOI_TIMEOUT);
    assert_eq!(
        events(&mut sb),
        vec![
            SbEvent::CallFailed {
                account: "bob@example.com".into(),
                error: None
            },
            SbEvent::CallFailed {
                account: "carol@example.com".into(),
                error: None
            },
            SbEvent::Failed {
                id: 1,
                reason: FailReason::NobodyJoined
            },
        ]
    );
    assert_eq!(sb.poll_timeout(), None);
    assert!(!sb.is_closed());
}

#[test]
fn joi_cancels_the_timeout_and_cal_without_reply_times_out() {
    let (mut sb, now) = calling_two();
    sb.handle_input(b"CAL 2 RINGING 42\r\nJOI bob@example.com Bob\r\n", now);
    assert_eq!(
        text(drain(&mut sb)),
        "MSG 4 N 5\r\nhelloMSG 5 U 6\r\ntyping"
    );
    // carol's CAL never got an answer at all (an ignored command): given up after 30 s.
    sb.handle_timeout(now + REPLY_TIMEOUT);
    assert_eq!(
        events(&mut sb),
        vec![
            joined("bob@example.com", "Bob"),
            SbEvent::Delivered { id: 1 },
            SbEvent::CallFailed {
                account: "carol@example.com".into(),
                error: None
            },
        ]
    );
    assert_eq!(sb.poll_timeout(), None);
}

#[test]
fn auth_failure_911() {
    let now = Instant::now();
    let mut sb = alice_out(&["bob@example.com"], "stale");
    sb.send_message(1, AckMode::Acknowledged, b"a".to_vec(), now);
    sb.handle_connected(now);
    drain(&mut sb);
    sb.handle_input(b"911 1\r\n", now);
    let ev = events(&mut sb);
    assert_eq!(ev[0], SbEvent::AuthFailed);
    assert!(matches!(&ev[1], SbEvent::Closed { error: Some(e) } if e.contains("911")));
    assert_eq!(ev.len(), 2);
    assert!(sb.is_closed());
    assert!(drain(&mut sb).is_empty(), "no CAL, no OUT");
    // The message is handed back for a new switchboard.
    assert_eq!(
        sb.take_unresolved(),
        vec![(1, AckMode::Acknowledged, b"a".to_vec())]
    );
    sb.send_message(2, AckMode::Acknowledged, b"b".to_vec(), now);
    sb.invite("carol@example.com", now);
    assert_eq!(
        events(&mut sb),
        vec![
            SbEvent::Failed {
                id: 2,
                reason: FailReason::Closed
            },
            SbEvent::CallFailed {
                account: "carol@example.com".into(),
                error: None
            },
        ]
    );

    let mut sb = Switchboard::incoming("bob@example.com", "c", "s", now);
    sb.handle_connected(now);
    assert_eq!(text(drain(&mut sb)), "ANS 1 bob@example.com c s\r\n");
    sb.handle_input(b"911 7\r\n", now); // another TrID: ignored
    assert!(events(&mut sb).is_empty());
    sb.handle_input(b"911 1\r\n", now);
    assert_eq!(events(&mut sb)[0], SbEvent::AuthFailed);
}

#[test]
fn sign_in_without_answer_times_out() {
    let now = Instant::now();
    let mut sb = alice_out(&[], "k");
    assert_eq!(sb.poll_timeout(), None);
    sb.handle_connected(now);
    assert_eq!(sb.poll_timeout(), Some(now + REPLY_TIMEOUT));
    sb.handle_timeout(now + REPLY_TIMEOUT);
    assert!(matches!(
        events(&mut sb).as_slice(),
        [SbEvent::Closed { error: Some(_) }]
    ));
    assert!(sb.is_closed());
}

#[test]
fn leave_before_authentication_sends_nothing() {
    let now = Instant::now();
    let mut sb = alice_out(&["bob@example.com"], "k");
    sb.handle_connected(now);
    drain(&mut sb);
    sb.leave();
    assert!(drain(&mut sb).is_empty());
    assert_eq!(events(&mut sb), vec![SbEvent::Closed { error: None }]);
}

#[test]
fn close_mid_payload_reports_truncation_and_unresolved() {
    let (mut sb, now) = ready_with_bob();
    sb.send_message(1, AckMode::Acknowledged, b"a".to_vec(), now);
    sb.send_message(2, AckMode::Unacknowledged, b"u".to_vec(), now);
    sb.send_message(3, AckMode::NakOnly, b"n".to_vec(), now);
    drain(&mut sb);
    sb.handle_input(b"MSG bob@example.com Bob 10\r\nabc", now);
    assert!(events(&mut sb).is_empty());
    sb.handle_closed(now);
    let ev = events(&mut sb);
    assert!(
        matches!(ev.as_slice(), [SbEvent::Closed { error: Some(e) }] if e.contains("middle")),
        "{ev:?}"
    );
    assert_eq!(
        sb.take_unresolved(),
        vec![
            (1, AckMode::Acknowledged, b"a".to_vec()),
            (3, AckMode::NakOnly, b"n".to_vec()),
        ]
    );
    assert_eq!(sb.poll_timeout(), None);
}

#[test]
fn unresolved_keep_the_callers_order() {
    let now = Instant::now();
    let (mut sb, _) = ready_with_bob();
    sb.send_message(1, AckMode::Acknowledged, b"1".to_vec(), now);
    sb.handle_input(b"BYE bob@example.com\r\n", now);
    sb.send_message(2, AckMode::NakOnly, b"2".to_vec(), now);
    sb.send_message(3, AckMode::Unacknowledged, b"3".to_vec(), now);
    sb.send_message(4, AckMode::Acknowledged, b"4".to_vec(), now);
    sb.handle_closed(now);
    let ids: Vec<u64> = sb.take_unresolved().into_iter().map(|m| m.0).collect();
    assert_eq!(ids, vec![1, 2, 4]);
}

#[test]
fn codec_errors_close_with_an_error() {
    for bad in [
        &b"MSG bob@example.com Bob 99999999\r\n"[..],
        b"MSG bob@example.com Bob 12x\r\n",
        b"JOI bob@example.com B\xffb\r\n",
    ] {
        let (mut sb, now) = ready_with_bob();
        sb.send_message(1, AckMode::Acknowledged, b"a".to_vec(), now);
        drain(&mut sb);
        sb.handle_input(bad, now);
        let ev = events(&mut sb);
        assert!(
            matches!(ev.as_slice(), [SbEvent::Closed { error: Some(_) }]),
            "{bad:?}: {ev:?}"
        );
        assert!(sb.is_closed());
        assert_eq!(sb.take_unresolved().len(), 1);
        // Nothing after a fatal error, not even lines that came in the same read.
        sb.handle_input(b"ACK 3\r\n", now);
        sb.handle_closed(now);
        assert!(events(&mut sb).is_empty());
    }
    let (mut sb, now) = ready_with_bob();
    sb.handle_input(&vec![b'A'; 9000], now);
    assert!(matches!(
        events(&mut sb).as_slice(),
        [SbEvent::Closed { error: Some(_) }]
    ));
}

#[test]
fn unknown_and_malformed_lines_are_ignored() {
    let (mut sb, now) = ready_with_bob();
    sb.send_message(1, AckMode::Acknowledged, b"a".to_vec(), now);
    drain(&mut sb);
    sb.handle_input(
        b"FOO 1 bar\r\nXYZ\r\nJOI\r\nBYE\r\nACK x\r\nNAK\r\nIRO 1 1\r\n217 99\r\n\
          217\r\nCAL 77 RINGING 9\r\nUSR 1 OK alice@example.com Alice\r\nANS 1 OK\r\n\
          BYE nobody@example.com\r\nIPG 3\r\nabcOUT OTH\r\nACK 3\r\n",
        now,
    );
    assert_eq!(events(&mut sb), vec![SbEvent::Delivered { id: 1 }]);
    assert!(!sb.is_closed());
    assert!(drain(&mut sb).is_empty());
    assert_eq!(sb.session_id(), Some("42"));
    assert_eq!(sb.participants().len(), 1);
}

#[test]
fn joined_participant_listed_once_with_latest_name() {
    let (mut sb, now) = ready_with_bob();
    sb.handle_input(b"JOI bob@example.com Bobby 2788999228\r\n", now);
    assert_eq!(
        sb.participants(),
        vec![("bob@example.com".to_string(), name("Bobby"))]
    );
    assert_eq!(events(&mut sb), vec![joined("bob@example.com", "Bobby")]);
}

// ---------------------------------------------------------------------------------------------
// Random input
// ---------------------------------------------------------------------------------------------

/// Lines a switchboard sends, to make the random input reach deeper states.
const FRAGMENTS: &[&[u8]] = &[
    b"USR 1 OK alice@example.com Alice\r\n",
    b"ANS 1 OK\r\n",
    b"IRO 1 1 1 bob@example.com Bob\r\n",
    b"CAL 2 RINGING 42\r\n",
    b"JOI bob@example.com Bob\r\n",
    b"BYE bob@example.com 1\r\n",
    b"MSG bob@example.com Bob 3\r\nabc",
    b"ACK 3\r\n",
    b"NAK 4\r\n",
    b"217 2\r\n",
    b"911 1\r\n",
    b"\r\n",
    b"MSG ",
];

proptest! {
    #[test]
    fn random_bytes_never_panic(
        outgoing in any::<bool>(),
        chunks in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..64),
                proptest::sample::select(FRAGMENTS).prop_map(|f| f.to_vec()),
            ],
            0..40,
        ),
        actions in proptest::collection::vec(0u8..6, 0..40),
    ) {
        let start = Instant::now();
        let mut sb = if outgoing {
            alice_out(&["bob@example.com"], "k")
        } else {
            Switchboard::incoming("alice@example.com", "k", "s", start)
        };
        sb.handle_connected(start);
        let mut now = start;
        let mut closed_events = 0;
        for (i, chunk) in chunks.iter().enumerate() {
            now += Duration::from_secs(3);
            sb.handle_input(chunk, now);
            match actions.get(i).copied().unwrap_or(0) {
                1 => sb.send_message(i as u64, AckMode::Acknowledged, chunk.clone(), now),
                2 => sb.send_message(i as u64, AckMode::NakOnly, vec![b'x'; 1700], now),
                3 => sb.invite("carol@example.com", now),
                4 => sb.handle_timeout(now),
                5 => { let _ = sb.take_unresolved(); }
                _ => {}
            }
            while sb.poll_transmit().is_some() {}
            while let Some(e) = sb.poll_event() {
                if matches!(e, SbEvent::Closed { .. }) {
                    closed_events += 1;
                }
            }
            if let Some(t) = sb.poll_timeout() {
                prop_assert!(!sb.is_closed());
                if t <= now {
                    sb.handle_timeout(now);
                }
            }
        }
        sb.handle_closed(now);
        sb.leave();
        while let Some(e) = sb.poll_event() {
            if matches!(e, SbEvent::Closed { .. }) {
                closed_events += 1;
            }
        }
        prop_assert_eq!(closed_events, 1);
        prop_assert!(sb.is_closed());
        let _ = sb.take_unresolved();
    }
}
