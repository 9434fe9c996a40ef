//! Replays the MSNP8 sessions of `shared/protocol/` (msnp8.md §7 and the Escargot recordings
//! `recorded/msnp8_session.txt` and `recorded/mixed_msnp7_msnp8.txt`) through the sans-IO
//! `Notification` machine. Every line the client sends must equal the transcript's byte for
//! byte; the Passport step goes through `proto::passport` on the transcript's own HTTP messages:
//! the requests built by the library must match them, and the ticket is taken from the recorded
//! `Authentication-Info`.
//!
//! The recorded client reported version `6.0.0602` in `CVR`; this client reports `5.0.0544`
//! (msnp8.md §2.1), so that one field is compared after substitution.

mod common;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use common::{http_head, http_lines, recorded, section, with_http, Item, Step};
use msnp::proto::command::{List, Status};
use msnp::proto::msnp8::{Capabilities, Dialect, ProtocolChoice};
use msnp::proto::ns::{Notification, NsConfig, NsEvent, SignOutReason};
use msnp::proto::passport::{
    authorization_value, classify_login_answer, find_header, login_request_headers,
    login_url_from_passport_urls, nexus_request_headers, request_head, LoginAnswer, NEXUS_PATH,
};

struct Replay {
    ns: Notification,
    account: String,
    password: String,
    now: Instant,
    events: Vec<NsEvent>,
    /// The challenge of the last `PassportNeeded`.
    challenge: Option<String>,
}

impl Replay {
    fn new(account: &str, password: &str, protocol: ProtocolChoice) -> Self {
        let mut r = Replay {
            ns: Notification::new(NsConfig {
                protocol,
                ..NsConfig::new(account, password)
            }),
            account: account.into(),
            password: password.into(),
            now: Instant::now(),
            events: Vec::new(),
            challenge: None,
        };
        r.ns.handle_connected(r.now);
        r
    }

    fn drain(&mut self) {
        while let Some(e) = self.ns.poll_event() {
            if let NsEvent::PassportNeeded { challenge } = &e {
                self.challenge = Some(challenge.clone());
            }
            self.events.push(e);
        }
    }

    fn challenge(&self) -> String {
        self.challenge.clone().expect("PassportNeeded was emitted")
    }

    fn client(&mut self, expected: &[u8]) {
        let sent = common::ns_client_bytes(&mut self.ns, &mut self.now, expected);
        // The recorded client reported another client version in CVR (see the file comment).
        let expected = String::from_utf8_lossy(expected)
            .replace(" MSNMSGR 6.0.0602 MSMSGS ", " MSNMSGR 5.0.0544 MSMSGS ");
        assert_eq!(
            String::from_utf8_lossy(&sent),
            expected,
            "client bytes differ"
        );
        self.drain();
    }

    fn server(&mut self, bytes: &[u8]) {
        self.ns.handle_input(bytes, self.now);
        self.drain();
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Comment(_) => {}
            Item::Server(b) => self.server(b),
            Item::Client(b) => self.client(b),
        }
        self.now += Duration::from_millis(1);
    }

    /// Checks the recorded login request's `Authorization` against the library's, and hands the
    /// recorded answer's ticket to the machine.
    fn passport(&mut self, login_request: &[String], login_answer: &[String]) -> String {
        let auth = find_header(
            &login_request
                .iter()
                .skip(1)
                .filter_map(|l| l.split_once(": "))
                .collect::<Vec<_>>(),
            "Authorization",
        )
        .expect("the recorded request has an Authorization header")
        .to_string();
        assert_eq!(
            auth,
            authorization_value(&self.account, &self.password, &self.challenge()),
            "Authorization header"
        );
        let (status, headers) = http_head(login_answer);
        let LoginAnswer::Ticket(ticket) = classify_login_answer(status, &headers) else {
            panic!("no ticket in {login_answer:?}");
        };
        self.ns.handle_passport_ticket(&ticket, self.now);
        self.drain();
        ticket
    }

    fn signed_in_with(&self, dialect: Dialect) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, NsEvent::SignedIn { dialect: d, .. } if *d == dialect))
    }
}

