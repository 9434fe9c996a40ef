//! MSNP8 against the in-process server on 127.0.0.1, over real HTTPS with the server's own CA:
//! `msnp::client` sessions (right and wrong password, expired ticket, nexus down, untrusted
//! certificate, redirects, automatic version choice, a three-way chat of MSNP7 and MSNP8
//! clients) and raw-protocol checks of the server's MSNP8 forms (VER, CVR, TWN, SYN, CHG, ILN).

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::engine::{befriend, Client};
use common::Client as Raw;
use msnp::client::passport::{PassportClient, PassportConfig};
use msnp::client::{ClientConfig, Event, Request};
use msnp::proto::command::{AckMode, ServerCommand, Status};
use msnp::proto::msnp8::{Capabilities, Dialect, ProtocolChoice};
use msnp::proto::ns::{LoginError, NsEvent, NsRequest};
use msnp::proto::passport::PassportError;
use msnp::proto::payload;
use msnp_server::{AccountSpec, Config, Server, ServerHandle};

const WAIT: Duration = Duration::from_secs(20);

fn server_with(names: &[&str], tweak: impl FnOnce(&mut Config)) -> ServerHandle {
    let accounts = names
        .iter()
        .map(|n| AccountSpec::new(n, "pw"))
        .collect::<Vec<_>>();
    let mut config = Config::loopback(accounts);
    tweak(&mut config);
    Server::start(config).expect("server starts")
}

/// Writes the server's CA certificate to a fresh temporary file.
fn ca_file(server: &ServerHandle) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let path = std::env::temp_dir().join(format!(
        "msnp8-test-ca-{}-{}.pem",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, server.ca_pem().expect("HTTPS endpoints run")).expect("write CA");
    path
}

/// A configuration that trusts the server's CA and finds its nexus.
fn config(server: &ServerHandle, account: &str, password: &str) -> ClientConfig {
    ClientConfig {
        server: server.ns_addr().to_string(),
        account: account.into(),
        password: password.into(),
        nexus_url: server.nexus_url(),
        extra_ca_file: Some(ca_file(server)),
        ..ClientConfig::default()
    }
}

/// An engine signed in with `dialect` (and online).
fn online(config: ClientConfig, dialect: Dialect) -> Client {
    let mut c = Client::from_config(config);
    c.wait(|e| matches!(e, Event::Ns(NsEvent::SignedIn { dialect: d, .. }) if *d == dialect));
    c.wait(|e| matches!(e, Event::Ns(NsEvent::OwnStatus(_))));
    c
}

#[test]
fn right_password_signs_in_with_msnp8_and_wrong_one_gets_401() {
    let server = server_with(&["alice@example.com"], |_| {});
    let mut ok = online(config(&server, "alice@example.com", "pw"), Dialect::Msnp8);
    assert_eq!(
        server.session("alice@example.com").and_then(|s| s.status),
        Some(Status::Online)
    );
    let mut bad = Client::from_config(config(&server, "alice@example.com", "wrong"));
    assert_eq!(
        bad.login_failure(),
        LoginError::Passport(PassportError::WrongPassword)
    );
    // A wrong password is never retried on its own.
    std::thread::sleep(Duration::from_millis(300));
    assert!(!std::iter::from_fn(|| bad.session.events.try_recv().ok())
        .any(|e| matches!(e, Event::Reconnecting { .. })));
    ok.wait(|e| matches!(e, Event::Ns(NsEvent::ListSynced { .. })));
    ok.stop();
    bad.stop();
}

#[test]
fn auto_lands_on_msnp8_and_falls_back_to_msnp7() {
    let server = server_with(&["alice@example.com"], |_| {});
    let c = online(config(&server, "alice@example.com", "pw"), Dialect::Msnp8);
    c.stop();
    // The same automatic offer against a server without MSNP8 signs in with MSNP7 (MD5).
    let old = server_with(&["alice@example.com"], |c| {
        c.msnp8 = false;
        c.https_listen = None;
    });
    let cfg = ClientConfig {
        server: old.ns_addr().to_string(),
        account: "alice@example.com".into(),
        password: "pw".into(),
        ..ClientConfig::default()
    };
    let c = online(cfg, Dialect::Msnp7);
    c.stop();
    // Forcing MSNP8 there fails clearly.
    let cfg = ClientConfig {
        server: old.ns_addr().to_string(),
        account: "alice@example.com".into(),
        password: "pw".into(),
        protocol: ProtocolChoice::Msnp8Only,
        ..ClientConfig::default()
    };
    let mut c = Client::from_config(cfg);
    assert_eq!(c.login_failure(), LoginError::VersionRefused);
    c.stop();
}

