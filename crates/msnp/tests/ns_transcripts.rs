//! Replays the notification-server transcripts of `shared/protocol/` (transcripts.md and the
//! recorded Escargot session) through the sans-IO `Notification` machine: every line the client
//! sends must equal the transcript's `C:` line byte for byte.

mod common;

use std::time::{Duration, Instant};

use common::{recorded, section, Item};
use msnp::proto::command::{List, Privacy, Status};
use msnp::proto::contacts::ContactList;
use msnp::proto::msnp8::ProtocolChoice;
use msnp::proto::ns::{LoginError, Notification, NsConfig, NsEvent, NsRequest, SignOutReason};

struct Replay {
    ns: Notification,
    now: Instant,
    events: Vec<NsEvent>,
}

impl Replay {
    fn new(account: &str, password: &str, cache: Option<ContactList>) -> Self {
        // These are MSNP7 transcripts: offer MSNP7 only, as the recorded clients did.
        let ns = Notification::new(NsConfig {
            cache,
            protocol: ProtocolChoice::Msnp7Only,
            ..NsConfig::new(account, password)
        });
        Replay {
            ns,
            now: Instant::now(),
            events: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Some(e) = self.ns.poll_event() {
            self.events.push(e);
        }
    }

    fn run(&mut self, items: &[Item]) {
        for item in items {
            match item {
                Item::Comment(_) => {}
                Item::Server(bytes) => {
                    self.ns.handle_input(bytes, self.now);
                    self.drain();
                }
                Item::Client(expected) => {
                    let sent = common::ns_client_bytes(&mut self.ns, &mut self.now, expected);
                    assert_eq!(
                        String::from_utf8_lossy(&sent),
                        String::from_utf8_lossy(expected),
                        "client bytes differ"
                    );
                    self.drain();
                }
            }
            self.now += Duration::from_millis(1);
        }
    }
}

fn transcripts() -> String {
    common::read("transcripts.md")
}

#[test]
fn dispatch_redirect_login_sync_presence_and_edits() {
    let t = transcripts();
    let login = section(&t, "1.");
    assert_eq!(
        login.len(),
        2,
        "§1 has the dispatch and the notification block"
    );
    let mut r = Replay::new("alice@example.com", "abcdefg1234567", None);
    r.ns.handle_connected(r.now);
    r.run(&login[0]);
    assert!(r.events.contains(&NsEvent::Redirect {
        address: "192.0.2.10:1863".into()
    }));
    r.ns.handle_redirected(r.now);
    r.run(&login[1]);
    assert!(r.events.iter().any(|e| matches!(e, NsEvent::SignedIn { display_name, verified: true, .. } if display_name == "Alice")));
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, NsEvent::ServerMessage { payload } if payload.len() == 430)));

    // §2.1: the client sends SYN 5 0 by itself, then CHG 6 NLN once the RL is complete.
    let sync = section(&t, "2.1");
    r.run(&sync[0]);
    let list = r.ns.contact_list().clone();
    assert_eq!(list.version, 12);
    assert_eq!(list.groups.get(&2).map(String::as_str), Some("Co-workers"));
    assert_eq!(list.on_list(List::Forward).count(), 4);
    assert_eq!(list.get("carol@example.com").unwrap().groups, vec![1, 2]);
    assert_eq!(list.get("zoe@example.com").unwrap().name, "Zoë");
    assert_eq!(
        list.get("bob@example.com")
            .unwrap()
            .phones
            .get("PHH")
            .map(String::as_str),
        Some("425 555 0142")
    );
    assert_eq!(
        list.properties.get("PHH").map(String::as_str),
        Some("425 555 0100")
    );
    assert_eq!(
        list.pending()
            .map(|c| c.account.as_str())
            .collect::<Vec<_>>(),
        vec!["erin@example.com"]
    );
    assert!(r.events.iter().any(|e| matches!(e, NsEvent::AddedBy { account, pending: true, .. } if account == "erin@example.com")));

    // §3: CHG 6 NLN was already queued when the lists completed; presence, mail, challenge, ping.
    for block in section(&t, "3.") {
        r.run(&block);
    }
    assert!(r.events.contains(&NsEvent::Presence {
        account: "bob@example.com".into(),
        status: Status::Busy,
        name: "Bob".into(),
        capabilities: None,
    }));
    assert!(r.events.contains(&NsEvent::Presence {
        account: "zoe@example.com".into(),
        status: Status::Online,
        name: "Zoë 🌻".into(),
        capabilities: None,
    }));
    assert!(r.events.contains(&NsEvent::Offline {
        account: "zoe@example.com".into()
    }));

    // §4: every edit, applied when the reply arrives.
    for sub in ["4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "4.7"] {
        for block in section(&t, sub) {
            r.run(&block);
        }
    }
    let list = r.ns.contact_list();
    assert_eq!(list.version, 28);
    // Every confirmed edit announced the new version (what a client's cache must carry).
    let versions: Vec<u32> = r
        .events
        .iter()
        .filter_map(|e| match e {
            NsEvent::ListVersion { version } => Some(*version),
            _ => None,
        })
        .collect();
    assert_eq!(versions.last(), Some(&28), "{versions:?}");
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    assert!(list.get("frank@example.com").unwrap().allow);
    assert!(list.get("henry@example.com").unwrap().forward);
    assert!(list.get("erin@example.com").unwrap().block);
    assert!(
        !list.get("zoe@example.com").unwrap().forward && list.get("zoe@example.com").unwrap().allow
    );
    assert_eq!(list.get("carol@example.com").unwrap().groups, vec![1]);
    assert!(
        list.get("dave@example.com").unwrap().block && !list.get("dave@example.com").unwrap().allow
    );
    assert_eq!(list.privacy, Privacy::BlockAll);
    assert!(!list.groups.contains_key(&3));
    assert_eq!(r.ns.display_name(), "Alice ☕");
    assert!(r.events.iter().any(|e| matches!(e, NsEvent::AddedBy { account, pending: true, .. } if account == "henry@example.com")));

    // §4.8: 215 for an address already in the group counts as success; `a@b` is refused locally
    // (the server would answer 201), so nothing is sent for it.
    let refused = &section(&t, "4.8")[0];
    r.run(&refused[..3]);
    let err = r.ns.handle_request(
        NsRequest::AddContact {
            list: List::Forward,
            account: "a@b".into(),
            nick: None,
            group: Some(0),
        },
        r.now,
    );
    assert!(err.is_err());
    assert_eq!(r.ns.poll_transmit(), None);
}

