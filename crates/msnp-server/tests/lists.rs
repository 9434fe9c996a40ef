//! List, group and privacy editing: errors, reverse-list effects, blocking, BLP.

mod common;

use common::*;
use msnp::proto::command::{Privacy, ServerCommand};

#[test]
fn block_hides_presence_and_refuses_calls() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    befriend(&mut a, &mut b);
    // Alice blocks Bob: off the AL, onto the BL. Bob sees her go offline.
    let t = a.cmd("REM", "AL bob@example.com");
    a.expect(&format!("REM {t} AL 5 bob@example.com"));
    assert!(b.sync().is_empty(), "BLP AL still allows Bob");
    let t = a.cmd("ADD", "BL bob@example.com Bob");
    a.expect(&format!("ADD {t} BL 6 bob@example.com Bob"));
    b.expect("FLN alice@example.com");
    // Status changes are no longer told to Bob.
    a.cmd("CHG", "AWY");
    a.sync();
    assert!(b.sync().is_empty());
    // Bob cannot call alice.
    let mut bsb = open_sb(&mut b);
    let t = bsb.cmd("CAL", "alice@example.com");
    bsb.expect(&format!("217 {t}"));
    // Adding to AL while on BL: 219. Unblocking brings the presence back.
    let t = a.cmd("ADD", "AL bob@example.com Bob");
    a.expect(&format!("219 {t}"));
    let t = a.cmd("REM", "BL bob@example.com");
    a.expect(&format!("REM {t} BL 7 bob@example.com"));
    b.expect("NLN AWY alice@example.com Alice");
    // Alice still sees Bob all along (blocking is one-way).
    b.cmd("CHG", "BSY");
    a.expect("NLN BSY bob@example.com Bob");
}

#[test]
fn blp_bl_without_and_with_al() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    let mut c = online(addr, "carol@example.com");
    // Bob and Carol follow alice; alice allows only Carol explicitly.
    b.cmd("ADD", "FL alice@example.com alice@example.com 0");
    b.until(|l| l.starts_with("ILN "));
    c.cmd("ADD", "FL alice@example.com alice@example.com 0");
    c.until(|l| l.starts_with("ILN "));
    let t = a.cmd("ADD", "AL carol@example.com Carol");
    a.until(|l| l.starts_with(&format!("ADD {t} AL")));
    // BLP BL: Bob (not on AL) loses alice's presence, Carol keeps it.
    let t = a.cmd("BLP", "BL");
    a.until(|l| l.starts_with(&format!("BLP {t} ")));
    b.expect("FLN alice@example.com");
    assert!(c.sync().is_empty());
    let t = a.cmd("BLP", "BL");
    a.expect(&format!("218 {t}"));
    // Bob cannot call alice, Carol can.
    let mut bsb = open_sb(&mut b);
    let t = bsb.cmd("CAL", "alice@example.com");
    bsb.expect(&format!("217 {t}"));
    let mut csb = open_sb(&mut c);
    let t = csb.cmd("CAL", "alice@example.com");
    assert!(csb.next_line().starts_with(&format!("CAL {t} RINGING ")));
    assert!(
        matches!(a.next(), ServerCommand::Rng { inviter, .. } if inviter == "carol@example.com")
    );
    // Back to BLP AL: Bob sees alice again.
    a.cmd("BLP", "AL");
    b.expect("NLN NLN alice@example.com Alice");
    assert_eq!(
        srv.account("alice@example.com").map(|d| d.blp),
        Some(Privacy::AllowAll)
    );
    // A value other than AL/BL closes the connection.
    a.line("BLP 99 XX");
    a.expect_closed();
}

