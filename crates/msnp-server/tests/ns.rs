//! Notification server: sign-in, SYN, presence, duplicate sign-in, malformed input, challenges,
//! dispatch and shutdown.

mod common;

use common::*;
use msnp::proto::auth::{challenge_answer, md5_login_hash, CHALLENGE_CLIENT_KEY};
use msnp::proto::command::{List, ServerCommand, Status};

#[test]
fn sign_in_with_the_right_password() {
    let srv = server();
    let mut c = sign_in(srv.ns_addr(), "alice@example.com", "alicepw");
    assert!(c.sync().is_empty());
    let s = srv.session("alice@example.com").expect("signed in");
    assert_eq!(s.status, None);
}

#[test]
fn wrong_password_gets_911_and_close() {
    let srv = server();
    let mut c = Client::connect(srv.ns_addr());
    c.line("VER 1 MSNP7 CVR0");
    c.expect("VER 1 MSNP7 CVR0");
    c.line("USR 2 MD5 I alice@example.com");
    let salt = match c.next() {
        ServerCommand::UsrMd5Salt { salt, .. } => salt,
        other => panic!("{other:?}"),
    };
    c.line(&format!("USR 3 MD5 S {}", md5_login_hash(&salt, "wrong")));
    assert_eq!(c.expect_closed(), vec!["911 3"]);
    assert!(srv.session("alice@example.com").is_none());
}

#[test]
fn unknown_account_gets_a_salt_then_911() {
    let srv = server();
    let mut c = Client::connect(srv.ns_addr());
    c.line("VER 1 MSNP7");
    c.expect("VER 1 MSNP7");
    c.line("USR 2 MD5 I nobody@example.com");
    assert!(c.next_line().starts_with("USR 2 MD5 S "));
    c.line("USR 3 MD5 S 0123456789abcdef0123456789abcdef");
    assert_eq!(c.expect_closed(), vec!["911 3"]);
}

#[test]
fn salts_differ_between_logins() {
    let srv = server();
    let salt = || {
        let mut c = Client::connect(srv.ns_addr());
        c.line("VER 1 MSNP7");
        c.next_line();
        c.line("USR 2 MD5 I alice@example.com");
        c.next_line()
    };
    assert_ne!(salt(), salt());
}

#[test]
fn ver_without_a_common_dialect_gets_0_and_close() {
    let srv = server();
    let mut c = Client::connect(srv.ns_addr());
    c.line("VER 1 MSNP12 MSNP11");
    assert_eq!(c.expect_closed(), vec!["VER 1 0"]);
    // The highest dialect offered that the server speaks: MSNP8, or MSNP7 without it.
    let mut c = Client::connect(srv.ns_addr());
    c.line("VER 1 MSNP8 MSNP7 CVR0");
    c.expect("VER 1 MSNP8 CVR0");
    let srv7 = server_with(|c| c.msnp8 = false);
    let mut c = Client::connect(srv7.ns_addr());
    c.line("VER 1 MSNP8 MSNP7 CVR0");
    c.expect("VER 1 MSNP7 CVR0");
}

