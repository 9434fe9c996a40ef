//! Switchboard: chat with ACK, a third participant, NAK when alone, oversize messages, idle and
//! unauthenticated timeouts, cookies.

mod common;

use std::time::Duration;

use common::*;
use msnp::proto::command::ServerCommand;

const TEXT: &[u8] = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHello";

#[test]
fn one_to_one_chat_with_ack() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    befriend(&mut a, &mut b);
    let mut asb = open_sb(&mut a);
    let (mut bsb, iro) = call(&mut asb, &mut b);
    assert_eq!(iro, vec!["IRO 1 1 1 alice@example.com Alice"]);
    asb.expect("JOI bob@example.com Bob");

    let t = asb.msg("A", TEXT);
    match bsb.next() {
        ServerCommand::Msg {
            sender,
            sender_name,
            payload,
        } => {
            assert_eq!(sender, "alice@example.com");
            assert_eq!(sender_name.as_wire(), "Alice");
            assert_eq!(payload, TEXT);
        }
        other => panic!("{other:?}"),
    }
    asb.expect(&format!("ACK {t}"));

    // N and U get no reply on success.
    bsb.msg("N", TEXT);
    bsb.msg("U", TEXT);
    // Bob's round trip first: once it is back, both relays sit in alice's queue before her own.
    assert!(bsb.sb_sync().is_empty());
    assert_eq!(
        asb.sb_sync(),
        vec![format!("MSG bob@example.com Bob {}", TEXT.len()); 2]
    );
    let sbs = srv.switchboards();
    assert_eq!(sbs.len(), 1);
    assert_eq!(
        sbs[0].participants,
        vec!["alice@example.com", "bob@example.com"]
    );

    // Leaving: the other gets BYE, the leaver's connection closes.
    bsb.line("OUT");
    bsb.expect_closed();
    asb.expect("BYE bob@example.com");
    asb.line("OUT");
    asb.expect_closed();
    assert!(srv.wait_for(WAIT, |s| s.switchboards().is_empty()));
}

#[test]
fn third_person_is_invited() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    let mut c = online(addr, "carol@example.com");
    let mut asb = open_sb(&mut a);
    let (mut bsb, _) = call(&mut asb, &mut b);
    asb.expect("JOI bob@example.com Bob");
    let (mut csb, iro) = call(&mut asb, &mut c);
    assert_eq!(
        iro,
        vec![
            "IRO 1 1 2 alice@example.com Alice",
            "IRO 1 2 2 bob@example.com Bob",
        ]
    );
    asb.expect("JOI carol@example.com Carol%20C.");
    bsb.expect("JOI carol@example.com Carol%20C.");

    // Calling someone already there, or oneself: 215; bad address 208; offline 217.
    let t = asb.cmd("CAL", "bob@example.com");
    asb.expect(&format!("215 {t}"));
    let t = asb.cmd("CAL", "@@a");
    asb.expect(&format!("208 {t}"));
    let t = asb.cmd("CAL", "dave@example.com");
    asb.expect(&format!("217 {t}"));
    let t = asb.cmd("CAL", "nobody@example.com");
    asb.expect(&format!("217 {t}"));

    let t = csb.msg("A", TEXT);
    let relayed = format!("MSG carol@example.com Carol%20C. {}", TEXT.len());
    asb.expect(&relayed);
    bsb.expect(&relayed);
    csb.expect(&format!("ACK {t}"));
    csb.line("OUT");
    asb.expect("BYE carol@example.com");
    bsb.expect("BYE carol@example.com");
}

#[test]
fn message_when_alone_gets_nak() {
    let srv = server();
    let mut a = online(srv.ns_addr(), "alice@example.com");
    let mut asb = open_sb(&mut a);
    let t = asb.msg("A", TEXT);
    asb.expect(&format!("NAK {t}"));
    let t = asb.msg("N", TEXT);
    asb.expect(&format!("NAK {t}"));
    asb.msg("U", TEXT);
    assert!(asb.sb_sync().is_empty());
}

