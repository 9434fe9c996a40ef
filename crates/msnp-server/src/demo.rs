//! The demo: the demo account, about forty virtual contacts in four groups whose presence
//! changes over time, and the echo bot. Virtual contacts are sessions inside the server without
//! a socket; they go through the same sign-in, presence, privacy and switchboard code as real
//! clients (their commands are fed to the core as frames).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use msnp::proto::codec::{Decoder, Direction, Frame, Limits};
use msnp::proto::command::{ServerCommand, Status};
use msnp::proto::names::WireName;
use msnp::proto::payload::{self, Payload};
use tokio::sync::{mpsc, watch};

use crate::bot_files::BotFiles;
use crate::config::{AccountSpec, Config};
use crate::core::{ConnId, Core, Out, Outlet};
use crate::net::Shared;
use crate::store::FlEntry;

/// The demo user's address.
pub const DEMO_ACCOUNT: &str = "you@mariposa.invalid";
/// The demo user's password (also the password of every demo contact).
pub const DEMO_PASSWORD: &str = "demo";
/// The echo bot's address.
pub const DEMO_BOT: &str = "echo@mariposa.invalid";
/// How often some demo contacts change their presence.
const CHURN_INTERVAL: Duration = Duration::from_secs(15);
/// How long the bot "types" before answering.
const BOT_TYPING_DELAY: Duration = Duration::from_millis(600);

/// The demo groups (id, name).
const GROUPS: [(u32, &str); 4] = [(1, "Friends"), (2, "Family"), (3, "Work"), (4, "Gaming")];

/// The demo contacts: display name (the address is derived from it).
const CONTACTS: [&str; 40] = [
    "Ada Lovelace",
    "Alan Turing",
    "Grace Hopper",
    "Linus Pauling",
    "Marie Curie",
    "Nikola Tesla",
    "Rosalind Franklin",
    "Carl Sagan",
    "Hedy Lamarr",
    "Katherine Johnson",
    "Mum",
    "Dad",
    "Grandma Zoë",
    "Uncle Bob",
    "Aunt Carol",
    "Cousin Dave",
    "Little Sis",
    "Big Bro",
    "Nana",
    "Cousin Éloïse",
    "Boss Lady",
    "Frank from IT",
    "Helen (HR)",
    "Ivan the Intern",
    "Julia — Design",
    "Karl Accounts",
    "Lena QA",
    "Mike DevOps",
    "Nora PM",
    "Oscar Sales",
    "xXSniperXx",
    "PixelQueen",
    "N00bSlayer",
    "Lag Master",
    "GG_EZ",
    "Respawn Rita",
    "Tank Tom",
    "Healer Hana ✿",
    "Loot Goblin",
    "Speedrun Sam",
];

/// The address of a demo contact.
fn address(name: &str) -> String {
    let mut local = String::new();
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() {
            local.push(ch.to_ascii_lowercase());
        } else if !local.ends_with('.') && !local.is_empty() {
            local.push('.');
        }
    }
    let local = local.trim_end_matches('.');
    format!("{local}@mariposa.invalid")
}

/// Initial status of contact `i` (`None`: offline).
fn initial_status(i: usize) -> Option<Status> {
    match i % 8 {
        0..=2 => Some(Status::Online),
        3 => Some(Status::Away),
        4 => Some(Status::Busy),
        5 => Some(Status::BeRightBack),
        6 => None,
        _ => {
            if i % 3 == 0 {
                Some(Status::OnThePhone)
            } else {
                None
            }
        }
    }
}

/// Adds the demo accounts to the configuration (the user, the bot and the contacts).
pub(crate) fn add_demo_accounts(config: &mut Config) {
    config
        .accounts
        .push(AccountSpec::new(DEMO_ACCOUNT, DEMO_PASSWORD).with_display_name("You"));
    config
        .accounts
        .push(AccountSpec::new(DEMO_BOT, DEMO_PASSWORD).with_display_name("Echo Bot"));
    for name in CONTACTS {
        config
            .accounts
            .push(AccountSpec::new(&address(name), DEMO_PASSWORD).with_display_name(name));
    }
    config.accounts.push(
        AccountSpec::new("newcomer@mariposa.invalid", DEMO_PASSWORD)
            .with_display_name("Newcomer (wants to add you)"),
    );
}