#[test]
fn syn_with_old_and_current_version() {
    let srv = server();
    let mut a = sign_in(srv.ns_addr(), "alice@example.com", "alicepw");
    // Nothing cached (0): a fresh account's full, empty data at its first version (1).
    let lines: Vec<String> = syn(&mut a, 0).iter().map(|c| c.to_frame().line).collect();
    assert_eq!(lines.first().map(String::as_str), Some("SYN 5 1"));
    assert_eq!(lines.last().map(String::as_str), Some("LST 5 RL 1 0 0"));
    // Make a change so that the version moves.
    let t = a.cmd("ADD", "FL bob@example.com bob@example.com 0");
    assert_eq!(
        a.next_line(),
        format!("ADD {t} FL 2 bob@example.com bob@example.com 0")
    );
    drop(a);
    srv.wait_for(WAIT, |s| s.session("alice@example.com").is_none());

    // An old version gets the complete data set (canonical order, transcripts.md §2.1).
    let mut a = sign_in(srv.ns_addr(), "alice@example.com", "alicepw");
    let lines: Vec<String> = syn(&mut a, 1).iter().map(|c| c.to_frame().line).collect();
    assert_eq!(
        lines,
        [
            "SYN 5 2",
            "GTC 5 2 A",
            "BLP 5 2 AL",
            "PRP 5 2 PHH",
            "PRP 5 2 PHW",
            "PRP 5 2 PHM",
            "PRP 5 2 MOB N",
            "PRP 5 2 MBE N",
            "LSG 5 2 1 1 0 Other%20Contacts 0",
            "LST 5 FL 2 1 1 bob@example.com bob@example.com 0",
            "LST 5 AL 2 0 0",
            "LST 5 BL 2 0 0",
            "LST 5 RL 2 0 0",
        ]
    );
    drop(a);
    srv.wait_for(WAIT, |s| s.session("alice@example.com").is_none());

    // A current cache gets only the version (transcripts.md §2.2).
    let mut a = sign_in(srv.ns_addr(), "alice@example.com", "alicepw");
    let lines: Vec<String> = syn(&mut a, 2).iter().map(|c| c.to_frame().line).collect();
    assert_eq!(lines, ["SYN 5 2"]);
    assert!(a.sync().is_empty());
    assert_eq!(srv.syn_versions("alice@example.com"), vec![0, 1, 2]);
    // Bob's RL gained alice, with Bob's own version bumped.
    let bob = srv.account("bob@example.com").expect("bob");
    assert!(bob.rl.contains_key("alice@example.com"));
    assert_eq!(bob.version, 2);
}

#[test]
fn mutual_add_shows_presence_both_ways() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");

    let t = a.cmd("ADD", "FL bob@example.com bob@example.com 0");
    // Canonical: after ADD FL in a synced session, four BPR lines; Bob allows alice (BLP AL),
    // so alice also gets ILN with the ADD's TrID.
    assert_eq!(
        a.next_line(),
        format!("ADD {t} FL 2 bob@example.com bob@example.com 0")
    );
    assert_eq!(a.next_line(), "BPR 2 bob@example.com PHH");
    assert_eq!(a.next_line(), "BPR 2 bob@example.com PHW");
    assert_eq!(a.next_line(), "BPR 2 bob@example.com PHM");
    assert_eq!(a.next_line(), "BPR 2 bob@example.com MOB N");
    assert_eq!(a.next_line(), format!("ILN {t} NLN bob@example.com Bob"));
    b.expect("ADD 0 RL 2 alice@example.com Alice");

    let t = b.cmd("ADD", "FL alice@example.com alice@example.com 0");
    b.until(|l| l == format!("ILN {t} NLN alice@example.com Alice"));
    a.expect("ADD 0 RL 3 bob@example.com Bob");

    // Status changes reach the watcher.
    let t = b.cmd("CHG", "AWY");
    b.expect(&format!("CHG {t} AWY"));
    a.expect("NLN AWY bob@example.com Bob");
    // A display-name change too.
    let t = b.cmd("REA", "bob@example.com Bobby%20B");
    b.expect(&format!("REA {t} 4 bob@example.com Bobby%20B"));
    a.expect("NLN AWY bob@example.com Bobby%20B");
    // Hidden looks offline.
    b.cmd("CHG", "HDN");
    a.expect("FLN bob@example.com");
    b.cmd("CHG", "BSY");
    a.expect("NLN BSY bob@example.com Bobby%20B");
    // Signing out.
    b.line("OUT");
    b.expect_closed();
    a.expect("FLN bob@example.com");

    // The first CHG of a new session gives ILN for online contacts.
    let mut b = sign_in(addr, "bob@example.com", "bobpw");
    let t = b.cmd("CHG", "NLN");
    b.expect(&format!("CHG {t} NLN"));
    b.expect(&format!("ILN {t} NLN alice@example.com Alice"));
    a.expect("NLN NLN bob@example.com Bobby%20B");
    assert_eq!(
        srv.session("bob@example.com").and_then(|s| s.status),
        Some(Status::Online)
    );
}

