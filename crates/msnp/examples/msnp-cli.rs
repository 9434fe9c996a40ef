//! `msnp-cli`: a scriptable terminal client for bots, scripts and interop checks.
//!
//! ```text
//! MSNP_PASSWORD=secret cargo run -p msnp --example msnp-cli -- --server HOST:PORT --passport EMAIL \
//!     [--status NLN] [--protocol auto|MSNP7|MSNP8] [--ca-file PATH] [--nexus URL] [--login-url URL]
//! ```
//!
//! `--protocol` chooses the versions offered (default `auto`: MSNP8 and MSNP7, the server picks);
//! MSNP8 signs in through Passport over HTTPS: `--nexus` is the nexus URL (default
//! `https://<server host>/rdr/pprdr.asp`), `--login-url` bypasses it, and `--ca-file` adds a CA
//! certificate (PEM) trusted besides the built-in roots, for servers with their own CA.
//!
//! Commands on stdin, one per line: `status CODE`, `name TEXT`, `add LIST EMAIL`,
//! `remove LIST EMAIL`, `msg EMAIL TEXT`, `typing EMAIL`, `nudge EMAIL`, `send-file EMAIL PATH`,
//! `accept-file COOKIE DIR`, `decline-file COOKIE`, `cancel-transfer ID`, `list`, `quit`. Every
//! event is printed as one JSON object per line; a finished transfer's line carries the SHA-256
//! of the file.

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use msnp::client::{self, ClientConfig, Event, Request, TransferId};
use msnp::proto::command::{AckMode, List, Status};
use msnp::proto::contacts::{ContactEntry, ContactList};
use msnp::proto::msnp8::ProtocolChoice;
use msnp::proto::ns::{NsEvent, NsRequest};
use msnp::proto::payload::{self, Payload};
use serde_json::{json, Value};

fn usage() -> ExitCode {
    eprintln!("usage: msnp-cli --server HOST:PORT --passport EMAIL [--status CODE] [--protocol auto|MSNP7|MSNP8] [--ca-file PATH] [--nexus URL] [--login-url URL]  (password in MSNP_PASSWORD)");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut server = None;
    let mut passport = None;
    let mut status = Status::Online;
    let mut protocol = ProtocolChoice::Auto;
    let mut extra_ca_file = None;
    let mut nexus_url = None;
    let mut login_url = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--server" => server = args.next(),
            "--passport" => passport = args.next(),
            "--protocol" => match args.next().as_deref().and_then(ProtocolChoice::parse) {
                Some(p) => protocol = p,
                None => return usage(),
            },
            "--ca-file" => match args.next() {
                Some(path) => extra_ca_file = Some(std::path::PathBuf::from(path)),
                None => return usage(),
            },
            "--nexus" => match args.next() {
                Some(url) => nexus_url = Some(url),
                None => return usage(),
            },
            "--login-url" => match args.next() {
                Some(url) => login_url = Some(url),
                None => return usage(),
            },
            "--status" => match args.next() {
                Some(code) if Status::from_code(&code).is_settable() => {
                    status = Status::from_code(&code)
                }
                _ => return usage(),
            },
            _ => return usage(),
        }
    }
    let (Some(server), Some(passport)) = (server, passport) else {
        return usage();
    };
    let Ok(password) = std::env::var("MSNP_PASSWORD") else {
        eprintln!("msnp-cli: set the password in the environment variable MSNP_PASSWORD");
        return ExitCode::from(2);
    };
    let config = ClientConfig {
        server,
        account: passport.clone(),
        password,
        initial_status: status,
        cache: None,
        protocol,
        nexus_url,
        login_url,
        extra_ca_file,
    };
    let session = match client::start(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("msnp-cli: cannot start the engine: {e}");
            return ExitCode::FAILURE;
        }
    };

    let (local_tx, local_rx) = std::sync::mpsc::channel();
    let requests = session.requests.clone();
    let own = passport.clone();
    let list_tx = local_tx.clone();
    // Offers by invitation cookie, for `accept-file COOKIE DIR`.
    let offers: Offers = Arc::default();
    let offers_in = offers.clone();
    std::thread::spawn(move || read_commands(&requests, &own, &list_tx, &offers_in));
    let events = session.events.clone();
    std::thread::spawn(move || {
        while let Ok(event) = events.recv_blocking() {
            if local_tx.send(Local::Engine(event)).is_err() {
                break;
            }
        }
    });

    let mut list = ContactList::default();
    let mut signed_in = false;
    while let Ok(local) = local_rx.recv() {
        let event = match local {
            Local::PrintList => {
                print(list_json(&list));
                continue;
            }
            Local::Engine(event) => event,
        };
        if let Event::Ns(NsEvent::LoginFailed(error)) = &event {
            print(
                json!({"event": "error", "kind": "sign_in_failed", "message": error.to_string()}),
            );
            if !error.is_transient() || !signed_in {
                eprintln!("msnp-cli: sign-in failed: {error}");
                let _ = session.requests.send_blocking(Request::Shutdown);
                return ExitCode::FAILURE;
            }
            continue;
        }
        if let Event::Ns(NsEvent::SignedIn { .. }) = &event {
            signed_in = true;
        }
        if matches!(event, Event::Stopped) {
            break;
        }
        if let Event::FileOffered {
            transfer, cookie, ..
        } = &event
        {
            if let Ok(mut offers) = offers.lock() {
                offers.insert(*cookie, *transfer);
            }
        }
        if let Some(v) = describe(&event, &mut list) {
            print(v);
        }
    }
    ExitCode::SUCCESS
}

