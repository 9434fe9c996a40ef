//! Two and three `msnp::client` engines against the in-process server on 127.0.0.1: sign-in,
//! lists and presence, privacy, chat with ACKs, a third person invited, switchboard idle close
//! with re-send, sign-in elsewhere, restart with a state file, and a misbehaving client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

mod common;

use common::engine::{befriend, server_for as server_with, Client, ENGINE_WAIT as WAIT};
use msnp::client::{Event, Request};
use msnp::proto::command::{AckMode, List, Privacy, Status};
use msnp::proto::ns::{LoginError, NsEvent, NsRequest, SignOutReason};
use msnp::proto::payload;

#[test]
fn sign_in_right_and_wrong_password() {
    let server = server_with(&["alice@example.com"], |_| {});
    let mut ok = Client::start(&server, "alice@example.com", "pw");
    ok.wait(|e| matches!(e, Event::Ns(NsEvent::SignedIn { .. })));
    let mut bad = Client::start(&server, "alice@example.com", "nope");
    bad.wait(|e| {
        matches!(
            e,
            Event::Ns(NsEvent::LoginFailed(LoginError::AuthenticationFailed))
        )
    });
    ok.stop();
    bad.stop();
}

#[test]
fn mutual_add_presence_chat_with_ack_and_block() {
    let server = server_with(&["alice@example.com", "bob@example.com"], |_| {});
    let mut alice = Client::signed_in(&server, "alice@example.com");
    let mut bob = Client::signed_in(&server, "bob@example.com");
    befriend(&mut alice, &mut bob);
    bob.wait(|e| matches!(e, Event::Ns(NsEvent::AddedBy { account, .. }) if account == "alice@example.com"));

    // Status changes reach the other side.
    alice.ns(NsRequest::SetStatus(Status::Away));
    bob.wait(|e| matches!(e, Event::Ns(NsEvent::Presence { account, status: Status::Away, .. }) if account == "alice@example.com"));

    // A 1:1 chat with ACKs, both ways.
    alice.say(1, "bob@example.com", "hello bob ☕");
    alice.wait(|e| matches!(e, Event::MessageDelivered { id: 1 }));
    assert_eq!(bob.wait_text("alice@example.com").1, "hello bob ☕");
    bob.say(2, "alice@example.com", "hi alice");
    bob.wait(|e| matches!(e, Event::MessageDelivered { id: 2 }));
    assert_eq!(alice.wait_text("bob@example.com").1, "hi alice");

    // Alice blocks Bob: he sees her offline and cannot start a conversation.
    alice.ns(NsRequest::RemoveContact {
        list: List::Allow,
        account: "bob@example.com".into(),
        group: None,
    });
    alice.ns(NsRequest::AddContact {
        list: List::Block,
        account: "bob@example.com".into(),
        nick: None,
        group: None,
    });
    bob.wait_presence("alice@example.com", false);
    bob.send(Request::CloseConversation { conversation: 1 });
    bob.say(3, "alice@example.com", "are you there?");
    bob.wait(|e| matches!(e, Event::MessageFailed { id: 3, .. }));
    alice.stop();
    bob.stop();
}

#[test]
fn allow_list_only_privacy() {
    let server = server_with(
        &["alice@example.com", "bob@example.com", "carol@example.com"],
        |_| {},
    );
    let mut alice = Client::signed_in(&server, "alice@example.com");
    let mut bob = Client::signed_in(&server, "bob@example.com");
    let mut carol = Client::signed_in(&server, "carol@example.com");
    befriend(&mut alice, &mut bob);
    // Carol follows alice but alice has not allowed her; with BLP AL (default) carol sees alice.
    carol.ns(NsRequest::AddContact {
        list: List::Forward,
        account: "alice@example.com".into(),
        nick: None,
        group: Some(0),
    });
    carol.wait(|e| matches!(e, Event::Ns(NsEvent::ContactChanged { entry }) if entry.account == "alice@example.com"));
    alice.ns(NsRequest::SetStatus(Status::Busy));
    carol.wait(|e| matches!(e, Event::Ns(NsEvent::Presence { account, status: Status::Busy, .. }) if account == "alice@example.com"));
    // Only the allow list: carol now sees alice offline, bob still sees her.
    alice.ns(NsRequest::SetPrivacy(Privacy::BlockAll));
    carol.wait_presence("alice@example.com", false);
    alice.ns(NsRequest::SetStatus(Status::Online));
    bob.wait(|e| matches!(e, Event::Ns(NsEvent::Presence { account, status: Status::Online, .. }) if account == "alice@example.com"));
    carol.say(5, "alice@example.com", "let me in");
    carol.wait(|e| matches!(e, Event::MessageFailed { id: 5, .. }));
    for c in [alice, bob, carol] {
        c.stop();
    }
}

