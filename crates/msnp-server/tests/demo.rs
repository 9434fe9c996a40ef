//! The demo: the demo account's lists, presence of virtual contacts, and the echo bot.

mod common;

use common::*;
use msnp::proto::command::{List, ServerCommand};
use msnp::proto::payload::{self, Payload};
use msnp_server::{Config, Server, DEMO_ACCOUNT, DEMO_BOT, DEMO_PASSWORD};

#[test]
fn demo_account_has_contacts_presence_and_an_echo_bot() {
    let mut cfg = Config::loopback(Vec::new());
    cfg.demo = true;
    let srv = Server::start(cfg).expect("demo server");
    let mut you = sign_in(srv.ns_addr(), DEMO_ACCOUNT, DEMO_PASSWORD);
    let reply = syn(&mut you, 0);
    let groups = reply
        .iter()
        .filter(|c| matches!(c, ServerCommand::Lsg { .. }))
        .count();
    assert_eq!(groups, 5);
    let count = |list: List| {
        reply
            .iter()
            .filter(
                |c| matches!(c, ServerCommand::Lst { list: l, entry: Some(_), .. } if *l == list),
            )
            .count()
    };
    assert_eq!(count(List::Forward), 41);
    assert_eq!(count(List::Allow), 41);
    assert_eq!(
        count(List::Reverse),
        42,
        "the newcomer is a pending request"
    );

    let t = you.cmd("CHG", "NLN");
    you.expect(&format!("CHG {t} NLN"));
    let initial = you.sync();
    let iln = initial.iter().filter(|l| l.starts_with("ILN ")).count();
    assert!(iln >= 20, "{initial:?}");
    assert!(initial.iter().any(|l| l.contains(DEMO_BOT)));
    assert!(initial.iter().any(|l| l.starts_with("ILN 6 AWY ")));

    // Chat with the bot: typing first, then the echo; a nudge is answered with a nudge.
    let mut sb = open_sb(&mut you);
    let t = sb.cmd("CAL", DEMO_BOT);
    assert!(sb.next_line().starts_with(&format!("CAL {t} RINGING")));
    sb.expect(&format!("JOI {DEMO_BOT} Echo%20Bot"));
    let t = sb.msg("A", &payload::text_message_plain("Hello, bot"));
    sb.expect(&format!("ACK {t}"));
    let next_payload = |sb: &mut Client| match sb.next() {
        ServerCommand::Msg {
            sender, payload, ..
        } => {
            assert_eq!(sender, DEMO_BOT);
            Payload::parse(&payload)
        }
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        next_payload(&mut sb),
        Payload::Typing { user } if user == DEMO_BOT
    ));
    assert!(matches!(
        next_payload(&mut sb),
        Payload::Text(t) if t.text == "Echo: Hello, bot"
    ));
    sb.msg("N", &payload::nudge());
    assert_eq!(next_payload(&mut sb), Payload::Nudge);
    sb.line("OUT");
    sb.expect_closed();
    assert!(srv.wait_for(WAIT, |s| s.switchboards().is_empty()));
    assert!(srv.sessions().iter().filter(|s| s.is_virtual).count() >= 20);
}