#[test]
fn msnp8_md_complete_transcript() {
    let md = common::read("msnp8.md");
    let blocks = section(&md, "7.");
    assert_eq!(blocks.len(), 1, "§7 has one block");
    let steps = with_http(&blocks[0]);
    let mut r = Replay::new("carol@example.com", "carolpw", ProtocolChoice::Auto);
    let mut on_ns = true;
    let mut login_url = None;
    let mut login_request: Vec<String> = Vec::new();
    let mut http = 0;
    for step in &steps {
        match step {
            Step::Line(Item::Comment(c)) => {
                if c.starts_with("switchboard connection") {
                    on_ns = false; // switchboard lines: identical to MSNP7, not this machine's
                } else if c.starts_with("on the notification server") {
                    on_ns = true;
                }
            }
            Step::Line(item) if on_ns => r.item(item),
            Step::Line(_) => {}
            Step::HttpRequest(lines) if lines[0].starts_with("GET /rdr/pprdr.asp") => {
                http += 1;
                let built = request_head(NEXUS_PATH, &nexus_request_headers("nexus.example.com"));
                assert_eq!(built, format!("{}\r\n\r\n", lines.join("\r\n")));
            }
            Step::HttpRequest(lines) => {
                http += 1;
                let url = login_url.clone().expect("the nexus answered first");
                assert_eq!(url, "https://login.example.com/login");
                let auth = authorization_value("carol@example.com", "carolpw", &r.challenge());
                let built =
                    request_head("/login", &login_request_headers("login.example.com", &auth));
                assert_eq!(built, format!("{}\r\n\r\n", lines.join("\r\n")));
                login_request = lines.clone();
            }
            Step::HttpResponse(lines, body) if login_url.is_none() => {
                http += 1;
                assert_eq!(body, "200: OK");
                let (status, headers) = http_head(lines);
                assert_eq!(status, 200);
                login_url =
                    find_header(&headers, "PassportURLs").and_then(login_url_from_passport_urls);
            }
            Step::HttpResponse(lines, _) => {
                http += 1;
                assert_eq!(r.passport(&login_request, lines), "2200626f4a2d5126e473");
            }
        }
    }
    assert_eq!(http, 4, "nexus and login, request and answer each");
    assert!(r.signed_in_with(Dialect::Msnp8));
    let list = r.ns.contact_list();
    assert_eq!(list.version, 1);
    let dave = list.get("dave@example.com").expect("dave is listed");
    assert!(dave.forward && dave.allow && !dave.block && dave.reverse);
    assert_eq!(dave.groups, vec![0]);
    assert_eq!(
        list.groups.get(&0).map(String::as_str),
        Some("Other Contacts")
    );
    assert!(r.events.contains(&NsEvent::Presence {
        account: "dave@example.com".into(),
        status: Status::Online,
        name: "Dave".into(),
        capabilities: Some(Capabilities(0)),
    }));
    assert!(r.events.iter().any(|e| matches!(e, NsEvent::SwitchboardReady { tag: 7, address, .. } if address == "msn.example.com:1864")));
    assert!(r.events.contains(&NsEvent::Offline {
        account: "dave@example.com".into()
    }));
    assert!(r.events.contains(&NsEvent::SignedOut(SignOutReason::User)));
}