#[test]
fn expired_ticket_is_refused_and_retried_once() {
    let server = server_with(&["alice@example.com"], |c| c.ticket_ttl = Duration::ZERO);
    let mut c = Client::from_config(config(&server, "alice@example.com", "pw"));
    assert_eq!(c.login_failure(), LoginError::TicketRejected);
    c.wait(|e| matches!(e, Event::Reconnecting { .. }));
    assert_eq!(c.login_failure(), LoginError::TicketRejected);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !std::iter::from_fn(|| c.session.events.try_recv().ok())
            .any(|e| matches!(e, Event::Reconnecting { .. } | Event::Connecting { .. })),
        "a refused ticket is retried once only"
    );
    assert!(server.session("alice@example.com").is_none());
    c.stop();
}

#[test]
fn nexus_down_is_reported_and_retried() {
    let server = server_with(&["alice@example.com"], |_| {});
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let mut cfg = config(&server, "alice@example.com", "pw");
    cfg.nexus_url = Some(format!("https://127.0.0.1:{port}/rdr/pprdr.asp"));
    let mut c = Client::from_config(cfg);
    match c.login_failure() {
        LoginError::Passport(PassportError::Unreachable { url, .. }) => {
            assert!(url.contains(&port.to_string()), "{url}")
        }
        other => panic!("expected an unreachable nexus, got {other:?}"),
    }
    // Transient: the engine tries again with backoff.
    c.wait(|e| matches!(e, Event::Reconnecting { .. }));
    c.stop();
}

#[test]
fn untrusted_certificate_is_refused() {
    let server = server_with(&["alice@example.com"], |_| {});
    let mut cfg = config(&server, "alice@example.com", "pw");
    cfg.extra_ca_file = None;
    let mut c = Client::from_config(cfg);
    match c.login_failure() {
        LoginError::Passport(PassportError::Certificate { reason, .. }) => {
            assert!(reason.to_lowercase().contains("certificate"), "{reason}")
        }
        other => panic!("expected a certificate error, got {other:?}"),
    }
    assert!(server.session("alice@example.com").is_none());
    c.stop();
}

#[test]
fn login_redirects_are_followed_up_to_five() {
    let server = server_with(&["alice@example.com"], |c| c.login_redirects = 5);
    let c = online(config(&server, "alice@example.com", "pw"), Dialect::Msnp8);
    c.stop();
    let server = server_with(&["alice@example.com"], |c| c.login_redirects = 6);
    let mut c = Client::from_config(config(&server, "alice@example.com", "pw"));
    assert!(matches!(
        c.login_failure(),
        LoginError::Passport(PassportError::Redirect(_))
    ));
    c.stop();
}

#[test]
fn login_url_bypasses_the_nexus() {
    let server = server_with(&["alice@example.com"], |_| {});
    let mut cfg = config(&server, "alice@example.com", "pw");
    cfg.nexus_url = Some("https://127.0.0.1:1/rdr/pprdr.asp".into());
    cfg.login_url = server.login_url();
    let c = online(cfg, Dialect::Msnp8);
    c.stop();
}