#[test]
fn no_presence_before_the_first_chg() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    befriend(&mut a, &mut b);
    b.line("OUT");
    b.expect_closed();
    a.expect("FLN bob@example.com");
    // Bob signs in but sends no CHG: alice sees nothing, and Bob cannot open a switchboard.
    let mut b = sign_in(addr, "bob@example.com", "bobpw");
    let t = b.cmd("XFR", "SB");
    b.expect(&format!("913 {t}"));
    assert!(a.sync().is_empty());
    // Alice changes status: Bob (no CHG yet) is not told.
    a.cmd("CHG", "BSY");
    a.sync();
    assert!(b.sync().is_empty());
}

#[test]
fn duplicate_sign_in_sends_out_oth() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");
    befriend(&mut a, &mut b);
    let _a2 = sign_in(addr, "alice@example.com", "alicepw");
    assert_eq!(a.expect_closed(), vec!["OUT OTH"]);
    // The new session has not sent CHG yet: alice looks offline to Bob.
    b.expect("FLN alice@example.com");
}

#[test]
fn malformed_input_gets_errors_and_others_keep_working() {
    let srv = server();
    let addr = srv.ns_addr();
    let mut a = online(addr, "alice@example.com");
    let mut b = online(addr, "bob@example.com");

    a.line("FOO 9 bar");
    a.expect("200 9");
    a.line("ADD 10 XL bob@example.com bob@example.com");
    a.expect("201 10");
    a.line("ADD 11 FL");
    a.expect("300 11");
    a.line("SYN 12 abc");
    a.expect("201 12");
    a.line("CHG 13 FLN");
    a.expect("201 13");
    a.line("CHG 14 XYZ");
    a.expect("201 14");
    a.line("ADD 15 FL a@b a@b 0");
    a.expect("201 15");
    a.line("ADD 16 FL nobody@example.com nobody@example.com 0");
    a.expect("205 16");
    a.line("XFR 17 NS");
    a.expect("201 17");
    a.line("PRP 18 MFN Alice");
    a.expect("715 18");
    a.line("USR 19 MD5 I alice@example.com");
    a.expect("207 19");
    a.line("VER 20 MSNP7");
    assert_eq!(a.expect_closed(), vec!["715 20"]);

    // Bob is unaffected; binary junk and an RL edit close only the offender.
    let mut c = online(addr, "carol@example.com");
    c.raw(b"NLN \xff\xfe\r\n");
    c.expect_closed();
    let mut d = online(addr, "dave@example.com");
    d.line("ADD 9 RL bob@example.com bob@example.com");
    d.expect_closed();
    let mut e = Client::connect(addr);
    e.line("VER x MSNP7");
    e.expect_closed();
    let mut f = Client::connect(addr);
    f.line("VER 1 MSNP7");
    f.next_line();
    f.line("SYN 2 0");
    f.expect("302 2");
    f.line("PNG");
    f.expect_closed();
    let t = b.cmd("CHG", "BSY");
    b.expect(&format!("CHG {t} BSY"));
    assert!(b.sync().is_empty());
}

#[test]
fn payload_length_that_is_not_a_number_closes() {
    let srv = server();
    let mut a = online(srv.ns_addr(), "alice@example.com");
    a.line("QRY 7 msmsgs@msnmsgr.com x");
    a.expect_closed();
}