/// Pending offers: invitation cookie → transfer.
type Offers = Arc<Mutex<HashMap<u32, TransferId>>>;

/// What the main loop waits for: an engine event, or the `list` command.
enum Local {
    Engine(Event),
    PrintList,
}

fn print(value: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

fn error(message: impl Into<String>) {
    print(json!({"event": "error", "kind": "command", "message": message.into()}));
}

/// Reads stdin commands and turns them into requests until `quit` or end of input.
fn read_commands(
    requests: &async_channel::Sender<Request>,
    own: &str,
    local: &std::sync::mpsc::Sender<Local>,
    offers: &Offers,
) {
    let mut next_id = 1u64;
    let mut next_transfer: TransferId = 1;
    let offer = |cookie: &str| -> Option<TransferId> {
        let cookie: u32 = cookie.parse().ok()?;
        offers.lock().ok()?.get(&cookie).copied()
    };
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        let send = |r: Request| {
            let _ = requests.send_blocking(r);
        };
        match cmd {
            "quit" => {
                send(Request::Shutdown);
                return;
            }
            "status" => {
                let status = Status::from_code(rest);
                if status.is_settable() {
                    send(Request::Ns(NsRequest::SetStatus(status)));
                } else {
                    error(format!("unknown status {rest:?}"));
                }
            }
            "name" if !rest.is_empty() => {
                send(Request::Ns(NsRequest::SetDisplayName(rest.to_string())))
            }
            "add" | "remove" => {
                let (list, email) = rest.split_once(' ').unwrap_or((rest, ""));
                let Some(list) = List::from_code(&list.to_ascii_uppercase()) else {
                    error("usage: add|remove FL|AL|BL EMAIL");
                    continue;
                };
                let email = email.trim().to_string();
                let req = if cmd == "add" {
                    NsRequest::AddContact {
                        list,
                        account: email,
                        nick: None,
                        group: Some(0),
                    }
                } else {
                    NsRequest::RemoveContact {
                        list,
                        account: email,
                        group: None,
                    }
                };
                send(Request::Ns(req));
            }
            "msg" => {
                let Some((to, text)) = rest.split_once(' ') else {
                    error("usage: msg EMAIL TEXT");
                    continue;
                };
                for piece in
                    payload::split::split_text_payloads(text, &None, payload::MAX_SB_PAYLOAD)
                {
                    let id = next_id;
                    next_id += 1;
                    print(json!({"event": "sending", "id": id, "to": to}));
                    send(Request::SendTo {
                        id,
                        to: to.to_string(),
                        ack: AckMode::Acknowledged,
                        payload: piece,
                    });
                }
            }
            "typing" if !rest.is_empty() => {
                let id = next_id;
                next_id += 1;
                send(Request::SendTo {
                    id,
                    to: rest.to_string(),
                    ack: AckMode::Unacknowledged,
                    payload: payload::typing(own),
                });
            }
            "nudge" if !rest.is_empty() => {
                let id = next_id;
                next_id += 1;
                send(Request::SendTo {
                    id,
                    to: rest.to_string(),
                    ack: AckMode::NakOnly,
                    payload: payload::nudge(),
                });
            }
            "send-file" => {
                let Some((to, path)) = rest.split_once(' ') else {
                    error("usage: send-file EMAIL PATH");
                    continue;
                };
                let transfer = next_transfer;
                next_transfer += 1;
                let path = PathBuf::from(path.trim());
                print(
                    json!({"event": "file_sending", "transfer": transfer, "to": to, "path": path}),
                );
                send(Request::SendFile {
                    transfer,
                    to: to.to_string(),
                    path,
                });
            }
            "accept-file" => {
                let (cookie, dir) = rest.split_once(' ').unwrap_or((rest, ""));
                match offer(cookie) {
                    Some(transfer) if !dir.trim().is_empty() => send(Request::AcceptFile {
                        transfer,
                        dir: PathBuf::from(dir.trim()),
                    }),
                    Some(_) => error("usage: accept-file COOKIE DIR"),
                    None => error(format!("no file offer with cookie {cookie:?}")),
                }
            }
            "decline-file" => match offer(rest) {
                Some(transfer) => send(Request::DeclineFile { transfer }),
                None => error(format!("no file offer with cookie {rest:?}")),
            },
            "cancel-transfer" => match rest.parse() {
                Ok(transfer) => send(Request::CancelTransfer { transfer }),
                Err(_) => error("usage: cancel-transfer ID"),
            },
            "list" => {
                let _ = local.send(Local::PrintList);
            }
            _ => error(format!("unknown command {line:?}")),
        }
    }
    let _ = requests.send_blocking(Request::Shutdown);
}