#[test]
fn mixed_msnp7_and_msnp8_three_way_chat() {
    let names = ["alice@example.com", "bob@example.com", "carol@example.com"];
    let server = server_with(&names, |_| {});
    let mut alice = online(config(&server, names[0], "pw"), Dialect::Msnp8);
    let mut bob = online(config(&server, names[1], "pw"), Dialect::Msnp8);
    let mut carol_cfg = config(&server, names[2], "pw");
    carol_cfg.protocol = ProtocolChoice::Msnp7Only;
    let mut carol = online(carol_cfg, Dialect::Msnp7);
    befriend(&mut alice, &mut bob);
    befriend(&mut alice, &mut carol);
    befriend(&mut bob, &mut carol);

    // Presence across dialects: MSNP8 clients see capabilities (0 for the MSNP7 client),
    // the MSNP7 client sees none.
    carol.ns(NsRequest::SetStatus(Status::Away));
    alice.wait(|e| {
        matches!(e, Event::Ns(NsEvent::Presence { account, status: Status::Away, capabilities: Some(Capabilities(0)), .. }) if account == "carol@example.com")
    });
    alice.ns(NsRequest::SetStatus(Status::Busy));
    carol.wait(|e| {
        matches!(e, Event::Ns(NsEvent::Presence { account, status: Status::Busy, capabilities: None, .. }) if account == "alice@example.com")
    });

    // Alice (MSNP8) talks to Bob (MSNP8), then invites Carol (MSNP7).
    alice.send(Request::SendTo {
        id: 1,
        to: names[1].into(),
        ack: AckMode::Acknowledged,
        payload: payload::text_message_plain("hi bob"),
    });
    let conversation = match alice.wait(|e| matches!(e, Event::ConversationOpened { .. })) {
        Event::ConversationOpened { conversation, .. } => conversation,
        _ => unreachable!(),
    };
    alice.wait(|e| matches!(e, Event::MessageDelivered { id: 1 }));
    assert_eq!(bob.wait_text(names[0]).1, "hi bob");
    alice.send(Request::Invite {
        conversation,
        account: names[2].into(),
    });
    alice.wait(|e| matches!(e, Event::Joined { account, .. } if account == "carol@example.com"));
    bob.wait(|e| matches!(e, Event::Joined { account, .. } if account == "carol@example.com"));
    alice.send(Request::SendInConversation {
        id: 2,
        conversation,
        ack: AckMode::Acknowledged,
        payload: payload::text_message_plain("hello MSNP7 and MSNP8 ☕"),
    });
    alice.wait(|e| matches!(e, Event::MessageDelivered { id: 2 }));
    assert_eq!(bob.wait_text(names[0]).1, "hello MSNP7 and MSNP8 ☕");
    let (carol_conv, text) = carol.wait_text(names[0]);
    assert_eq!(text, "hello MSNP7 and MSNP8 ☕");
    // Carol (MSNP7) answers into the same conversation; both MSNP8 clients read it.
    carol.send(Request::SendInConversation {
        id: 3,
        conversation: carol_conv,
        ack: AckMode::Acknowledged,
        payload: payload::text_message_plain("hi both, from MSNP7"),
    });
    carol.wait(|e| matches!(e, Event::MessageDelivered { id: 3 }));
    assert_eq!(alice.wait_text(names[2]).1, "hi both, from MSNP7");
    assert_eq!(bob.wait_text(names[2]).1, "hi both, from MSNP7");
    assert_eq!(server.switchboards().len(), 1);
    assert_eq!(server.switchboards()[0].participants.len(), 3);
    for c in [alice, bob, carol] {
        c.stop();
    }
}

// ----- raw protocol ---------------------------------------------------------------------------

/// One HTTPS exchange with the server's Passport endpoints: `request` written byte for byte,
/// the whole answer read back (the server closes after it).
fn https_exchange(server: &ServerHandle, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ca = ca_file(server);
    let addr = server.https_addr().expect("HTTPS endpoints run");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tls = msnp::client::passport::tls_config(Some(&ca)).expect("TLS config");
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls));
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
        let mut stream = connector.connect(name, tcp).await.expect("TLS handshake");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await
        {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&answer).into_owned()
    })
}

/// Status and headers of an HTTP answer.
fn response_head(answer: &str) -> (u16, Vec<(String, String)>) {
    let head = answer.split("\r\n\r\n").next().unwrap_or("");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_string(), v.trim().to_string()))
        .collect();
    (status, headers)
}

/// Logs an HTTP message in the reference's notation (`C:`/`S:` lines, a bare one for the end of
/// the headers, `S|` for the body).
fn log_http(log: &mut Vec<String>, dir: char, message: &str) {
    let (head, body) = message.split_once("\r\n\r\n").unwrap_or((message, ""));
    for line in head.split("\r\n") {
        log.push(format!("{dir}: {line}"));
    }
    log.push(format!("{dir}:"));
    if !body.is_empty() {
        log.push(format!("{dir}| {body}"));
    }
}