#[test]
fn challenge_right_answer_is_accepted() {
    let srv = server_with(|c| c.challenges = true);
    let mut a = sign_in(srv.ns_addr(), "alice@example.com", "alicepw");
    let t = a.cmd("CHG", "NLN");
    a.expect(&format!("CHG {t} NLN"));
    let challenge = match a.next() {
        ServerCommand::Chl { trid: 0, challenge } => challenge,
        other => panic!("expected CHL, got {other:?}"),
    };
    let t = a.tr();
    let answer = challenge_answer(&challenge, CHALLENGE_CLIENT_KEY);
    a.raw(format!("QRY {t} msmsgs@msnmsgr.com 32\r\n{answer}").as_bytes());
    a.expect(&format!("QRY {t}"));
    assert!(a.sync().is_empty());
    // A challenge sent through the handle, answered with another listed product key.
    let challenge = srv.send_challenge("alice@example.com").expect("sent");
    a.expect(&format!("CHL 0 {challenge}"));
    let key = msnp::proto::auth::challenge_key_for("PROD0038W!61ZTF9").expect("key");
    let t = a.tr();
    let answer = challenge_answer(&challenge, key);
    a.raw(format!("QRY {t} PROD0038W!61ZTF9 32\r\n{answer}").as_bytes());
    a.expect(&format!("QRY {t}"));
}

#[test]
fn challenge_wrong_answer_gets_540_and_close() {
    let srv = server();
    let mut a = online(srv.ns_addr(), "alice@example.com");
    let challenge = srv.send_challenge("alice@example.com").expect("sent");
    a.expect(&format!("CHL 0 {challenge}"));
    a.raw(b"QRY 20 msmsgs@msnmsgr.com 32\r\n0123456789abcdef0123456789abcdef");
    assert_eq!(a.expect_closed(), vec!["540 20"]);
}

#[test]
fn unanswered_challenge_closes() {
    let srv = server_with(|c| c.challenge_timeout = std::time::Duration::from_millis(200));
    let mut a = online(srv.ns_addr(), "alice@example.com");
    let challenge = srv.send_challenge("alice@example.com").expect("sent");
    assert_eq!(a.expect_closed(), vec![format!("CHL 0 {challenge}")]);
}

#[test]
fn dispatch_redirects_to_the_notification_server() {
    let srv = server_with(|c| c.dispatch = true);
    assert_ne!(srv.ns_addr(), srv.notification_addr());
    let mut ds = Client::connect(srv.ns_addr());
    ds.line("VER 1 MSNP7 CVR0");
    ds.expect("VER 1 MSNP7 CVR0");
    ds.line("INF 2");
    ds.expect("INF 2 MD5");
    ds.line("USR 3 MD5 I alice@example.com");
    assert_eq!(
        ds.expect_closed(),
        vec![format!(
            "XFR 3 NS {} 0 {}",
            srv.notification_addr(),
            srv.ns_addr()
        )]
    );
    let mut a = sign_in(srv.notification_addr(), "alice@example.com", "alicepw");
    assert!(a.sync().is_empty());
}

#[test]
fn shutdown_sends_out_ssd() {
    let srv = server();
    let mut a = online(srv.ns_addr(), "alice@example.com");
    srv.shutdown();
    assert_eq!(a.expect_closed(), vec!["OUT SSD"]);
}

#[test]
fn misc_commands_answer() {
    let srv = server();
    let mut a = online(srv.ns_addr(), "alice@example.com");
    let t = a.cmd("URL", "INBOX");
    assert!(a
        .next_line()
        .starts_with(&format!("URL {t} /cgi-bin/HoTMaiL ")));
    let t = a.cmd("SND", "x@example.com 0x0409 MSMSGS MSMSGS");
    a.expect(&format!("SND {t} OK"));
    let t = a.cmd("IMS", "OFF");
    a.expect(&format!("IMS {t} 0 OFF"));
    let t = a.cmd("GTC", "N");
    a.expect(&format!("GTC {t} 2 N"));
    let t = a.cmd("GTC", "N");
    a.expect(&format!("218 {t}"));
    let t = a.cmd("PRP", "PHH 555%201234");
    a.expect(&format!("PRP {t} 3 PHH 555%201234"));
    let reply = syn(&mut a, 0);
    let t = reply[0].trid().expect("trid");
    let lines: Vec<String> = reply.iter().map(|c| c.to_frame().line).collect();
    assert!(
        lines.contains(&format!("PRP {t} 3 PHH 555%201234")),
        "{lines:?}"
    );
    assert!(matches!(
        reply.last(),
        Some(ServerCommand::Lst {
            list: List::Reverse,
            ..
        })
    ));
}
