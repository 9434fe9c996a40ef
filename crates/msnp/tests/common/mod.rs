//! Test support: reads the byte-exact examples of `shared/protocol/` (README.md notation and the
//! recorded-session format) into sequences of sent and received bytes.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Instant;

use msnp::proto::codec::Frame;
use msnp::proto::command::ClientCommand;
use msnp::proto::names::url_decode;
use msnp::proto::ns::{Notification, NsRequest, PING_INTERVAL};

/// One step of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// Bytes the client sends (`C:` + pieces).
    Client(Vec<u8>),
    /// Bytes the server sends (`S:` + pieces).
    Server(Vec<u8>),
    /// A `--` comment.
    Comment(String),
}

/// A fenced code block of a Markdown file with the heading it is under.
#[derive(Debug, Clone)]
pub struct Block {
    /// The nearest heading above the block.
    pub heading: String,
    /// The block's steps.
    pub items: Vec<Item>,
}

/// The protocol reference folder (`MSNP_PROTOCOL_DIR`, or `shared/protocol` beside the repo).
pub fn protocol_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("MSNP_PROTOCOL_DIR") {
        return PathBuf::from(dir);
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/protocol");
    assert!(
        dir.is_dir(),
        "protocol reference not found at {} (set MSNP_PROTOCOL_DIR)",
        dir.display()
    );
    dir
}

/// Reads a reference file.
pub fn read(name: &str) -> String {
    let path = protocol_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Replaces the four characters `\r\n` (and `\r`, `\n`) by the bytes they stand for.
pub fn unescape(piece: &str) -> Vec<u8> {
    piece.replace("\\r", "\r").replace("\\n", "\n").into_bytes()
}

/// Parses every fenced block of a Markdown file written in the README.md notation.
pub fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut current: Option<Vec<Item>> = None;
    for line in markdown.lines() {
        if line.starts_with("```") {
            match current.take() {
                Some(items) => out.push(Block {
                    heading: heading.clone(),
                    items,
                }),
                None => current = Some(Vec::new()),
            }
            continue;
        }
        let Some(items) = current.as_mut() else {
            if line.starts_with('#') {
                heading = line.trim_start_matches('#').trim().to_string();
            }
            continue;
        };
        if let Some(text) = line.strip_prefix("C: ") {
            items.push(Item::Client(format!("{text}\r\n").into_bytes()));
        } else if let Some(text) = line.strip_prefix("S: ") {
            items.push(Item::Server(format!("{text}\r\n").into_bytes()));
        } else if let Some(piece) = line.strip_prefix("C|").or_else(|| line.strip_prefix("S|")) {
            let piece = piece.strip_prefix(' ').unwrap_or(piece);
            match items.last_mut() {
                Some(Item::Client(b)) | Some(Item::Server(b)) => b.extend(unescape(piece)),
                _ => panic!("payload piece without a command: {line}"),
            }
        } else if let Some(c) = line.strip_prefix("--") {
            items.push(Item::Comment(c.trim().to_string()));
        }
    }
    out
}

/// The blocks under headings that start with `prefix` (e.g. "2.1").
pub fn section(markdown: &str, prefix: &str) -> Vec<Vec<Item>> {
    blocks(markdown)
        .into_iter()
        .filter(|b| b.heading.starts_with(prefix))
        .map(|b| b.items)
        .collect()
}

/// The steps of one connection (e.g. `alice/NS`) in a recorded session file.
pub fn recorded(text: &str, connection: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut in_conn = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(piece) = trimmed
            .strip_prefix("| ")
            .or_else(|| (trimmed == "|").then_some(""))
        {
            if in_conn {
                match items.last_mut() {
                    Some(Item::Client(b)) | Some(Item::Server(b)) => b.extend(unescape(piece)),
                    _ => {}
                }
            }
            continue;
        }
        in_conn = false;
        let Some(rest) = line
            .strip_prefix('[')
            .and_then(|l| l.split_once(']'))
            .map(|(_, r)| r.trim_start())
        else {
            continue;
        };
        if let Some(note) = rest.strip_prefix("## ") {
            if let Some(what) = note.strip_prefix(connection) {
                items.push(Item::Comment(
                    what.trim_start_matches(':').trim().to_string(),
                ));
            }
            continue;
        }
        let Some(rest) = rest.strip_prefix(connection) else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(text) = rest.strip_prefix("C>S  ") {
            in_conn = true;
            items.push(Item::Client(unescape(text)));
        } else if let Some(text) = rest.strip_prefix("S>C  ") {
            in_conn = true;
            items.push(Item::Server(unescape(text)));
        }
    }
    items
}

/// One step of an MSNP8 example block: a protocol line, or an HTTP message (msnp8.md §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A protocol line (or comment).
    Line(Item),
    /// An HTTP request: its header lines, without line ends.
    HttpRequest(Vec<String>),
    /// An HTTP answer: its header lines and its body.
    HttpResponse(Vec<String>, String),
}