/// The Passport step done by hand, byte for byte as msnp8.md §3 gives it (the request heads
/// come from `msnp::proto::passport`), logging both HTTPS exchanges.
fn ticket(server: &ServerHandle, account: &str, challenge: &str, log: &mut Vec<String>) -> String {
    use msnp::proto::passport::*;
    let nexus: hyper_uri::Parts = hyper_uri::parse(&server.nexus_url().expect("nexus"));
    log.push(format!("-- HTTPS connection to {}", nexus.authority));
    let request = request_head(&nexus.path, &nexus_request_headers(&nexus.authority));
    log_http(log, 'C', &request);
    let answer = https_exchange(server, &request);
    log_http(log, 'S', &answer);
    let (status, headers) = response_head(&answer);
    assert_eq!(status, 200);
    let login = find_header(&headers, "PassportURLs")
        .and_then(login_url_from_passport_urls)
        .expect("DALogin");
    let login = hyper_uri::parse(&login);
    log.push(format!("-- HTTPS connection to {}", login.authority));
    let auth = authorization_value(account, "pw", challenge);
    let request = request_head(&login.path, &login_request_headers(&login.authority, &auth));
    log_http(log, 'C', &request);
    let answer = https_exchange(server, &request);
    log_http(log, 'S', &answer);
    let (status, headers) = response_head(&answer);
    match classify_login_answer(status, &headers) {
        LoginAnswer::Ticket(t) => t,
        other => panic!("expected a ticket, got {other:?}"),
    }
}

/// Splits `https://authority/path` (enough for the URLs of these tests).
mod hyper_uri {
    pub struct Parts {
        pub authority: String,
        pub path: String,
    }

    pub fn parse(url: &str) -> Parts {
        let rest = url.strip_prefix("https://").expect("an https URL");
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        Parts {
            authority: authority.to_string(),
            path: if path.is_empty() {
                "/".into()
            } else {
                path.to_string()
            },
        }
    }
}

/// An MSNP8 sign-in up to the profile message, printing every line (run with `--nocapture`
/// to see the transcript).
fn sign_in_msnp8(server: &ServerHandle, account: &str, log: &mut Vec<String>) -> Raw {
    let mut c = Raw::connect(server.ns_addr());
    c.account = account.to_string();
    let say = |c: &mut Raw, line: String, log: &mut Vec<String>| {
        log.push(format!("C: {line}"));
        c.line(&line);
    };
    let hear = |c: &mut Raw, log: &mut Vec<String>| {
        let f = c.next_frame(common::WAIT).expect("a line");
        log.push(format!("S: {}", f.line));
        if let Some(p) = &f.payload {
            for piece in String::from_utf8_lossy(p).split_inclusive("\r\n") {
                log.push(format!("S| {}", piece.replace("\r\n", "\\r\\n")));
            }
        }
        ServerCommand::parse(&f).expect("parsable")
    };
    say(&mut c, "VER 1 MSNP8 MSNP7 CVR0".into(), log);
    assert_eq!(hear(&mut c, log).to_frame().line, "VER 1 MSNP8 CVR0");
    say(
        &mut c,
        format!("CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 5.0.0544 MSMSGS {account}"),
        log,
    );
    assert!(matches!(
        hear(&mut c, log),
        ServerCommand::Cvr { trid: 2, .. }
    ));
    say(&mut c, format!("USR 3 TWN I {account}"), log);
    let challenge = match hear(&mut c, log) {
        ServerCommand::UsrTwnChallenge { trid: 3, challenge } => challenge,
        other => panic!("expected the TWN challenge, got {other:?}"),
    };
    let t = ticket(server, account, &challenge, log);
    log.push("-- back on the notification server".into());
    say(&mut c, format!("USR 4 TWN S {t}"), log);
    match hear(&mut c, log) {
        ServerCommand::UsrOk {
            trid: 4,
            verified,
            restricted,
            ..
        } => {
            assert_eq!(verified.as_deref(), Some("1"));
            assert_eq!(restricted.as_deref(), Some("0"));
        }
        other => panic!("expected USR OK, got {other:?}"),
    }
    assert!(matches!(hear(&mut c, log), ServerCommand::Msg { .. }));
    c
}

