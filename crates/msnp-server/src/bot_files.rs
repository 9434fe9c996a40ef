//! The echo bot's side of file transfers (msnftp.md): it accepts every file offered to it,
//! connects out to the sender like a real client, receives the file with
//! `msnp::proto::ftp::Receiver` without storing it, and answers in the chat with the size and
//! SHA-256 it received.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use msnp::proto::ftp::{Connection, FileInvite, FtpEvent, InviteError, Receiver};
use msnp::proto::payload::{self, CancelCode, Invitation};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// How long the bot tries to reach a sender.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Most offers one switchboard of the bot keeps open at once.
const MAX_PENDING: usize = 10;

/// A file the bot agreed to receive.
struct Offer {
    name: String,
    size: u64,
}

/// The negotiations of one switchboard of the bot, keyed by invitation cookie (the bot only
/// talks to one sender per switchboard).
#[derive(Default)]
pub(crate) struct BotFiles {
    offers: HashMap<u32, Offer>,
}

impl BotFiles {
    /// Handles an invitation; returns the payloads to send in the switchboard now. Results of
    /// transfers arrive later on `results` as payloads to send.
    pub(crate) fn handle(
        &mut self,
        bot: &str,
        invitation: &Invitation,
        results: &mpsc::UnboundedSender<Vec<u8>>,
    ) -> Vec<Vec<u8>> {
        let cookie = invitation.cookie.clone();
        match FileInvite::parse(&invitation.fields) {
            Ok(FileInvite::Invite(invite)) => {
                if self.offers.len() >= MAX_PENDING || self.offers.contains_key(&invite.cookie) {
                    return vec![Invitation::cancel(cookie, CancelCode::Reject).build()];
                }
                let offer = Offer {
                    name: invite.file_name,
                    size: invite.file_size,
                };
                self.offers.insert(invite.cookie, offer);
                vec![Invitation::accept_request(cookie).build()]
            }
            Ok(FileInvite::Accept(accept)) => {
                let Some(offer) = self.offers.remove(&accept.cookie) else {
                    return Vec::new();
                };
                // The bot runs beside the server, so loopback senders are fine.
                match accept.connection(true) {
                    Ok(connection) => {
                        let (bot, results) = (bot.to_string(), results.clone());
                        tokio::spawn(receive(bot, connection, offer, cookie, results));
                        Vec::new()
                    }
                    Err(_) => vec![Invitation::cancel(cookie, CancelCode::FtTimeout).build()],
                }
            }
            Ok(FileInvite::Cancel { cookie, .. }) => {
                self.offers.remove(&cookie);
                Vec::new()
            }
            Err(InviteError::NotFileTransfer(_)) => {
                vec![Invitation::cancel(cookie, CancelCode::RejectNotInstalled).build()]
            }
            Err(InviteError::InvalidSize(_)) => {
                vec![Invitation::cancel(cookie, CancelCode::Reject).build()]
            }
            Err(_) => Vec::new(),
        }
    }
}

/// Receives one file and reports the outcome as chat payloads.
async fn receive(
    bot: String,
    connection: Connection,
    offer: Offer,
    cookie: String,
    results: mpsc::UnboundedSender<Vec<u8>>,
) {
    let text = match hash_file(&bot, &connection, offer.size).await {
        Ok(digest) => format!(
            "Received {}: {} bytes, SHA-256 {digest}",
            offer.name, offer.size
        ),
        Err(Failure {
            reason,
            before_data,
        }) => {
            if before_data {
                let _ = results.send(Invitation::cancel(cookie, CancelCode::FtTimeout).build());
            }
            format!("I could not receive {}: {reason}", offer.name)
        }
    };
    let _ = results.send(payload::text_message_plain(&text));
}

struct Failure {
    reason: String,
    /// The direct connection never carried data: the sender is told with `CANCEL FTTIMEOUT`.
    before_data: bool,
}

async fn connect(connection: &Connection) -> Option<TcpStream> {
    let end = tokio::time::Instant::now() + CONNECT_TIMEOUT;
    for addr in &connection.candidates {
        if let Ok(Ok(stream)) = tokio::time::timeout_at(end, TcpStream::connect(*addr)).await {
            return Some(stream);
        }
    }
    None
}

/// Runs MSNFTP as the receiver and returns the SHA-256 of the data, in lower-case hex.
async fn hash_file(bot: &str, connection: &Connection, size: u64) -> Result<String, Failure> {
    let Some(stream) = connect(connection).await else {
        return Err(Failure {
            reason: "your computer could not be reached".into(),
            before_data: true,
        });
    };
    let (mut rd, mut wr) = stream.into_split();
    let mut m = Receiver::new(bot, connection.auth_cookie.clone(), size, Instant::now());
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut started = false;
    let mut result = None;
    loop {
        while let Some(bytes) = m.poll_transmit() {
            let _ = wr.write_all(&bytes).await;
        }
        while let Some(event) = m.poll_event() {
            match event {
                FtpEvent::Started => started = true,
                FtpEvent::Data(d) => hash.update(&d),
                FtpEvent::AllDataReceived => m.file_stored(),
                FtpEvent::Completed => result = Some(Ok(())),
                FtpEvent::Cancelled { .. } => {
                    result = Some(Err("the transfer was cancelled".to_string()))
                }
                FtpEvent::Failed(e) => result = Some(Err(e.to_string())),
                FtpEvent::Progress { .. } | FtpEvent::NeedData { .. } => {}
                FtpEvent::SentUnconfirmed => {}
            }
        }
        if m.is_closed() {
            while let Some(bytes) = m.poll_transmit() {
                let _ = wr.write_all(&bytes).await;
            }
            let _ = wr.shutdown().await;
            break;
        }
        let deadline = m.poll_timeout();
        tokio::select! {
            r = rd.read(&mut buf) => match r {
                Ok(n) if n > 0 => m.handle_input(buf.get(..n).unwrap_or_default(), Instant::now()),
                _ => m.handle_closed(),
            },
            () = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                    None => std::future::pending::<()>().await,
                }
            } => m.handle_timeout(Instant::now()),
        }
    }
    match result {
        Some(Ok(())) => Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect()),
        Some(Err(reason)) => Err(Failure {
            reason,
            before_data: !started,
        }),
        None => Err(Failure {
            reason: "the connection was lost".into(),
            before_data: !started,
        }),
    }
}
