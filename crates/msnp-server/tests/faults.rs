//! Fault injection through the handle: dropped sockets, closed switchboards, delayed replies,
//! raw bytes.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn dropped_session_looks_offline_to_watchers() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    befriend(&mut a, &mut b);
    assert!(srv.drop_session("bob@example.com"));
    assert!(b.expect_closed().is_empty());
    a.expect("FLN bob@example.com");
    assert!(srv.session("bob@example.com").is_none());
    assert!(!srv.drop_session("bob@example.com"));
}

#[test]
fn closed_switchboard_disconnects_everyone() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    let mut asb = open_sb(&mut a);
    let (mut bsb, _) = call(&mut asb, &mut b);
    asb.expect("JOI bob@example.com Bob");
    let sid = srv.switchboards()[0].session_id.clone();
    assert!(srv.close_switchboard(&sid));
    asb.expect_closed();
    bsb.expect_closed();
    assert!(srv.wait_for(WAIT, |s| s.switchboards().is_empty()));
    assert!(!srv.close_switchboard(&sid));
    // The notification sessions are untouched.
    assert!(a.sync().is_empty());
}

#[test]
fn replies_can_be_delayed() {
    let srv = server();
    let mut a = online(srv.ns_addr(), "alice@example.com");
    assert!(srv.set_reply_delay("alice@example.com", Duration::from_millis(300)));
    let start = Instant::now();
    a.sync();
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert!(srv.set_reply_delay("alice@example.com", Duration::ZERO));
    a.sync();
}

#[test]
fn raw_bytes_reach_the_client() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    assert!(srv.send_line("alice@example.com", "NLN NLN ghost@example.com Ghost"));
    a.expect("NLN NLN ghost@example.com Ghost");
    assert!(srv.send_raw("alice@example.com", b"MSG Hotmail Hotmail 2\r\nhi"));
    assert_eq!(a.next_line(), "MSG Hotmail Hotmail 2");
    assert!(!srv.send_line("nobody@example.com", "QNG"));

    let mut b = online(addr, "bob@example.com");
    let mut asb = open_sb(&mut a);
    let (mut bsb, _) = call(&mut asb, &mut b);
    asb.expect("JOI bob@example.com Bob");
    let sid = srv.switchboards()[0].session_id.clone();
    assert!(srv.send_raw_sb("bob@example.com", &sid, b"BYE nobody@example.com\r\n"));
    bsb.expect("BYE nobody@example.com");
}