#[test]
fn msnp8_md_sync_examples() {
    // §4.6: the fuller data set in the documented MSNP8 form, after a sign-in.
    let md = common::read("msnp8.md");
    let blocks = section(&md, "4.6");
    assert_eq!(blocks.len(), 4);
    let mut r = Replay::new("alice@example.com", "pw", ProtocolChoice::Msnp8Only);
    for line in [
        "VER 1 MSNP8\r\n",
        "CVR 2 5.0.0544 5.0.0544 5.0.0544 https://a.example https://b.example\r\n",
        "USR 3 TWN S ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1,id=1\r\n",
    ] {
        r.server(line.as_bytes());
    }
    r.ns.handle_passport_ticket("2e1d001d1a3c247a084d", r.now);
    r.server(b"USR 4 OK alice@example.com Alice 1 0\r\n");
    let sent: Vec<String> = std::iter::from_fn(|| r.ns.poll_transmit())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    assert_eq!(
        sent,
        [
            "VER 1 MSNP8 CVR0\r\n",
            "CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 5.0.0544 MSMSGS alice@example.com\r\n",
            "USR 3 TWN I alice@example.com\r\n",
            "USR 4 TWN S 2e1d001d1a3c247a084d\r\n",
            "SYN 5 0\r\n",
        ]
    );
    // The client asked with version 0, the transcript with 52: feed the server lines only.
    for item in &blocks[2] {
        if let Item::Server(b) = item {
            r.server(b);
        }
    }
    let list = r.ns.contact_list().clone();
    assert_eq!(list.version, 57);
    assert_eq!(list.groups.len(), 2);
    assert_eq!(
        list.properties.get("PHH").map(String::as_str),
        Some("555 1234")
    );
    let bob = list.get("bob@example.com").unwrap();
    assert!(bob.forward && bob.allow && bob.reverse && !bob.block);
    assert_eq!(bob.phones.get("PHH").map(String::as_str), Some("555 9876"));
    assert_eq!(bob.phones.get("MOB").map(String::as_str), Some("N"));
    assert_eq!(list.get("carol@example.com").unwrap().groups, vec![0, 1]);
    assert_eq!(list.get("carol@example.com").unwrap().name, "Carol C.");
    let dan = list.get("dan@example.com").unwrap();
    assert!(!dan.forward && dan.allow && dan.reverse && dan.groups.is_empty());
    assert_eq!(
        list.pending()
            .map(|c| c.account.as_str())
            .collect::<Vec<_>>(),
        ["erin@example.com"]
    );
    assert!(r.events.iter().any(|e| matches!(
        e,
        NsEvent::ListSynced {
            from_cache: false,
            ..
        }
    )));
    assert!(r.events.iter().any(|e| matches!(e, NsEvent::AddedBy { account, pending: true, .. } if account == "erin@example.com")));
    // Once complete, the first CHG goes out with the capabilities number.
    assert_eq!(
        r.ns.poll_transmit().as_deref(),
        Some(&b"CHG 6 NLN 0\r\n"[..])
    );
}

/// Splits a recorded NS stream at its `connected` comments (one part per sign-in).
fn sign_ins(items: Vec<Item>) -> Vec<Vec<Item>> {
    let mut parts: Vec<Vec<Item>> = Vec::new();
    for item in items {
        if matches!(&item, Item::Comment(c) if c.starts_with("connected")) {
            parts.push(Vec::new());
        }
        if let Some(p) = parts.last_mut() {
            p.push(item);
        }
    }
    parts
}

/// Replays one recorded NS sign-in; the HTTP messages come from `http` (request, answer,
/// request, answer: nexus then login) as the Passport step is reached.
fn replay_recorded(
    account: &str,
    password: &str,
    items: &[Item],
    http: &mut VecDeque<Item>,
) -> Replay {
    let mut r = Replay::new(account, password, ProtocolChoice::Msnp8Only);
    for item in items {
        // Before the client's USR TWN S: the Passport step on the recorded HTTP messages.
        if matches!(item, Item::Client(b) if b.starts_with(b"USR 4 TWN S ")) {
            let mut next = || match http.pop_front() {
                Some(Item::Client(b)) | Some(Item::Server(b)) => http_lines(&b),
                _ => panic!("the recording has the HTTP exchange"),
            };
            let (_nexus_req, nexus_answer, login_req, login_answer) =
                (next(), next(), next(), next());
            let (status, headers) = http_head(&nexus_answer);
            assert_eq!(status, 200);
            assert!(find_header(&headers, "PassportURLs")
                .and_then(login_url_from_passport_urls)
                .is_some_and(|u| u.ends_with("/login")));
            let ticket = r.passport(&login_req, &login_answer);
            assert_eq!(
                format!("USR 4 TWN S {ticket}\r\n").as_bytes(),
                match item {
                    Item::Client(b) => b.as_slice(),
                    _ => unreachable!(),
                }
            );
            // `client` polls the queued USR TWN S.
        }
        r.item(item);
    }
    r
}