#[test]
fn third_person_invited_into_the_conversation_and_not_called_again_after_leaving() {
    let server = server_with(
        &["alice@example.com", "bob@example.com", "carol@example.com"],
        |_| {},
    );
    let mut alice = Client::signed_in(&server, "alice@example.com");
    let mut bob = Client::signed_in(&server, "bob@example.com");
    let mut carol = Client::signed_in(&server, "carol@example.com");
    befriend(&mut alice, &mut bob);
    befriend(&mut alice, &mut carol);
    alice.say(1, "bob@example.com", "hi bob");
    let conversation = match alice.wait(|e| matches!(e, Event::ConversationOpened { .. })) {
        Event::ConversationOpened { conversation, .. } => conversation,
        _ => unreachable!(),
    };
    alice.wait(|e| matches!(e, Event::MessageDelivered { id: 1 }));
    bob.wait_text("alice@example.com");
    alice.send(Request::Invite {
        conversation,
        account: "carol@example.com".into(),
    });
    alice.wait(|e| matches!(e, Event::Joined { account, .. } if account == "carol@example.com"));
    bob.wait(|e| matches!(e, Event::Joined { account, .. } if account == "carol@example.com"));
    alice.send(Request::SendInConversation {
        id: 2,
        conversation,
        ack: AckMode::Acknowledged,
        payload: payload::text_message_plain("hello both"),
    });
    alice.wait(|e| matches!(e, Event::MessageDelivered { id: 2 }));
    assert_eq!(bob.wait_text("alice@example.com").1, "hello both");
    let (carols, _) = carol.wait_text("alice@example.com");
    // Carol closes her window: she leaves (BYE), and the group goes on without her.
    carol.send(Request::CloseConversation {
        conversation: carols,
    });
    alice.wait(|e| matches!(e, Event::Left { account, .. } if account == "carol@example.com"));
    for sb in server.switchboards() {
        assert!(server.close_switchboard(&sb.session_id));
    }
    std::thread::sleep(Duration::from_millis(500));
    alice.send(Request::SendInConversation {
        id: 3,
        conversation,
        ack: AckMode::Acknowledged,
        payload: payload::text_message_plain("without Carol"),
    });
    alice.wait(|e| matches!(e, Event::MessageDelivered { id: 3 }));
    assert_eq!(bob.wait_text("alice@example.com").1, "without Carol");
    let boards = server.switchboards();
    assert_eq!(boards.len(), 1, "{boards:?}");
    assert_eq!(
        boards[0].participants,
        ["alice@example.com", "bob@example.com"],
        "only Bob was called into the new switchboard"
    );
    for c in [alice, bob, carol] {
        c.stop();
    }
}

#[test]
fn open_conversation_then_invite_calls_both_into_a_new_switchboard() {
    let server = server_with(
        &["alice@example.com", "bob@example.com", "carol@example.com"],
        |_| {},
    );
    let mut alice = Client::signed_in(&server, "alice@example.com");
    let mut bob = Client::signed_in(&server, "bob@example.com");
    let mut carol = Client::signed_in(&server, "carol@example.com");
    befriend(&mut alice, &mut bob);
    befriend(&mut alice, &mut carol);
    // Nothing sent yet: OpenConversation names the conversation and opens its switchboard.
    alice.send(Request::OpenConversation {
        with: "bob@example.com".into(),
    });
    let conversation = match alice.wait(|e| matches!(e, Event::ConversationOpened { .. })) {
        Event::ConversationOpened { conversation, with } => {
            assert_eq!(with, "bob@example.com");
            conversation
        }
        _ => unreachable!(),
    };
    alice.wait(|e| matches!(e, Event::Joined { account, .. } if account == "bob@example.com"));
    // The server closes the switchboard; inviting opens a new one and calls both.
    for sb in server.switchboards() {
        assert!(server.close_switchboard(&sb.session_id));
    }
    // The sockets just close (no BYE, so no Left): give the engine a moment to see it.
    std::thread::sleep(Duration::from_millis(500));
    alice.send(Request::Invite {
        conversation,
        account: "carol@example.com".into(),
    });
    for who in ["bob@example.com", "carol@example.com"] {
        alice.wait(|e| matches!(e, Event::Joined { account, .. } if account == who));
    }
    alice.send(Request::SendInConversation {
        id: 3,
        conversation,
        ack: AckMode::Acknowledged,
        payload: payload::text_message_plain("all three"),
    });
    alice.wait(|e| matches!(e, Event::MessageDelivered { id: 3 }));
    assert_eq!(bob.wait_text("alice@example.com").1, "all three");
    assert_eq!(carol.wait_text("alice@example.com").1, "all three");
    for c in [alice, bob, carol] {
        c.stop();
    }
}