/// Fills the demo lists unless persisted data already exists for the demo user.
pub(crate) fn seed(core: &mut Core) {
    if core.data(DEMO_ACCOUNT).is_some_and(|d| !d.fl.is_empty()) {
        return;
    }
    let you_name = core.display_name(DEMO_ACCOUNT);
    let mut contacts: Vec<(String, u32)> = CONTACTS
        .iter()
        .enumerate()
        .map(|(i, n)| (address(n), GROUPS[i / 10].0))
        .collect();
    contacts.push((DEMO_BOT.to_string(), 1));
    if let Some(d) = core.data_mut(DEMO_ACCOUNT) {
        for (id, name) in GROUPS {
            d.groups
                .insert(id, WireName::encode(name).as_wire().to_string());
        }
    }
    for (contact, group) in &contacts {
        let name = core.display_name(contact);
        if let Some(d) = core.data_mut(DEMO_ACCOUNT) {
            d.fl.insert(
                contact.clone(),
                FlEntry {
                    nick: name.as_wire().to_string(),
                    groups: BTreeSet::from([*group]),
                },
            );
            d.al.insert(contact.clone(), name.as_wire().to_string());
            d.rl.insert(contact.clone(), name.as_wire().to_string());
        }
        if let Some(cd) = core.data_mut(contact) {
            cd.fl.insert(
                DEMO_ACCOUNT.to_string(),
                FlEntry {
                    nick: you_name.as_wire().to_string(),
                    groups: BTreeSet::from([0]),
                },
            );
            cd.al
                .insert(DEMO_ACCOUNT.to_string(), you_name.as_wire().to_string());
            cd.rl
                .insert(DEMO_ACCOUNT.to_string(), you_name.as_wire().to_string());
            cd.version += 1;
        }
    }
    // One pending request: the newcomer follows you, you have not decided yet.
    let newcomer = "newcomer@mariposa.invalid";
    let name = core.display_name(newcomer);
    if let Some(d) = core.data_mut(DEMO_ACCOUNT) {
        d.rl.insert(newcomer.to_string(), name.as_wire().to_string());
        d.version += 1;
    }
    if let Some(nd) = core.data_mut(newcomer) {
        nd.fl.insert(
            DEMO_ACCOUNT.to_string(),
            FlEntry {
                nick: you_name.as_wire().to_string(),
                groups: BTreeSet::from([0]),
            },
        );
        nd.version += 1;
    }
    core.persist.notify_one();
}

/// A line fed to the core as if a client had sent it.
fn frame(line: String, payload: Option<Vec<u8>>) -> Frame {
    let line = match &payload {
        Some(p) => format!("{line} {}", p.len()),
        None => line,
    };
    Frame { line, payload }
}

/// Signs a contact in with a status (virtual session, same presence code as `CHG`).
fn go_online(core: &mut Core, account: &str, status: Status, outlet: Outlet) -> ConnId {
    let id = core.virtual_login(account, outlet);
    core.ns_frame(id, frame(format!("CHG 1 {status}"), None));
    id
}

/// Starts the virtual sessions, the presence churn and the echo bot.
pub(crate) fn start(shared: Arc<Shared>, stop: watch::Receiver<bool>) {
    let mut sessions: Vec<(String, Option<ConnId>)> = Vec::new();
    {
        let mut core = shared.lock();
        for (i, name) in CONTACTS.iter().enumerate() {
            let account = address(name);
            let conn = initial_status(i).map(|s| go_online(&mut core, &account, s, Outlet::sink()));
            sessions.push((account, conn));
        }
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let bot_conn = go_online(
        &mut shared.lock(),
        DEMO_BOT,
        Status::Online,
        Outlet::channel(tx),
    );
    tokio::spawn(bot_ns(shared.clone(), bot_conn, rx, stop.clone()));
    tokio::spawn(churn(shared, sessions, stop));
}

/// Every interval, a few contacts sign in or out or change status.
async fn churn(
    shared: Arc<Shared>,
    mut sessions: Vec<(String, Option<ConnId>)>,
    mut stop: watch::Receiver<bool>,
) {
    let moods = [
        Status::Online,
        Status::Away,
        Status::Busy,
        Status::Idle,
        Status::OutToLunch,
    ];
    let mut round: usize = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(CHURN_INTERVAL) => {}
            _ = stop.changed() => return,
        }
        round += 1;
        let mut core = shared.lock();
        // Four contacts per round, in a rotation of the first 24 (the others stay as they are).
        for k in 0..4 {
            let i = (round * 5 + k * 7) % 24;
            let Some((account, conn)) = sessions.get_mut(i) else {
                continue;
            };
            // Leave alone a contact that a real client has signed in as.
            if core
                .session_of(account)
                .is_some_and(|(id, c)| !c.is_virtual && Some(id) != *conn)
            {
                continue;
            }
            match conn.take() {
                Some(id) if (round + k) % 2 == 0 => core.ns_disconnected(id),
                Some(id) => {
                    let status = moods[(round + i) % moods.len()].clone();
                    core.ns_frame(id, frame(format!("CHG 1 {status}"), None));
                    *conn = Some(id);
                }
                None => {
                    let status = moods[(round + k) % moods.len()].clone();
                    *conn = Some(go_online(&mut core, account, status, Outlet::sink()));
                }
            }
        }
    }
}