#[test]
fn msnp8_sign_in_transcript_syn_chg_and_capabilities() {
    let server = server_with(&["carol@example.com", "dave@example.com"], |_| {});
    let mut log = Vec::new();
    let mut dave = sign_in_msnp8(&server, "dave@example.com", &mut Vec::new());
    dave.cmd("SYN", "0");
    dave.sync();
    // Dave goes online with an MSN 6.0 capabilities number, then adds carol.
    let t = dave.cmd("CHG", "NLN 268435492");
    dave.expect(&format!("CHG {t} NLN 268435492"));
    for line in [
        "FL carol@example.com carol@example.com 0",
        "AL carol@example.com carol@example.com",
    ] {
        dave.cmd("ADD", line);
    }
    dave.sync();

    let mut carol = sign_in_msnp8(&server, "carol@example.com", &mut log);
    let exchange = |c: &mut Raw, line: &str, log: &mut Vec<String>| -> Vec<String> {
        log.push(format!("C: {line}"));
        c.line(line);
        let lines = c.sync();
        for l in &lines {
            log.push(format!("S: {l}"));
        }
        lines
    };
    // carol: dave follows and allows her (he is on her RL only: a pending request).
    let lines = exchange(&mut carol, "SYN 5 0", &mut log);
    assert_eq!(
        lines,
        [
            "SYN 5 2 1 1",
            "GTC A",
            "BLP AL",
            "LSG 0 Other%20Contacts 0",
            "LST dave@example.com dave 8",
        ]
    );
    // A CHG without capabilities is ignored under MSNP8 (as on Escargot)…
    let lines = exchange(&mut carol, "CHG 6 NLN", &mut log);
    assert!(lines.is_empty(), "{lines:?}");
    carol.line("XFR 7 SB");
    assert_eq!(carol.next_line(), "913 7");
    // … with them, it counts; ILN carries dave's capabilities.
    let lines = exchange(
        &mut carol,
        "ADD 8 FL dave@example.com dave@example.com 0",
        &mut log,
    );
    assert_eq!(lines[0], "ADD 8 FL 3 dave@example.com dave@example.com 0");
    let lines = exchange(&mut carol, "CHG 9 NLN 0", &mut log);
    assert_eq!(
        lines,
        ["CHG 9 NLN 0", "ILN 9 NLN dave@example.com dave 268435492"]
    );
    dave.until_line("NLN NLN carol@example.com carol 0");
    println!("MSNP8 sign-in against msnp-server:\n{}", log.join("\n"));

    // The SYN of a contact with phone numbers and groups, in MSNP8 form.
    let t = dave.cmd("PRP", "PHH 555%201234");
    dave.until(|l| l.starts_with(&format!("PRP {t} ")));
    let t = dave.cmd("ADG", "Friends 0");
    dave.until(|l| l.starts_with(&format!("ADG {t} ")));
    dave.cmd("ADD", "FL carol@example.com carol@example.com 1");
    dave.sync();
    drop(dave);
    server.wait_for(WAIT, |s| s.session("dave@example.com").is_none());
    let mut dave = sign_in_msnp8(&server, "dave@example.com", &mut Vec::new());
    dave.line("SYN 5 0");
    let lines = dave.sync();
    assert_eq!(
        lines,
        [
            "SYN 5 7 1 2",
            "GTC A",
            "BLP AL",
            "PRP PHH 555%201234",
            "LSG 0 Other%20Contacts 0",
            "LSG 1 Friends 0",
            "LST carol@example.com carol@example.com 11 1",
        ]
    );
    // A current version gets the SYN line alone.
    dave.line("SYN 6 7");
    assert_eq!(dave.sync(), ["SYN 6 7"]);
}

