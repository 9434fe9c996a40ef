//! An `msnp::client` engine as a test participant: start and sign in, send requests, wait for
//! events (in order, keeping the ones not waited for yet), and make two accounts friends.

use std::time::{Duration, Instant};

use msnp::client::{self, ClientConfig, ConversationId, Event, Request};
use msnp::proto::command::{AckMode, List, Status};
use msnp::proto::msnp8::ProtocolChoice;
use msnp::proto::ns::{LoginError, NsEvent, NsRequest};
use msnp::proto::payload::{self, Payload};
use msnp_server::{AccountSpec, Config, Server, ServerHandle};

/// How long an engine test waits for an expected event.
pub const ENGINE_WAIT: Duration = Duration::from_secs(15);

/// One engine session.
pub struct Client {
    pub session: client::Session,
    pub seen: Vec<Event>,
    pub account: String,
}

impl Client {
    pub fn start(server: &ServerHandle, account: &str, password: &str) -> Client {
        Client::from_config(ClientConfig {
            server: server.ns_addr().to_string(),
            account: account.into(),
            password: password.into(),
            initial_status: Status::Online,
            cache: None,
            // These tests are about the MSNP7 session; tests/msnp8.rs covers MSNP8.
            protocol: ProtocolChoice::Msnp7Only,
            ..ClientConfig::default()
        })
    }

    /// Starts an engine with any configuration (MSNP8, a test CA, ...).
    pub fn from_config(config: ClientConfig) -> Client {
        let account = config.account.clone();
        Client {
            session: client::start(config).expect("engine starts"),
            seen: Vec::new(),
            account,
        }
    }

    /// The sign-in failure reported by the engine.
    pub fn login_failure(&mut self) -> LoginError {
        match self.wait(|e| matches!(e, Event::Ns(NsEvent::LoginFailed(_)))) {
            Event::Ns(NsEvent::LoginFailed(e)) => e,
            _ => unreachable!(),
        }
    }

    pub fn signed_in(server: &ServerHandle, account: &str) -> Client {
        let mut c = Client::start(server, account, "pw");
        c.wait(|e| matches!(e, Event::Ns(NsEvent::OwnStatus(_))));
        c
    }

    pub fn send(&self, r: Request) {
        self.session
            .requests
            .send_blocking(r)
            .expect("engine alive");
    }

    pub fn ns(&self, r: NsRequest) {
        self.send(Request::Ns(r));
    }

    /// Waits for an event matching `pred` (already seen ones count too, consumed in order).
    pub fn wait(&mut self, pred: impl Fn(&Event) -> bool) -> Event {
        self.wait_within(ENGINE_WAIT, pred)
    }

    /// [`Client::wait`] with another time limit.
    pub fn wait_within(&mut self, limit: Duration, pred: impl Fn(&Event) -> bool) -> Event {
        if let Some(pos) = self.seen.iter().position(&pred) {
            return self.seen.remove(pos);
        }
        let deadline = Instant::now() + limit;
        loop {
            match self.session.events.try_recv() {
                Ok(e) if pred(&e) => return e,
                Ok(e) => self.seen.push(e),
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => panic!("{}: timed out; events: {:#?}", self.account, self.seen),
            }
        }
    }

    pub fn wait_presence(&mut self, who: &str, online: bool) {
        let who = who.to_string();
        self.wait(move |e| match e {
            Event::Ns(NsEvent::Presence { account, .. }) => online && *account == who,
            Event::Ns(NsEvent::Offline { account }) => !online && *account == who,
            _ => false,
        });
    }

    pub fn wait_text(&mut self, from: &str) -> (ConversationId, String) {
        let from = from.to_string();
        let e = self.wait(move |e| {
            matches!(e, Event::Message { from: f, payload, .. } if *f == from && matches!(Payload::parse(payload), Payload::Text(_)))
        });
        let Event::Message {
            conversation,
            payload,
            ..
        } = e
        else {
            unreachable!()
        };
        let Payload::Text(t) = Payload::parse(&payload) else {
            unreachable!()
        };
        (conversation, t.text)
    }

    pub fn say(&self, id: u64, to: &str, text: &str) {
        self.send(Request::SendTo {
            id,
            to: to.into(),
            ack: AckMode::Acknowledged,
            payload: payload::text_message_plain(text),
        });
    }

    pub fn stop(self) {
        let _ = self.session.requests.send_blocking(Request::Shutdown);
        self.session.join();
    }
}

/// Makes `a` and `b` follow and allow each other, and waits until each sees the other online.
pub fn befriend(a: &mut Client, b: &mut Client) {
    for (x, y) in [(&*a, &b.account), (&*b, &a.account)] {
        x.ns(NsRequest::AddContact {
            list: List::Forward,
            account: y.clone(),
            nick: None,
            group: Some(0),
        });
        x.ns(NsRequest::AddContact {
            list: List::Allow,
            account: y.clone(),
            nick: None,
            group: None,
        });
    }
    let (an, bn) = (a.account.clone(), b.account.clone());
    a.wait_presence(&bn, true);
    b.wait_presence(&an, true);
}

/// Accounts with the password `pw`.
pub fn accounts(names: &[&str]) -> Vec<AccountSpec> {
    names.iter().map(|n| AccountSpec::new(n, "pw")).collect()
}

/// A loopback server with these accounts (password `pw`) and a tweaked configuration.
pub fn server_for(names: &[&str], tweak: impl FnOnce(&mut Config)) -> ServerHandle {
    let mut config = Config::loopback(accounts(names));
    tweak(&mut config);
    Server::start(config).expect("server starts")
}