/// Decodes the bytes a virtual session receives.
fn decode_out(decoder: &mut Decoder, out: Out) -> Result<Vec<ServerCommand>, ()> {
    match out {
        Out::Data(bytes) => {
            decoder.feed(&bytes);
            let mut cmds = Vec::new();
            while let Ok(Some(f)) = decoder.next_frame() {
                if let Ok(c) = ServerCommand::parse(&f) {
                    cmds.push(c);
                }
            }
            Ok(cmds)
        }
        Out::Close | Out::Abort => Err(()),
        Out::SetDelay(_) | Out::Deadline(_) => Ok(Vec::new()),
    }
}

/// The bot's notification session: answers every invitation.
async fn bot_ns(
    shared: Arc<Shared>,
    conn: ConnId,
    mut rx: mpsc::UnboundedReceiver<Out>,
    mut stop: watch::Receiver<bool>,
) {
    let mut decoder = Decoder::new(Direction::FromServer, Limits::CLIENT);
    loop {
        let out = tokio::select! {
            o = rx.recv() => o,
            _ = stop.changed() => return,
        };
        let Some(out) = out else { return };
        let Ok(cmds) = decode_out(&mut decoder, out) else {
            shared.lock().ns_disconnected(conn);
            return;
        };
        for cmd in cmds {
            if let ServerCommand::Rng {
                session_id, cookie, ..
            } = cmd
            {
                let (tx, rx) = mpsc::unbounded_channel();
                let sb = {
                    let mut core = shared.lock();
                    let sb = core.sb_connected(Outlet::channel(tx));
                    core.sb_frame(
                        sb,
                        frame(format!("ANS 1 {DEMO_BOT} {cookie} {session_id}"), None),
                    );
                    sb
                };
                tokio::spawn(bot_sb(shared.clone(), sb, rx, stop.clone()));
            }
        }
    }
}

/// The bot in one switchboard: echoes text (after a typing notification), returns nudges,
/// receives offered files and tells their size and SHA-256 ([`BotFiles`]), and leaves when alone.
async fn bot_sb(
    shared: Arc<Shared>,
    conn: ConnId,
    mut rx: mpsc::UnboundedReceiver<Out>,
    mut stop: watch::Receiver<bool>,
) {
    let mut decoder = Decoder::new(Direction::FromServer, Limits::CLIENT);
    let mut trid: u32 = 1;
    let mut send = |core: &mut Core, ack: &str, payload: Vec<u8>| {
        trid += 1;
        core.sb_frame(conn, frame(format!("MSG {trid} {ack}"), Some(payload)));
    };
    let mut files = BotFiles::default();
    let (results_tx, mut results) = mpsc::unbounded_channel();
    loop {
        let out = tokio::select! {
            o = rx.recv() => o,
            Some(payload) = results.recv() => {
                send(&mut shared.lock(), "N", payload);
                continue;
            }
            _ = stop.changed() => None,
        };
        let Some(out) = out else { break };
        let Ok(cmds) = decode_out(&mut decoder, out) else {
            break;
        };
        for cmd in cmds {
            match cmd {
                ServerCommand::Msg { payload, .. } => match Payload::parse(&payload) {
                    Payload::Text(t) => {
                        send(&mut shared.lock(), "U", payload::typing(DEMO_BOT));
                        tokio::time::sleep(BOT_TYPING_DELAY).await;
                        send(
                            &mut shared.lock(),
                            "N",
                            payload::text_message_plain(&format!("Echo: {}", t.text)),
                        );
                    }
                    Payload::Nudge => send(&mut shared.lock(), "N", payload::nudge()),
                    Payload::Invitation(invitation) => {
                        for reply in files.handle(DEMO_BOT, &invitation, &results_tx) {
                            send(&mut shared.lock(), "N", reply);
                        }
                    }
                    _ => {}
                },
                ServerCommand::Bye { .. } => {
                    let mut core = shared.lock();
                    let alone = core
                        .sb_conns
                        .get(&conn)
                        .and_then(|c| c.sb)
                        .and_then(|sb| core.sbs.get(&sb))
                        .is_none_or(|b| b.members.len() <= 1);
                    if alone {
                        core.sb_frame(conn, frame("OUT".into(), None));
                    }
                }
                _ => {}
            }
        }
    }
    shared.lock().sb_disconnected(conn);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_valid_and_distinct() {
        let all: BTreeSet<String> = CONTACTS.iter().map(|n| address(n)).collect();
        assert_eq!(all.len(), CONTACTS.len());
        for a in &all {
            assert!(msnp::proto::names::is_valid_account(a), "{a}");
        }
        assert_eq!(address("Frank from IT"), "frank.from.it@mariposa.invalid");
        assert_eq!(address("Grandma Zoë"), "grandma.zo@mariposa.invalid");
    }
}