#[test]
fn switchboard_idle_close_then_resend_through_a_new_one() {
    let server = server_with(&["alice@example.com", "bob@example.com"], |c| {
        c.sb_idle_timeout = Duration::from_millis(600)
    });
    let mut alice = Client::signed_in(&server, "alice@example.com");
    let mut bob = Client::signed_in(&server, "bob@example.com");
    befriend(&mut alice, &mut bob);
    alice.say(1, "bob@example.com", "first");
    alice.wait(|e| matches!(e, Event::MessageDelivered { id: 1 }));
    bob.wait_text("alice@example.com");
    // The server closes the idle switchboard.
    assert!(
        server.wait_for(WAIT, |s| s.switchboards().is_empty()),
        "the idle switchboard was closed"
    );
    alice.say(2, "bob@example.com", "second");
    alice.wait(|e| matches!(e, Event::MessageDelivered { id: 2 }));
    assert_eq!(bob.wait_text("alice@example.com").1, "second");
    alice.stop();
    bob.stop();
}

#[test]
fn signing_in_elsewhere_signs_out_the_first_session() {
    let server = server_with(&["alice@example.com"], |_| {});
    let mut first = Client::signed_in(&server, "alice@example.com");
    let second = Client::signed_in(&server, "alice@example.com");
    first.wait(|e| {
        matches!(
            e,
            Event::Ns(NsEvent::SignedOut(SignOutReason::OtherLocation))
        )
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !std::iter::from_fn(|| first.session.events.try_recv().ok())
            .any(|e| matches!(e, Event::Connecting { .. })),
        "no automatic reconnect after OUT OTH"
    );
    first.stop();
    second.stop();
}

fn temp_state() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "msnp-server-test-{}-{:?}",
        std::process::id(),
        Instant::now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("state.json")
}

#[test]
fn restart_with_state_keeps_lists() {
    let state = temp_state();
    let names = ["alice@example.com", "bob@example.com"];
    let server = server_with(&names, |c| c.state_path = Some(state.clone()));
    let mut alice = Client::signed_in(&server, "alice@example.com");
    alice.ns(NsRequest::AddGroup("Friends".into()));
    alice.wait(|e| matches!(e, Event::Ns(NsEvent::GroupsChanged { .. })));
    alice.ns(NsRequest::AddContact {
        list: List::Forward,
        account: "bob@example.com".into(),
        nick: None,
        group: Some(1),
    });
    alice.wait(|e| matches!(e, Event::Ns(NsEvent::ContactChanged { entry }) if entry.forward));
    alice.stop();
    server.shutdown();

    let server = server_with(&names, |c| c.state_path = Some(state.clone()));
    let mut alice = Client::start(&server, "alice@example.com", "pw");
    let synced = alice.wait(|e| matches!(e, Event::Ns(NsEvent::ListSynced { .. })));
    let Event::Ns(NsEvent::ListSynced { list, .. }) = synced else {
        unreachable!()
    };
    assert_eq!(list.groups.get(&1).map(String::as_str), Some("Friends"));
    assert_eq!(
        list.get("bob@example.com").map(|c| c.groups.clone()),
        Some(vec![1])
    );
    alice.stop();
    let _ = std::fs::remove_dir_all(state.parent().unwrap());
}

#[test]
fn malformed_client_input_gets_errors_and_others_keep_working() {
    let server = server_with(&["alice@example.com", "bob@example.com"], |_| {});
    let mut alice = Client::signed_in(&server, "alice@example.com");
    let mut bob = Client::signed_in(&server, "bob@example.com");
    befriend(&mut alice, &mut bob);

    // A raw client sends garbage: an oversize length, a bad UTF-8 line, nonsense.
    let mut raw = TcpStream::connect(server.ns_addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    raw.write_all(b"VER 1 MSNP7 CVR0\r\nFOO 2 bar\r\nSYN x\r\nMSG 3 N 99999999999\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let _ = raw.read_to_end(&mut buf);
    assert!(
        String::from_utf8_lossy(&buf).starts_with("VER 1 MSNP7"),
        "{:?}",
        String::from_utf8_lossy(&buf)
    );

    alice.say(1, "bob@example.com", "still here");
    alice.wait(|e| matches!(e, Event::MessageDelivered { id: 1 }));
    assert_eq!(bob.wait_text("alice@example.com").1, "still here");
    alice.stop();
    bob.stop();
}