fn is_header_line(text: &str) -> bool {
    text.split_once(": ").is_some_and(|(name, _)| {
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// Groups the HTTP lines of a block read by [`blocks`] into messages: a request starts with a
/// `C: GET …` line, an answer with `S: HTTP/…`; the `Name: value` lines after it are its headers
/// (the bare `C:`/`S:` end lines are not items, and the body pieces were appended to the last
/// header line by [`blocks`]).
pub fn with_http(items: &[Item]) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for item in items {
        let text = match item {
            Item::Client(b) | Item::Server(b) => String::from_utf8_lossy(b).into_owned(),
            Item::Comment(_) => {
                out.push(Step::Line(item.clone()));
                continue;
            }
        };
        let (line, body) = text.split_once("\r\n").unwrap_or((&text, ""));
        let continues = |out: &mut Vec<Step>| match (out.last_mut(), item) {
            (Some(Step::HttpRequest(lines)), Item::Client(_)) => {
                lines.push(line.to_string());
                true
            }
            (Some(Step::HttpResponse(lines, b)), Item::Server(_)) => {
                lines.push(line.to_string());
                b.push_str(body);
                true
            }
            _ => false,
        };
        match item {
            Item::Client(_) if line.starts_with("GET ") => {
                out.push(Step::HttpRequest(vec![line.to_string()]))
            }
            Item::Server(_) if line.starts_with("HTTP/") => {
                out.push(Step::HttpResponse(vec![line.to_string()], body.to_string()))
            }
            _ if is_header_line(line) && continues(&mut out) => {}
            _ => out.push(Step::Line(item.clone())),
        }
    }
    out
}

/// Status and headers of an HTTP answer given as raw bytes (a recorded `S>C` HTTP message) or
/// as lines.
pub fn http_head(lines: &[String]) -> (u16, Vec<(String, String)>) {
    let status = lines
        .first()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("an HTTP status line");
    let headers = lines
        .iter()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_string(), v.trim().to_string()))
        .collect();
    (status, headers)
}

/// The header lines of a raw HTTP message (up to the empty line).
pub fn http_lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    head.split("\r\n").map(str::to_string).collect()
}

/// The user request behind a transcript `C:` line that the client originates itself (`own` is
/// the signed-in account, to tell the own display name from a contact's nickname).
pub fn ns_request_for(own: &str, bytes: &[u8]) -> Option<NsRequest> {
    let line = String::from_utf8_lossy(bytes);
    let frame = Frame {
        line: line.trim_end().to_string(),
        payload: None,
    };
    Some(match ClientCommand::parse(&frame).ok()? {
        ClientCommand::Chg { status, .. } => NsRequest::SetStatus(status),
        ClientCommand::Add {
            list,
            account,
            nick,
            group,
            ..
        } => NsRequest::AddContact {
            list,
            account,
            nick: Some(nick.decode()),
            group,
        },
        ClientCommand::Rem {
            list,
            account,
            group,
            ..
        } => NsRequest::RemoveContact {
            list,
            account,
            group,
        },
        ClientCommand::Rea { account, name, .. } if account == own => {
            NsRequest::SetDisplayName(name.decode())
        }
        ClientCommand::Rea { account, name, .. } => NsRequest::RenameContact {
            account,
            name: name.decode(),
        },
        ClientCommand::Adg { name, .. } => NsRequest::AddGroup(name.decode()),
        ClientCommand::Rmg { group, .. } => NsRequest::RemoveGroup(group),
        ClientCommand::Reg { group, name, .. } => NsRequest::RenameGroup {
            group,
            name: url_decode(name.as_wire()),
        },
        ClientCommand::Blp { privacy, .. } => NsRequest::SetPrivacy(privacy),
        ClientCommand::Gtc { prompt, .. } => NsRequest::SetAddPrompt(prompt),
        ClientCommand::XfrSb { .. } => NsRequest::RequestSwitchboard { tag: 7 },
        ClientCommand::Out => NsRequest::SignOut,
        _ => return None,
    })
}

/// The bytes the notification machine sends for a transcript `C:` line: what it queued by
/// itself, a `PNG` after the idle interval, or the user request behind the line.
pub fn ns_client_bytes(ns: &mut Notification, now: &mut Instant, expected: &[u8]) -> Vec<u8> {
    if let Some(b) = ns.poll_transmit() {
        return b;
    }
    if expected == b"PNG\r\n" {
        *now += PING_INTERVAL;
        ns.handle_timeout(*now);
        return ns.poll_transmit().expect("a PNG after the idle interval");
    }
    let own = ns.account().to_string();
    let req = ns_request_for(&own, expected)
        .unwrap_or_else(|| panic!("client never sent {:?}", String::from_utf8_lossy(expected)));
    ns.handle_request(req, *now).expect("request accepted");
    ns.poll_transmit().expect("the request is transmitted")
}