#[test]
fn recorded_escargot_msnp8_session() {
    let text = common::read("recorded/msnp8_session.txt");
    let carol = sign_ins(recorded(&text, "carol/NS"));
    assert_eq!(carol.len(), 2, "carol signs in twice");
    let mut carol_http: VecDeque<Item> = recorded(&text, "carol/HTTPS")
        .into_iter()
        .filter(|i| !matches!(i, Item::Comment(_)))
        .collect();
    assert_eq!(carol_http.len(), 8);

    // First sign-in: empty lists, then the mutual ADD, a switchboard and OUT.
    let r = replay_recorded("carol@example.com", "carolpw", &carol[0], &mut carol_http);
    assert!(r.signed_in_with(Dialect::Msnp8));
    assert!(r.events.iter().any(|e| matches!(e, NsEvent::ListSynced { list, .. } if list.contacts.is_empty() && list.version == 1)));
    assert!(r.events.contains(&NsEvent::Presence {
        account: "dave@example.com".into(),
        status: Status::Online,
        name: "Dave".into(),
        capabilities: Some(Capabilities(0)),
    }));
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, NsEvent::SwitchboardReady { tag: 7, .. })));
    let dave =
        r.ns.contact_list()
            .get("dave@example.com")
            .cloned()
            .expect("dave");
    assert!(dave.forward && dave.allow && dave.reverse);

    // Second sign-in: the MSNP8 SYN/LSG/LST form with a contact, ILN with capabilities.
    let r = replay_recorded("carol@example.com", "carolpw", &carol[1], &mut carol_http);
    let list = r.ns.contact_list();
    let dave = list.get("dave@example.com").expect("dave");
    assert!(dave.forward && dave.allow && dave.reverse && dave.groups == vec![0]);
    assert!(r.events.iter().any(|e| matches!(e, NsEvent::Presence { account, capabilities: Some(Capabilities(0)), .. } if account == "dave@example.com")));
    assert!(r.events.contains(&NsEvent::Offline {
        account: "dave@example.com".into()
    }));

    // Dave: Passport over plain HTTP with a password that needs percent-encoding.
    let dave = sign_ins(recorded(&text, "dave/NS"));
    assert_eq!(dave.len(), 1);
    let mut dave_http: VecDeque<Item> = recorded(&text, "dave/HTTP")
        .into_iter()
        .filter(|i| !matches!(i, Item::Comment(_)))
        .collect();
    let r = replay_recorded("dave@example.com", "p@ss w0rd,%!", &dave[0], &mut dave_http);
    assert!(r.signed_in_with(Dialect::Msnp8));
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, NsEvent::AddedBy { account, .. } if account == "carol@example.com")));
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, NsEvent::Invited { inviter, .. } if inviter == "carol@example.com")));
    let carol =
        r.ns.contact_list()
            .get("carol@example.com")
            .cloned()
            .expect("carol");
    assert!(carol.forward && carol.allow && carol.reverse);
    assert!(r.events.contains(&NsEvent::SignedOut(SignOutReason::User)));
}