#[test]
fn current_cache_costs_one_round_trip() {
    let t = transcripts();
    let mut first = Replay::new("alice@example.com", "abcdefg1234567", None);
    first.ns.handle_connected(first.now);
    let login = section(&t, "1.");
    first.run(&login[0]);
    first.ns.handle_redirected(first.now);
    first.run(&login[1]);
    first.run(&section(&t, "2.1")[0]);
    let cache = first.ns.contact_list().clone();

    // §2.2: a later sign-in with the cached version 12 gets only `SYN 5 12`.
    let mut r = Replay::new("alice@example.com", "abcdefg1234567", Some(cache.clone()));
    r.ns.handle_connected(r.now);
    r.run(&login[1]);
    r.run(&section(&t, "2.2")[0]);
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, NsEvent::ListSynced { from_cache: true, list } if *list == cache)));
    assert_eq!(r.ns.poll_transmit().as_deref(), Some(&b"CHG 6 NLN\r\n"[..]));
}

#[test]
fn wrong_password_fails_login() {
    let t = transcripts();
    let mut r = Replay::new("alice@example.com", "abcdefg123456", None);
    r.ns.handle_connected(r.now);
    r.run(&section(&t, "9.3")[0]);
    assert!(r
        .events
        .contains(&NsEvent::LoginFailed(LoginError::AuthenticationFailed)));
    assert!(r.ns.is_closed());
}