#[test]
fn oversize_message_closes_the_connection() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    let mut asb = open_sb(&mut a);
    let (mut bsb, _) = call(&mut asb, &mut b);
    asb.expect("JOI bob@example.com Bob");
    // Exactly 1664 bytes is fine.
    let big = vec![b'x'; 1664];
    let t = asb.msg("A", &big);
    bsb.next();
    asb.expect(&format!("ACK {t}"));
    // 1665 bytes closes the sender's connection; the message is not delivered.
    let too_big = vec![b'x'; 1665];
    asb.msg("A", &too_big);
    assert!(asb.expect_closed().is_empty());
    bsb.expect("BYE alice@example.com");
}

#[test]
fn bad_ack_mode_closes_the_connection() {
    let srv = server();
    let mut a = online(srv.ns_addr(), "alice@example.com");
    let mut asb = open_sb(&mut a);
    asb.msg("a", TEXT);
    assert!(asb.expect_closed().is_empty());
}

#[test]
fn idle_switchboard_is_closed() {
    let srv = server_with(|c| c.sb_idle_timeout = Duration::from_secs(1));
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    let mut asb = open_sb(&mut a);
    let (mut bsb, _) = call(&mut asb, &mut b);
    asb.expect("JOI bob@example.com Bob");
    // Both connections go quiet and are closed by the server; the NS is not affected.
    let _ = asb.expect_closed();
    let _ = bsb.expect_closed();
    assert!(srv.wait_for(WAIT, |s| s.switchboards().is_empty()));
    assert!(a.sync().is_empty());
}

#[test]
fn unauthenticated_switchboard_socket_is_closed() {
    let srv = server_with(|c| c.auth_timeout = Duration::from_millis(200));
    let mut s = Client::connect(srv.sb_addr());
    assert!(s.expect_closed().is_empty());
}

#[test]
fn cookies_are_single_use_and_checked() {
    let srv = server();
    let mut a = online(srv.ns_addr(), "alice@example.com");
    let t = a.cmd("XFR", "SB");
    let (addr, cookie) = match a.next() {
        ServerCommand::XfrSb {
            trid,
            address,
            cookie,
        } if trid == t => (address, cookie),
        other => panic!("{other:?}"),
    };
    let sb_addr: std::net::SocketAddr = addr.parse().expect("addr");
    // Wrong account: 911 and close.
    let mut s = Client::connect(sb_addr);
    s.line(&format!("USR 1 bob@example.com {cookie}"));
    assert_eq!(s.expect_closed(), vec!["911 1"]);
    // Commands before USR close the connection.
    let mut s = Client::connect(sb_addr);
    s.line("CAL 1 bob@example.com");
    assert!(s.expect_closed().is_empty());
    // Right account works once.
    let mut s = Client::connect(sb_addr);
    s.line(&format!("USR 1 alice@example.com {cookie}"));
    s.expect("USR 1 OK alice@example.com Alice");
    let mut s2 = Client::connect(sb_addr);
    s2.line(&format!("USR 1 alice@example.com {cookie}"));
    assert_eq!(s2.expect_closed(), vec!["911 1"]);
    // ANS with a made-up session.
    let mut s3 = Client::connect(sb_addr);
    s3.line("ANS 1 alice@example.com 123.456 789");
    assert_eq!(s3.expect_closed(), vec!["911 1"]);
}

#[test]
fn xfr_sb_needs_a_visible_status() {
    let srv = server();
    let mut a = online(srv.ns_addr(), "alice@example.com");
    let t = a.cmd("CHG", "HDN");
    a.expect(&format!("CHG {t} HDN"));
    let t = a.cmd("XFR", "SB");
    a.expect(&format!("913 {t}"));
}

#[test]
fn malformed_switchboard_commands_close_only_that_connection() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    let mut asb = open_sb(&mut a);
    let (mut bsb, _) = call(&mut asb, &mut b);
    asb.expect("JOI bob@example.com Bob");
    let t = asb.cmd("USR", "alice@example.com 123");
    asb.expect(&format!("715 {t}"));
    let t = asb.cmd("FOO", "bar");
    asb.expect(&format!("200 {t}"));
    // CAL without an address: the connection is closed; Bob stays and is told.
    asb.line("CAL 9");
    assert!(asb.expect_closed().is_empty());
    bsb.expect("BYE alice@example.com");
    assert!(bsb.sb_sync().is_empty());
    assert!(a.sync().is_empty());
}
