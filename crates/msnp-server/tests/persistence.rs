//! Persistence: lists, groups, settings, names and versions survive a restart with a state file.

mod common;

use std::path::PathBuf;

use common::*;
use msnp::proto::command::{AddPrompt, Privacy};
use msnp_server::{Config, Server};

/// A fresh path in the temporary directory (removed by the test).
fn temp_path(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "msnp-server-{name}-{}-{nanos}.json",
        std::process::id()
    ))
}

#[test]
fn restart_with_state_keeps_lists() {
    let path = temp_path("restart");
    let with_state = |c: &mut Config| c.state_path = Some(path.clone());
    let srv = server_with(with_state);
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    befriend(&mut a, &mut b);
    a.cmd("ADG", "Friends 0");
    a.cmd("ADD", "FL carol@example.com Carol 1");
    a.cmd("ADD", "BL dave@example.com Dave");
    a.cmd("BLP", "BL");
    a.cmd("GTC", "N");
    a.cmd("PRP", "PHM 555");
    a.cmd("REA", "alice@example.com Alice%20A.");
    a.sync();
    let before = srv.account("alice@example.com").expect("alice");
    let bob_before = srv.account("bob@example.com").expect("bob");
    srv.shutdown();
    assert!(path.exists());

    let srv = server_with(|c| c.state_path = Some(path.clone()));
    let after = srv.account("alice@example.com").expect("alice");
    assert_eq!(after, before);
    assert_eq!(srv.account("bob@example.com"), Some(bob_before));
    assert_eq!(after.blp, Privacy::BlockAll);
    assert_eq!(after.gtc, AddPrompt::DontAsk);
    assert_eq!(after.display_name, "Alice%20A.");
    assert!(after.fl.contains_key("carol@example.com"));
    // The client's cached version is still current after the restart.
    let mut a = sign_in(srv.ns_addr(), "alice@example.com", "alicepw");
    let lines: Vec<String> = syn(&mut a, before.version)
        .iter()
        .map(|c| c.to_frame().line)
        .collect();
    assert_eq!(lines, [format!("SYN 5 {}", before.version)]);
    drop(a);
    srv.shutdown();
    let _ = std::fs::remove_file(&path);
}

#[test]
fn changes_are_saved_while_running() {
    let path = temp_path("running");
    let srv = server_with(|c| c.state_path = Some(path.clone()));
    let mut a = online(srv.ns_addr(), "alice@example.com");
    a.cmd("ADG", "Work 0");
    a.sync();
    let saved = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    assert!(srv.wait_for(WAIT, |_| saved(&path).contains("Work")));
    srv.shutdown();
    let _ = std::fs::remove_file(&path);
}

#[test]
fn corrupt_state_is_refused_not_replaced() {
    let path = temp_path("corrupt");
    std::fs::write(&path, b"{ not json").expect("write");
    let mut cfg = Config::loopback(accounts());
    cfg.state_path = Some(path.clone());
    assert!(Server::start(cfg).is_err());
    assert_eq!(std::fs::read(&path).expect("still there"), b"{ not json");
    let _ = std::fs::remove_file(&path);
}
