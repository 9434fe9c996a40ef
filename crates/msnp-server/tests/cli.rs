//! The command-line binary: starts on an ephemeral port, prints its address, serves sign-ins.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;

#[test]
fn binary_serves_accounts_from_the_command_line_and_a_file() {
    let accounts =
        std::env::temp_dir().join(format!("msnp-cli-accounts-{}.json", std::process::id()));
    std::fs::write(
        &accounts,
        br#"[{"passport": "carol@example.com", "password": "carolpw", "display_name": "Carol C."}]"#,
    )
    .expect("write accounts");
    let mut child = Command::new(env!("CARGO_BIN_EXE_msnp-server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--account",
            "alice@example.com:alicepw",
        ])
        .arg("--accounts")
        .arg(&accounts)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("read");
    let addr = first
        .trim()
        .rsplit(' ')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {first:?}"));
    let mut a = sign_in(addr, "alice@example.com", "alicepw");
    assert!(a.sync().is_empty());
    let mut c = sign_in(addr, "carol@example.com", "carolpw");
    assert!(c.sync().is_empty());
    child.kill().expect("kill");
    let _ = child.wait();
    let _ = std::fs::remove_file(&accounts);
}

#[test]
fn binary_refuses_bad_options() {
    let status = Command::new(env!("CARGO_BIN_EXE_msnp-server"))
        .arg("--bogus")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run");
    assert_eq!(status.code(), Some(2));
}