#[test]
fn signed_in_elsewhere() {
    let t = transcripts();
    let mut r = Replay::new("alice@example.com", "abcdefg1234567", None);
    r.ns.handle_connected(r.now);
    let login = section(&t, "1.");
    r.run(&login[0]);
    r.ns.handle_redirected(r.now);
    r.run(&login[1]);
    r.run(&section(&t, "9.2")[0]);
    assert!(r
        .events
        .contains(&NsEvent::SignedOut(SignOutReason::OtherLocation)));
}

#[test]
fn escargot_session_of_transcripts_8() {
    let t = transcripts();
    let blocks = section(&t, "8.1");
    let mut r = Replay::new("alice@example.com", "alicepw", None);
    r.ns.handle_connected(r.now);
    r.run(&blocks[0]);
    assert!(r.events.iter().any(|e| matches!(e, NsEvent::SwitchboardReady { tag: 7, address, .. } if address == "sb.example.com:1864")));
    assert!(r.events.iter().any(|e| matches!(e, NsEvent::AddedBy { account, pending: false, .. } if account == "bob@example.com")));
    assert!(r.ns.contact_list().get("bob@example.com").unwrap().reverse);
}

#[test]
fn recorded_escargot_msnp7_session() {
    let text = common::read("recorded/msnp7_session.txt");
    let items = recorded(&text, "alice/NS");
    assert!(items.len() > 30, "the recording was read");
    // The recording holds two sign-ins of alice; replay each on its own connection.
    let split = items
        .iter()
        .enumerate()
        .filter(|(_, i)| matches!(i, Item::Comment(c) if c.starts_with("connected")))
        .map(|(n, _)| n)
        .collect::<Vec<_>>();
    assert_eq!(split.len(), 2);
    let (first, second) = items.split_at(split[1]);
    let mut r = Replay::new("alice@example.com", "alicepw", None);
    r.ns.handle_connected(r.now);
    r.run(first);
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, NsEvent::Presence { account, .. } if account == "bob@example.com")));
    assert!(r.events.contains(&NsEvent::SignedOut(SignOutReason::User)));

    // Second sign-in: the recorded client sent SYN 5 0 and (on purpose) a second SYN, which a
    // normal client never does; replay up to the first CHG's ILN and check the lists.
    let cut = second
        .iter()
        .position(|i| matches!(i, Item::Client(b) if b.starts_with(b"SYN 7")))
        .expect("the second SYN");
    let mut r = Replay::new("alice@example.com", "alicepw", None);
    r.ns.handle_connected(r.now);
    r.run(&second[..cut]);
    let list = r.ns.contact_list();
    assert!(list
        .get("bob@example.com")
        .is_some_and(|c| c.forward && c.allow && c.reverse));
    assert_eq!(
        list.groups.get(&0).map(String::as_str),
        Some("Other Contacts")
    );
}

#[test]
fn recorded_escargot_msnp7_session_bob() {
    // Bob's side: `ADD 0 RL` arrives before his own ADD reply, blank BPR lines and an ILN that
    // carries the TrID of his ADD FL arrive in the middle of the ADD AL exchange, then the RNG.
    let text = common::read("recorded/msnp7_session.txt");
    let items = recorded(&text, "bob/NS");
    let mut r = Replay::new("bob@example.com", "bobpw", None);
    r.ns.handle_connected(r.now);
    r.run(&items);
    assert!(r.events.iter().any(|e| matches!(e, NsEvent::AddedBy { account, pending: true, .. } if account == "alice@example.com")));
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, NsEvent::Presence { account, .. } if account == "alice@example.com")));
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, NsEvent::Invited { inviter, session_id, .. }
        if inviter == "alice@example.com" && session_id == "8eb3fb536f83e4247859927714c9bc3")));
    assert!(r.events.contains(&NsEvent::SignedOut(SignOutReason::User)));
    let alice =
        r.ns.contact_list()
            .get("alice@example.com")
            .cloned()
            .unwrap();
    assert!(alice.forward && alice.allow && alice.reverse);
    assert_eq!(alice.phones.get("MOB").map(String::as_str), Some("N"));
}
