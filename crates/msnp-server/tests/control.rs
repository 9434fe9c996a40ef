//! The `--control` channel: answers from the library function and through the binary's pipes.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::*;
use msnp_server::control::{answer, ANSWER_PREFIX};
use serde_json::{json, Value};

#[test]
fn queries_and_faults_answer_with_the_server_state() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    befriend(&mut a, &mut b);
    let mut asb = open_sb(&mut a);
    let (mut bsb, _) = call(&mut asb, &mut b);
    asb.expect("JOI bob@example.com Bob");

    let sessions = answer(&srv, r#"{"cmd": "sessions", "id": 7}"#);
    assert_eq!(sessions["ok"], true, "{sessions}");
    assert_eq!(sessions["id"], 7);
    let accounts: Vec<&str> = sessions["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["alice@example.com", "bob@example.com"]);
    assert_eq!(sessions["result"][0]["status"], "NLN");

    let versions = answer(
        &srv,
        r#"{"cmd": "syn-versions", "passport": "alice@example.com"}"#,
    );
    assert_eq!(
        versions["result"],
        json!(srv.syn_versions("alice@example.com"))
    );
    let data = answer(&srv, r#"{"cmd": "account", "passport": "bob@example.com"}"#);
    assert_eq!(
        data["result"]["version"],
        srv.account("bob@example.com").unwrap().version
    );

    // Closing the switchboards of an account that takes part in none closes nothing.
    let none = answer(
        &srv,
        r#"{"cmd": "close-switchboards", "passport": "carol@example.com"}"#,
    );
    assert_eq!(none["result"], json!([]));
    let sid = srv.switchboards()[0].session_id.clone();
    let closed = answer(
        &srv,
        r#"{"cmd": "close-switchboards", "passport": "BOB@example.com"}"#,
    );
    assert_eq!(closed["result"], json!([sid]));
    asb.expect_closed();
    bsb.expect_closed();

    assert_eq!(
        answer(
            &srv,
            r#"{"cmd": "drop-session", "passport": "bob@example.com"}"#
        )["result"],
        true
    );
    a.expect("FLN bob@example.com");
}

#[test]
fn bad_requests_get_errors_not_panics() {
    let srv = server();
    for (line, error) in [
        ("not json", "not JSON"),
        ("[1, 2]", "a request is a JSON object"),
        ("{}", "missing \"cmd\""),
        (r#"{"cmd": "explode"}"#, "unknown command \"explode\""),
        (
            r#"{"cmd": "account"}"#,
            "missing string argument \"passport\"",
        ),
        (
            r#"{"cmd": "account", "passport": "nobody@example.com"}"#,
            "no account",
        ),
        (
            r#"{"cmd": "set-reply-delay", "passport": "a@b.c"}"#,
            "missing number",
        ),
    ] {
        let out = answer(&srv, line);
        assert_eq!(out["ok"], false, "{line}: {out}");
        let text = out["error"].as_str().unwrap();
        assert!(text.contains(error), "{line}: {text}");
    }
    let long = format!(r#"{{"cmd": "help", "pad": "{}"}}"#, "x".repeat(70_000));
    assert_eq!(answer(&srv, &long)["ok"], false);
}

#[test]
fn binary_answers_on_stdout_and_keeps_serving() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_msnp-server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--account",
            "alice@example.com:alicepw",
        ])
        .args(["--no-msnp8", "--control"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    writeln!(
        stdin,
        "{{\"cmd\": \"help\"}}\n\n{{\"cmd\": \"connection-count\"}}"
    )
    .unwrap();
    let mut answers = Vec::new();
    let mut line = String::new();
    while answers.len() < 2 {
        line.clear();
        assert_ne!(out.read_line(&mut line).expect("read"), 0, "stdout closed");
        if let Some(json) = line.trim_end().strip_prefix(ANSWER_PREFIX) {
            answers.push(serde_json::from_str::<Value>(json).expect("an answer is JSON"));
        }
    }
    assert_eq!(answers[0]["cmd"], "help");
    assert!(answers[0]["result"].as_array().unwrap().len() > 5);
    assert_eq!(answers[1]["result"], 0);
    // stdin closing does not stop the server.
    drop(stdin);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "server exited"
    );
    child.kill().ok();
    child.wait().ok();
}