fn lists_of(c: &ContactEntry) -> Vec<&'static str> {
    List::ALL
        .iter()
        .filter(|l| c.on(**l))
        .map(|l| l.code())
        .collect()
}

fn contact_json(c: &ContactEntry) -> Value {
    json!({"account": c.account, "name": c.name, "lists": lists_of(c), "groups": c.groups})
}

fn list_json(list: &ContactList) -> Value {
    json!({
        "event": "list",
        "version": list.version,
        "privacy": list.privacy.code(),
        "add_prompt": list.add_prompt.code(),
        "groups": list.groups.iter().map(|(id, name)| json!({"id": id, "name": name})).collect::<Vec<_>>(),
        "contacts": list.contacts.values().map(contact_json).collect::<Vec<_>>(),
    })
}

/// The SHA-256 of a file, in lower-case hex, read in pieces.
fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The JSON line for an event (and keeps `list` current).
fn describe(event: &Event, list: &mut ContactList) -> Option<Value> {
    Some(match event {
        Event::Connecting { attempt } => json!({"event": "connecting", "attempt": attempt}),
        Event::Reconnecting {
            retry_in_secs,
            reason,
        } => {
            json!({"event": "reconnecting", "retry_in_secs": retry_in_secs, "reason": reason})
        }
        Event::RequestRefused { request, reason } => {
            json!({"event": "error", "kind": "refused", "request": format!("{request:?}"), "message": reason})
        }
        Event::ConversationOpened { conversation, with } => {
            json!({"event": "conversation", "conversation": conversation, "with": with})
        }
        Event::Joined {
            conversation,
            account,
            name,
        } => {
            json!({"event": "joined", "conversation": conversation, "account": account, "name": name})
        }
        Event::Left {
            conversation,
            account,
        } => json!({"event": "left", "conversation": conversation, "account": account}),
        Event::Message {
            conversation,
            from,
            name,
            payload,
        } => match Payload::parse(payload) {
            Payload::Text(t) => {
                json!({"event": "message", "conversation": conversation, "from": from, "name": name.decode(), "text": t.text})
            }
            Payload::Typing { user } if user.eq_ignore_ascii_case(from) => {
                json!({"event": "typing", "conversation": conversation, "from": from})
            }
            Payload::Nudge => json!({"event": "nudge", "conversation": conversation, "from": from}),
            Payload::Invitation(inv) => json!({
                "event": "invitation", "conversation": conversation, "from": from,
                "command": inv.command.as_str(), "cookie": inv.cookie,
                "file": inv.field("Application-File"), "size": inv.field("Application-FileSize"),
            }),
            _ => return None,
        },
        Event::MessageDelivered { id } => json!({"event": "delivered", "id": id}),
        Event::MessageFailed { id, reason } => {
            json!({"event": "error", "kind": "message_failed", "id": id, "message": reason})
        }
        Event::CallFailed {
            conversation,
            account,
            reason,
        } => {
            json!({"event": "error", "kind": "call_failed", "conversation": conversation, "account": account, "message": reason})
        }
        Event::FileOffered {
            transfer,
            conversation,
            from,
            cookie,
            name,
            size,
        } => json!({
            "event": "file_offered", "transfer": transfer, "conversation": conversation,
            "from": from, "cookie": cookie, "name": name, "size": size,
        }),
        Event::TransferStarted { transfer } => {
            json!({"event": "transfer_started", "transfer": transfer})
        }
        Event::TransferProgress {
            transfer,
            bytes,
            total,
        } => {
            json!({"event": "transfer_progress", "transfer": transfer, "bytes": bytes, "total": total})
        }
        Event::TransferCompleted {
            transfer,
            path,
            confirmed,
        } => {
            let sha256 = sha256_file(path).ok();
            json!({
                "event": "transfer_completed", "transfer": transfer, "path": path,
                "sha256": sha256, "confirmed": confirmed,
            })
        }
        Event::TransferDeclined { transfer } => {
            json!({"event": "transfer_declined", "transfer": transfer})
        }
        Event::TransferFailed { transfer, reason } => {
            json!({"event": "transfer_failed", "transfer": transfer, "reason": reason})
        }
        Event::TransferCancelled { transfer, by_peer } => {
            json!({"event": "transfer_cancelled", "transfer": transfer, "by_peer": by_peer})
        }
        Event::EngineFailed(text) => json!({"event": "error", "kind": "engine", "message": text}),
        Event::Stopped => json!({"event": "stopped"}),
        Event::Ns(ns) => match ns {
            NsEvent::SignedIn {
                account,
                display_name,
                verified,
                dialect,
            } => json!({
                "event": "signed_in", "account": account, "display_name": display_name,
                "verified": verified, "protocol": dialect.as_str(),
            }),
            NsEvent::ListSynced {
                list: l,
                from_cache,
            } => {
                *list = l.clone();
                let mut v = list_json(list);
                v["event"] = json!("list_synced");
                v["from_cache"] = json!(from_cache);
                v
            }
            NsEvent::ContactChanged { entry } => {
                list.contacts.insert(
                    msnp::proto::contacts::account_key(&entry.account),
                    entry.clone(),
                );
                let mut v = contact_json(entry);
                v["event"] = json!("contact");
                v
            }
            NsEvent::ContactRemoved { account } => {
                list.contacts
                    .remove(&msnp::proto::contacts::account_key(account));
                json!({"event": "contact_removed", "account": account})
            }
            NsEvent::GroupsChanged { groups } => {
                list.groups = groups.iter().cloned().collect();
                json!({"event": "groups", "groups": groups.iter().map(|(id, n)| json!({"id": id, "name": n})).collect::<Vec<_>>()})
            }
            NsEvent::SettingsChanged {
                privacy,
                add_prompt,
            } => {
                list.privacy = *privacy;
                list.add_prompt = *add_prompt;
                json!({"event": "settings", "privacy": privacy.code(), "add_prompt": add_prompt.code()})
            }
            NsEvent::Presence {
                account,
                status,
                name,
                capabilities,
            } => {
                let mut v = json!({"event": "presence", "account": account, "status": status.code(), "name": name});
                if let Some(c) = capabilities {
                    v["capabilities"] = json!(c.0);
                }
                v
            }
            NsEvent::Offline { account } => {
                json!({"event": "presence", "account": account, "status": "FLN"})
            }
            NsEvent::AddedBy {
                account,
                name,
                pending,
            } => {
                json!({"event": "added_by", "account": account, "name": name, "pending": pending})
            }
            NsEvent::RemovedBy { account } => json!({"event": "removed_by", "account": account}),
            NsEvent::ListVersion { version } => {
                json!({"event": "list_version", "version": version})
            }
            NsEvent::OwnStatus(status) => json!({"event": "status", "status": status.code()}),
            NsEvent::OwnDisplayName(name) => json!({"event": "name", "display_name": name}),
            NsEvent::Invited { inviter, .. } => json!({"event": "invited", "from": inviter}),
            NsEvent::ServerMessage { payload } => match Payload::parse(payload) {
                Payload::InitialEmail { inbox_unread, .. } => {
                    json!({"event": "mail", "inbox_unread": inbox_unread})
                }
                Payload::NewEmail { from, subject, .. } => {
                    json!({"event": "new_mail", "from": from, "subject": subject})
                }
                Payload::SystemMessage { kind, arg1 } => {
                    json!({"event": "system", "type": kind, "arg1": arg1})
                }
                _ => return None,
            },
            NsEvent::OpFailed { request, error, .. } => {
                json!({"event": "error", "kind": "request_failed", "request": format!("{request:?}"), "message": error.to_string()})
            }
            NsEvent::SignedOut(reason) => {
                json!({"event": "signed_out", "reason": format!("{reason:?}")})
            }
            NsEvent::PassportNeeded { .. } => json!({"event": "passport"}),
            NsEvent::ConnectionLost { reason } => {
                json!({"event": "connection_lost", "reason": reason})
            }
            NsEvent::LoginFailed(e) => {
                json!({"event": "error", "kind": "sign_in_failed", "message": e.to_string()})
            }
            NsEvent::Redirect { .. }
            | NsEvent::SwitchboardReady { .. }
            | NsEvent::SwitchboardFailed { .. }
            | NsEvent::OpDone { .. } => return None,
        },
    })
}