#[test]
fn tickets_are_single_use_and_bound_to_the_account() {
    let server = server_with(&["carol@example.com", "dave@example.com"], |_| {});
    let t = server.issue_ticket("carol@example.com");
    let start = |account: &str| {
        let mut c = Raw::connect(server.ns_addr());
        c.account = account.into();
        c.line("VER 1 MSNP8 CVR0");
        c.expect("VER 1 MSNP8 CVR0");
        c.line(&format!("USR 2 TWN I {account}"));
        assert!(c.next_line().starts_with("USR 2 TWN S lc=1033,"));
        c
    };
    // Someone else's ticket: 911 and closed (and the ticket is used up).
    let mut c = start("dave@example.com");
    c.line(&format!("USR 3 TWN S {t}"));
    assert_eq!(c.expect_closed(), ["911 3"]);
    let mut c = start("carol@example.com");
    c.line(&format!("USR 3 TWN S {t}"));
    assert_eq!(c.expect_closed(), ["911 3"]);
    // A fresh one, in the historical t=…&p= form, works once.
    let t = server.issue_ticket("carol@example.com");
    let mut c = start("carol@example.com");
    c.line(&format!("USR 3 TWN S t={t}&p="));
    assert_eq!(c.next_line(), "USR 3 OK carol@example.com carol 1 0");
    let mut c = start("carol@example.com");
    c.line(&format!("USR 3 TWN S {t}"));
    assert_eq!(c.expect_closed(), ["911 3"]);
    // Wrong commands for the dialect close without a reply (msnp8.md §1.3).
    let mut c = Raw::connect(server.ns_addr());
    c.line("VER 1 MSNP8 CVR0");
    c.expect("VER 1 MSNP8 CVR0");
    c.line("INF 2");
    assert!(c.expect_closed().is_empty());
    let mut c = Raw::connect(server.ns_addr());
    c.line("VER 1 MSNP7 CVR0");
    c.expect("VER 1 MSNP7 CVR0");
    c.line("USR 2 TWN I carol@example.com");
    assert!(c.expect_closed().is_empty());
    // No @ in the account: 911.
    let mut c = Raw::connect(server.ns_addr());
    c.line("VER 1 MSNP8 CVR0");
    c.expect("VER 1 MSNP8 CVR0");
    c.line("USR 2 TWN I carol");
    assert_eq!(c.expect_closed(), ["911 2"]);
}

#[test]
fn passport_client_against_the_server_endpoints() {
    let server = server_with(&["carol@example.com"], |_| {});
    let client = PassportClient::new(PassportConfig {
        nexus_url: server.nexus_url().expect("nexus"),
        login_url: None,
        extra_ca_file: Some(ca_file(&server)),
    })
    .expect("client");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let login = rt.block_on(client.login_server()).expect("nexus answers");
    assert_eq!(Some(login), server.login_url());
    let t = rt
        .block_on(client.ticket("carol@example.com", "pw", "ct=1,rver=1,lc=1,id=1"))
        .expect("ticket");
    assert_eq!(t.len(), 20);
    assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        rt.block_on(client.ticket("carol@example.com", "nope", "ct=1")),
        Err(PassportError::WrongPassword)
    );
    assert_eq!(
        rt.block_on(client.ticket("nobody@example.com", "pw", "ct=1")),
        Err(PassportError::WrongPassword)
    );
    // A CA file that is not PEM is a configuration error, not a silent fallback.
    let bogus = std::env::temp_dir().join(format!("msnp8-bogus-{}.pem", std::process::id()));
    std::fs::write(&bogus, "not a certificate").expect("write");
    assert!(matches!(
        PassportClient::new(PassportConfig {
            nexus_url: server.nexus_url().expect("nexus"),
            login_url: None,
            extra_ca_file: Some(bogus),
        }),
        Err(PassportError::Config(_))
    ));
}

#[test]
fn dispatch_redirect_then_msnp8_sign_in() {
    // msnp8.md §1.4: the dispatch server answers USR TWN I with XFR NS; the client starts
    // again with VER, CVR, USR TWN I on the notification server.
    let server = server_with(&["alice@example.com"], |c| c.dispatch = true);
    assert_ne!(server.ns_addr(), server.notification_addr());
    // (The engine follows the redirect itself; the sign-in can only succeed on the NS.)
    let c = online(config(&server, "alice@example.com", "pw"), Dialect::Msnp8);
    assert!(server.session("alice@example.com").is_some());
    c.stop();
}
