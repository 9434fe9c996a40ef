//! The few MIME payloads the server writes or reads itself (profile, text, typing, nudge).
//!
//! Deliberately small and in one place so it can later switch to `msnp::proto::payload`.

use std::net::SocketAddr;

/// The `text/x-msmsgsprofile` message sent right after `USR … OK` (messages.md §2.1).
pub fn profile(account: &str, login_time: u64, peer: Option<SocketAddr>) -> Vec<u8> {
    let (ip, port) = match peer {
        Some(a) => (a.ip().to_string(), a.port().to_string()),
        None => ("127.0.0.1".to_string(), "0".to_string()),
    };
    format!(
        "MIME-Version: 1.0\r\n\
         Content-Type: text/x-msmsgsprofile; charset=UTF-8\r\n\
         LoginTime: {login_time}\r\n\
         EmailEnabled: 0\r\n\
         MemberIdHigh: 0\r\n\
         MemberIdLow: 0\r\n\
         lang_preference: 1033\r\n\
         preferredEmail: {account}\r\n\
         country: \r\n\
         PostalCode: \r\n\
         Gender: \r\n\
         Kid: 0\r\n\
         Age: \r\n\
         BDayPre: \r\n\
         Birthday: \r\n\
         Wallet: \r\n\
         Flags: 1027\r\n\
         sid: 507\r\n\
         kv: 4\r\n\
         MSPAuth: 0\r\n\
         ClientIP: {ip}\r\n\
         ClientPort: {port}\r\n\
         \r\n"
    )
    .into_bytes()
}

/// A plain-text instant message.
pub fn text(body: &str) -> Vec<u8> {
    format!("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{body}")
        .into_bytes()
}

/// A typing notification for `account`.
pub fn typing(account: &str) -> Vec<u8> {
    format!(
        "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: {account}\r\n\r\n\r\n"
    )
    .into_bytes()
}

/// A nudge (`text/x-msnmsgr-datacast` with `ID: 1`).
pub fn nudge() -> Vec<u8> {
    b"MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 1\r\n\r\n".to_vec()
}

/// What a received message is, as far as the echo bot cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Plain text with its body.
    Text(String),
    /// A typing notification.
    Typing,
    /// A nudge.
    Nudge,
    /// Anything else.
    Other,
}

/// Classifies a message payload by its `Content-Type` (and datacast id).
pub fn classify(payload: &[u8]) -> Kind {
    let text = String::from_utf8_lossy(payload);
    let (head, body) = match text.find("\r\n\r\n") {
        Some(i) => (&text[..i], text.get(i + 4..).unwrap_or("")),
        None => return Kind::Other,
    };
    let content_type = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if content_type.starts_with("text/plain") {
        Kind::Text(body.to_string())
    } else if content_type.starts_with("text/x-msmsgscontrol") {
        Kind::Typing
    } else if content_type.starts_with("text/x-msnmsgr-datacast") {
        let id = body
            .split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("id"))
            .map(|(_, v)| v.trim().to_string());
        if id.as_deref() == Some("1") {
            Kind::Nudge
        } else {
            Kind::Other
        }
    } else {
        Kind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_reference() {
        assert_eq!(nudge().len(), 69);
        assert_eq!(typing("bob@example.com").len(), 88);
        assert_eq!(classify(&nudge()), Kind::Nudge);
        assert_eq!(classify(&typing("a@b.c")), Kind::Typing);
        assert_eq!(classify(&text("hi")), Kind::Text("hi".into()));
        assert_eq!(classify(b"garbage"), Kind::Other);
    }
}