#[test]
fn recorded_mixed_msnp7_msnp8_session() {
    let text = common::read("recorded/mixed_msnp7_msnp8.txt");
    // carol on MSNP8 sees alice (MSNP7) with capabilities 0, and renames herself with REA.
    let carol = sign_ins(recorded(&text, "carol/NS"));
    let mut http: VecDeque<Item> = recorded(&text, "carol/HTTPS")
        .into_iter()
        .filter(|i| !matches!(i, Item::Comment(_)))
        .collect();
    let r = replay_recorded("carol@example.com", "carolpw", &carol[0], &mut http);
    assert!(r.signed_in_with(Dialect::Msnp8));
    assert!(r.events.contains(&NsEvent::Presence {
        account: "alice@example.com".into(),
        status: Status::Away,
        name: "Alice".into(),
        capabilities: Some(Capabilities(0)),
    }));
    assert_eq!(r.ns.display_name(), "Carol C.");
    // alice on MSNP7 (offering MSNP7 only, as recorded) sees carol without capabilities.
    let alice = sign_ins(recorded(&text, "alice/NS"));
    let mut r = Replay::new("alice@example.com", "alicepw", ProtocolChoice::Msnp7Only);
    for item in &alice[0] {
        r.item(item);
    }
    assert!(r.signed_in_with(Dialect::Msnp7));
    assert!(r.events.contains(&NsEvent::Presence {
        account: "carol@example.com".into(),
        status: Status::Online,
        name: "Carol C.".into(),
        capabilities: None,
    }));
    assert!(r
        .ns
        .contact_list()
        .get("carol@example.com")
        .is_some_and(|c| c.on(List::Forward)));
}

#[test]
fn auto_offer_follows_an_msnp7_answer() {
    // Automatic mode offers both; a server that picks MSNP7 gets INF and MD5, never CVR/TWN.
    let mut r = Replay::new("alice@example.com", "alicepw", ProtocolChoice::Auto);
    assert_eq!(
        r.ns.poll_transmit().as_deref(),
        Some(&b"VER 1 MSNP8 MSNP7 CVR0\r\n"[..])
    );
    r.server(b"VER 1 MSNP7\r\n");
    assert_eq!(r.ns.poll_transmit().as_deref(), Some(&b"INF 2\r\n"[..]));
    r.server(b"INF 2 MD5\r\n");
    assert_eq!(
        r.ns.poll_transmit().as_deref(),
        Some(&b"USR 3 MD5 I alice@example.com\r\n"[..])
    );
    r.server(b"USR 3 MD5 S 2c51a7eb2dd9f7d\r\n");
    assert_eq!(
        r.ns.poll_transmit().as_deref(),
        Some(&b"USR 4 MD5 S 1633fe79a22c1a01c80aa6c36199f595\r\n"[..])
    );
    r.server(b"USR 4 OK alice@example.com Alice 1\r\n");
    assert!(r.signed_in_with(Dialect::Msnp7));
    // A historical server echoing every dialect: the highest offered one wins.
    let mut r = Replay::new("alice@example.com", "alicepw", ProtocolChoice::Auto);
    r.ns.poll_transmit();
    r.server(b"VER 1 MSNP7 MSNP8 CVR0\r\n");
    assert!(r
        .ns
        .poll_transmit()
        .is_some_and(|b| b.starts_with(b"CVR 2 0x0409 ")));
    // No dialect in common.
    let mut r = Replay::new("alice@example.com", "alicepw", ProtocolChoice::Msnp8Only);
    r.ns.poll_transmit();
    r.server(b"VER 1 0\r\n");
    assert!(r.ns.is_closed());
}