#[test]
fn groups_add_rename_remove_and_errors() {
    let srv = server_with(|c| c.max_groups = 3);
    let mut a = online(srv.ns_addr(), "alice@example.com");
    let t = a.cmd("ADG", "Friends 0");
    a.expect(&format!("ADG {t} 2 Friends 1 0"));
    let t = a.cmd("ADG", "Friends 0");
    a.expect(&format!("228 {t}"));
    let long = "x".repeat(62);
    let t = a.cmd("ADG", &format!("{long} 0"));
    a.expect(&format!("229 {t}"));
    let t = a.cmd("ADG", &format!("{} 0", "y".repeat(61)));
    a.until(|l| l.starts_with(&format!("ADG {t} 3 ")));
    let t = a.cmd("ADG", "Third 0");
    a.expect(&format!("223 {t}"));
    let t = a.cmd("REG", "1 Best%20Friends 0");
    a.expect(&format!("REG {t} 4 1 Best%20Friends 0"));
    let t = a.cmd("REG", "9 Nope 0");
    a.expect(&format!("224 {t}"));
    let t = a.cmd("REG", &format!("1 {long} 0"));
    a.expect(&format!("229 {t}"));
    // Contacts in groups; moving between groups; removing a membership.
    let t = a.cmd("ADD", "FL bob@example.com Bob 1");
    a.until(|l| l == format!("ADD {t} FL 5 bob@example.com Bob 1"));
    a.sync();
    let t = a.cmd("ADD", "FL bob@example.com Bob 1");
    a.expect(&format!("215 {t}"));
    let t = a.cmd("ADD", "FL bob@example.com Bob 7");
    a.expect(&format!("224 {t}"));
    let t = a.cmd("ADD", "FL bob@example.com Bob 2");
    a.expect(&format!("ADD {t} FL 6 bob@example.com Bob 2"));
    let t = a.cmd("REM", "FL bob@example.com 0");
    a.expect(&format!("225 {t}"));
    let t = a.cmd("REM", "FL bob@example.com 2");
    a.expect(&format!("REM {t} FL 7 bob@example.com 2"));
    let t = a.cmd("RMG", "0");
    a.expect(&format!("230 {t}"));
    let t = a.cmd("RMG", "5");
    a.expect(&format!("224 {t}"));
    // Removing group 1 ungroups Bob (he falls back to group 0).
    let t = a.cmd("RMG", "1");
    a.expect(&format!("RMG {t} 8 1"));
    let data = srv.account("alice@example.com").expect("alice");
    assert_eq!(
        data.fl
            .get("bob@example.com")
            .map(|e| e.groups.iter().copied().collect::<Vec<_>>()),
        Some(vec![0])
    );
    assert_eq!(data.groups.len(), 2);
    assert_eq!(data.version, 8);
    let t = a.cmd("ADG", "Again 0");
    a.expect(&format!("ADG {t} 9 Again 1 0"));
}

#[test]
fn list_errors_and_reverse_list_effects() {
    let srv = server_with(|c| c.max_list_entries = 2);
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    let t = a.cmd("ADD", "AL bob@example.com Bob");
    a.expect(&format!("ADD {t} AL 2 bob@example.com Bob"));
    let t = a.cmd("ADD", "AL bob@example.com Bob");
    a.expect(&format!("215 {t}"));
    let t = a.cmd("ADD", "BL bob@example.com Bob");
    a.expect(&format!("219 {t}"));
    let t = a.cmd("REM", "BL bob@example.com");
    a.expect(&format!("216 {t}"));
    let t = a.cmd("ADD", "AL carol@example.com Carol");
    a.expect(&format!("ADD {t} AL 3 carol@example.com Carol"));
    let t = a.cmd("ADD", "AL dave@example.com Dave");
    a.expect(&format!("210 {t}"));
    // ADD FL / REM FL: Bob is told through his RL.
    a.cmd("ADD", "FL bob@example.com Bob 0");
    b.expect("ADD 0 RL 2 alice@example.com Alice");
    let t = a.cmd("REM", "FL bob@example.com");
    a.until(|l| l == format!("REM {t} FL 5 bob@example.com"));
    b.expect("REM 0 RL 3 alice@example.com");
    let t = a.cmd("REM", "FL bob@example.com");
    a.expect(&format!("216 {t}"));
    // Renaming a contact that is not on any list.
    let t = a.cmd("REA", "dave@example.com Dave");
    a.expect(&format!("216 {t}"));
    let t = a.cmd("REA", "carol@example.com Caz");
    a.expect(&format!("REA {t} 6 carol@example.com Caz"));
    // An over-long display name closes the connection.
    a.line(&format!("REA 77 alice@example.com {}", "%41".repeat(130)));
    a.expect_closed();
    let bob = srv.account("bob@example.com").expect("bob");
    assert!(bob.rl.is_empty());
}

#[test]
fn phone_numbers_reach_allowed_followers() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    befriend(&mut a, &mut b);
    let t = a.cmd("PRP", "PHH 555%200100");
    a.expect(&format!("PRP {t} 5 PHH 555%200100"));
    b.expect("BPR 5 alice@example.com PHH 555%200100");
    // Bob's SYN carries alice's phone data after her LST FL line.
    let lines: Vec<String> = syn(&mut b, 0).iter().map(|c| c.to_frame().line).collect();
    let i = lines
        .iter()
        .position(|l| l.contains("FL 5 1 1 alice@example.com"))
        .expect("alice on FL");
    assert_eq!(
        lines[i + 1..i + 5],
        [
            "BPR 5 alice@example.com PHH 555%200100",
            "BPR 5 alice@example.com PHW",
            "BPR 5 alice@example.com PHM",
            "BPR 5 alice@example.com MOB N",
        ]
    );
}