#[test]
fn msnp8_login_failures() {
    use msnp::proto::ns::LoginError;
    use msnp::proto::passport::PassportError;
    let start = |r: &mut Replay| {
        r.server(b"VER 1 MSNP8\r\n");
        r.server(b"CVR 2 5.0.0544 5.0.0544 5.0.0544 a b\r\n");
        r.server(b"USR 3 TWN S ct=1\r\n");
        while r.ns.poll_transmit().is_some() {}
    };
    // The Passport step failed: the sign-in fails with its reason.
    let mut r = Replay::new("alice@example.com", "pw", ProtocolChoice::Auto);
    start(&mut r);
    assert_eq!(r.challenge(), "ct=1");
    r.ns.handle_passport_failed(PassportError::WrongPassword);
    r.drain();
    assert!(r
        .events
        .contains(&NsEvent::LoginFailed(LoginError::Passport(
            PassportError::WrongPassword
        ))));
    assert!(r.ns.is_closed());
    // A refused ticket (911 after USR TWN S): TicketRejected, worth one retry.
    let mut r = Replay::new("alice@example.com", "pw", ProtocolChoice::Auto);
    start(&mut r);
    r.ns.handle_passport_ticket("2e1d001d1a3c247a084d", r.now);
    r.server(b"911 4\r\n");
    assert!(r
        .events
        .contains(&NsEvent::LoginFailed(LoginError::TicketRejected)));
    // A ticket that cannot go on the wire is refused locally; nothing is sent.
    let mut r = Replay::new("alice@example.com", "pw", ProtocolChoice::Auto);
    start(&mut r);
    r.ns.handle_passport_ticket("a b", r.now);
    r.drain();
    assert!(r.ns.poll_transmit().is_none());
    assert!(r.ns.is_closed());
    // 911 to USR TWN I: the account name is refused.
    let mut r = Replay::new("alice", "pw", ProtocolChoice::Auto);
    r.server(b"VER 1 MSNP8\r\n");
    r.server(b"CVR 2 5.0.0544 5.0.0544 5.0.0544 a b\r\n");
    r.server(b"911 3\r\n");
    assert!(r
        .events
        .contains(&NsEvent::LoginFailed(LoginError::InvalidAccount)));
    // No Passport answer in time: the sign-in times out.
    let mut r = Replay::new("alice@example.com", "pw", ProtocolChoice::Auto);
    start(&mut r);
    r.now += msnp::proto::ns::PASSPORT_TIMEOUT;
    r.ns.handle_timeout(r.now);
    r.drain();
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, NsEvent::LoginFailed(LoginError::NoAnswer(_)))));
    // A CVR refused with 710 does not stop the sign-in.
    let mut r = Replay::new("alice@example.com", "pw", ProtocolChoice::Auto);
    r.server(b"VER 1 MSNP8\r\n");
    while r.ns.poll_transmit().is_some() {}
    r.server(b"710 2\r\n");
    assert_eq!(
        r.ns.poll_transmit().as_deref(),
        Some(&b"USR 3 TWN I alice@example.com\r\n"[..])
    );
    // The password never shows in Debug output.
    let debug = format!("{:?}", NsConfig::new("alice@example.com", "s3cret-pw"));
    assert!(!debug.contains("s3cret-pw"), "{debug}");
}

#[test]
fn msnp8_challenge_keeps_the_msnp7_key_and_errors_are_typed() {
    use msnp::proto::error::ServerError;
    // msnp8.md §6.3: CHL/QRY are unchanged in MSNP8.
    let mut r = Replay::new("alice@example.com", "pw", ProtocolChoice::Msnp8Only);
    r.server(b"VER 1 MSNP8\r\nCVR 2 5.0.0544 5.0.0544 5.0.0544 a b\r\nUSR 3 TWN S ct=1\r\n");
    r.ns.handle_passport_ticket("2e1d001d1a3c247a084d", r.now);
    r.server(b"USR 4 OK alice@example.com Alice 1 0\r\nSYN 5 1 0 1\r\nGTC A\r\nBLP AL\r\nLSG 0 Other%20Contacts 0\r\n");
    while r.ns.poll_transmit().is_some() {}
    r.server(b"CHL 0 15570131571988941333\r\n");
    assert_eq!(
        r.ns.poll_transmit().as_deref(),
        Some(&b"QRY 7 msmsgs@msnmsgr.com 32\r\n8f2f5a91b72102cd28355e9fc9000d6e"[..])
    );
    // msnp8.md §6.2: every code it names is a documented, typed error.
    for code in [911, 715, 913, 540, 500, 600, 917, 928]
        .into_iter()
        .chain(910..=922)
    {
        assert!(
            !matches!(ServerError::from_code(code), ServerError::Unknown(_)),
            "{code}"
        );
    }
    // The engine configuration never shows the password either.
    let config = msnp::client::ClientConfig {
        password: "s3cret-pw".into(),
        ..msnp::client::ClientConfig::default()
    };
    assert!(!format!("{config:?}").contains("s3cret-pw"));
}
