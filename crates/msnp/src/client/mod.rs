//! The engine: drives [`crate::proto`] with real sockets on one named background thread
//! ("msnp-engine", a tokio current-thread runtime), and talks to its owner only through two
//! `async_channel`s of plain owned data ([`Request`] in, [`Event`] out).
//!
//! It owns the notification connection (with keep-alive and reconnection with backoff), any
//! number of switchboards, and the conversations that sit on top of them: a message for a
//! one-to-one conversation whose switchboard the server closed is sent through a new one.
//! File transfers (MSNFTP) are negotiated in those conversations and run over their own direct
//! connections ([`Request::SendFile`], [`Event::FileOffered`], …).

mod engine;
pub mod passport;
mod transfer;

use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::proto::command::{AckMode, Status};
use crate::proto::contacts::ContactList;
use crate::proto::msnp8::ProtocolChoice;
use crate::proto::names::WireName;
use crate::proto::ns::{NsEvent, NsRequest};

pub use engine::{BACKOFF_MAX, BACKOFF_START};
pub use transfer::TransferOptions;

/// The default of [`ClientConfig::send_timeout`].
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// What the engine needs to sign in. Its `Debug` output never shows the password.
#[derive(Clone)]
pub struct ClientConfig {
    /// The server to connect to first, `host:port` (a dispatch or notification server).
    pub server: String,
    /// The account (e-mail address).
    pub account: String,
    /// The password.
    pub password: String,
    /// The status to go online with.
    pub initial_status: Status,
    /// The cached contact list of the last sign-in.
    pub cache: Option<ContactList>,
    /// Which protocol versions to offer ("auto": MSNP8 and MSNP7, the server picks).
    pub protocol: ProtocolChoice,
    /// MSNP8: the Passport nexus URL; `None` means `https://<server host>/rdr/pprdr.asp`.
    pub nexus_url: Option<String>,
    /// MSNP8: a Passport login-server URL that bypasses the nexus.
    pub login_url: Option<String>,
    /// MSNP8: a PEM file of CA certificates trusted for the Passport servers in addition to the
    /// built-in roots (LAN and test servers). Verification is never switched off.
    pub extra_ca_file: Option<PathBuf>,
    /// How long a message may wait for a switchboard (connecting, or the server unreachable
    /// and the engine reconnecting) before [`Event::MessageFailed`] reports it and it is
    /// dropped. Messages already handed to a switchboard follow its own ACK time limit.
    pub send_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            server: String::new(),
            account: String::new(),
            password: String::new(),
            initial_status: Status::Online,
            cache: None,
            protocol: ProtocolChoice::Auto,
            nexus_url: None,
            login_url: None,
            extra_ca_file: None,
            send_timeout: DEFAULT_SEND_TIMEOUT,
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("server", &self.server)
            .field("account", &self.account)
            .field("password", &"<hidden>")
            .field("initial_status", &self.initial_status)
            .field("cache", &self.cache.as_ref().map(|c| c.version))
            .field("protocol", &self.protocol)
            .field("nexus_url", &self.nexus_url)
            .field("login_url", &self.login_url)
            .field("extra_ca_file", &self.extra_ca_file)
            .field("send_timeout", &self.send_timeout)
            .finish()
    }
}

impl ClientConfig {
    /// The Passport settings of this configuration.
    pub fn passport(&self) -> passport::PassportConfig {
        passport::PassportConfig {
            nexus_url: self
                .nexus_url
                .clone()
                .unwrap_or_else(|| passport::default_nexus_url(&self.server)),
            login_url: self.login_url.clone(),
            extra_ca_file: self.extra_ca_file.clone(),
        }
    }
}

/// A conversation, as the engine numbers them.
pub type ConversationId = u64;

/// A file transfer. Outgoing ones are numbered by the application ([`Request::SendFile`], below
/// [`FIRST_INCOMING_TRANSFER`]); offers that arrive are numbered by the engine from
/// [`FIRST_INCOMING_TRANSFER`] up ([`Event::FileOffered`]).
pub type TransferId = u64;

/// The first id the engine gives to an incoming offer (2^32, so ids stay exact in JSON); the
/// application's ids stay below it.
pub const FIRST_INCOMING_TRANSFER: TransferId = 1 << 32;

/// Message ids from here up are the engine's own (file-transfer invitations); the application's
/// message ids (`SendTo`, `SendInConversation`) must stay below, and its delivery events never
/// mention the engine's.
pub const FIRST_ENGINE_MESSAGE_ID: u64 = 1 << 63;

/// A request from the application to the engine.
#[derive(Debug, Clone)]
pub enum Request {
    /// Anything the notification server does: status, lists, groups, privacy, sign-out.
    Ns(NsRequest),
    /// Send a payload to a contact, in the one-to-one conversation with them (opened when needed).
    /// `id` is the application's message id, named again by the delivery events.
    SendTo {
        id: u64,
        to: String,
        ack: AckMode,
        payload: Vec<u8>,
    },
    /// Send a payload into an existing conversation (multi-party included).
    SendInConversation {
        id: u64,
        conversation: ConversationId,
        ack: AckMode,
        payload: Vec<u8>,
    },
    /// Make sure the one-to-one conversation with `with` exists and has a switchboard (opened
    /// when needed), without sending anything. [`Event::ConversationOpened`] names it when it
    /// is new.
    OpenConversation { with: String },
    /// Invite another contact into a conversation (its switchboard is opened when it has none;
    /// everybody in the conversation is called into the new one).
    Invite {
        conversation: ConversationId,
        account: String,
    },
    /// Leave a conversation (closes its switchboard).
    CloseConversation { conversation: ConversationId },
    /// Offer the file at `path` to the contact `to` (msnftp.md): an `INVITE` in the one-to-one
    /// conversation with them, then, once they accept, a direct connection to them. `transfer`
    /// is the application's id (below [`FIRST_INCOMING_TRANSFER`]), named by the transfer events.
    SendFile {
        transfer: TransferId,
        to: String,
        path: PathBuf,
    },
    /// Accept the offer [`Event::FileOffered`] announced and save the file in the folder `dir`,
    /// under its cleaned name; an existing file is never replaced (`name (1).ext` instead).
    AcceptFile { transfer: TransferId, dir: PathBuf },
    /// Decline an offer.
    DeclineFile { transfer: TransferId },
    /// Stop a transfer at any stage, in either direction (an unanswered offer is declined).
    CancelTransfer { transfer: TransferId },
    /// Change the transfer settings; they apply to negotiations that start afterwards.
    SetTransferOptions(TransferOptions),
    /// Reconnect now instead of waiting for the backoff.
    RetryNow,
    /// Sign out (if signed in) and stop the engine thread.
    Shutdown,
}

/// Something the engine reports to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Connecting to the server (attempt 1 is the first).
    Connecting { attempt: u32 },
    /// A request was refused before anything was sent (invalid address, name too long, offline…).
    RequestRefused { request: NsRequest, reason: String },
    /// An event of the notification session (sign-in, lists, presence, invitations…).
    Ns(NsEvent),
    /// The connection is lost and will be retried after `retry_in_secs` seconds.
    Reconnecting { retry_in_secs: u64, reason: String },
    /// A conversation exists (opened by us or by an invitation), with the contact it was opened for.
    ConversationOpened {
        conversation: ConversationId,
        with: String,
    },
    /// Somebody is in the conversation (`IRO`/`JOI`).
    Joined {
        conversation: ConversationId,
        account: String,
        name: String,
    },
    /// Somebody left the conversation (`BYE`).
    Left {
        conversation: ConversationId,
        account: String,
    },
    /// A message payload arrived.
    Message {
        conversation: ConversationId,
        from: String,
        name: WireName,
        payload: Vec<u8>,
    },
    /// A sent message was delivered (ACK, or no NAK within the grace period).
    MessageDelivered { id: u64 },
    /// A sent message was not delivered; the application may offer to retry.
    MessageFailed { id: u64, reason: String },
    /// An invitation into a conversation failed (`217` offline, no answer, …).
    CallFailed {
        conversation: ConversationId,
        account: String,
        reason: String,
    },
    /// A contact offers a file. `name` is already cleaned (msnftp.md §5.1) and safe to show and
    /// to save under; `cookie` is the invitation cookie. Answer with [`Request::AcceptFile`] or
    /// [`Request::DeclineFile`].
    FileOffered {
        transfer: TransferId,
        conversation: ConversationId,
        from: String,
        cookie: u32,
        name: String,
        size: u64,
    },
    /// The direct connection works and the file's bytes start to flow.
    TransferStarted { transfer: TransferId },
    /// Bytes moved so far (at most about ten of these per second and transfer, and one at the end).
    TransferProgress {
        transfer: TransferId,
        bytes: u64,
        total: u64,
    },
    /// The transfer is over and the file is complete: for a received file `path` is where it
    /// was saved, for a sent one the file that was sent. `confirmed` is false when every byte
    /// was sent but the receiver's confirmation never came ("sent, not confirmed").
    TransferCompleted {
        transfer: TransferId,
        path: PathBuf,
        confirmed: bool,
    },
    /// The contact declined the offer.
    TransferDeclined { transfer: TransferId },
    /// The transfer failed; `reason` says why, in words for the user. Nothing of a partly
    /// received file is left behind.
    TransferFailed {
        transfer: TransferId,
        reason: String,
    },
    /// The transfer was cancelled by the contact (`by_peer`) or by this side. Nothing of a partly
    /// received file is left behind.
    TransferCancelled { transfer: TransferId, by_peer: bool },
    /// The engine stopped because of an internal failure (a bug); the text says what happened.
    EngineFailed(String),
    /// The engine thread has ended (after [`Request::Shutdown`] or a final sign-out).
    Stopped,
}

/// A running engine: send requests, receive events.
#[derive(Debug)]
pub struct Session {
    /// Requests to the engine.
    pub requests: async_channel::Sender<Request>,
    /// Events from the engine.
    pub events: async_channel::Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

impl Session {
    /// Waits for the engine thread to end (after [`Request::Shutdown`]).
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the engine thread and signs in.
pub fn start(config: ClientConfig) -> std::io::Result<Session> {
    let (req_tx, req_rx) = async_channel::unbounded();
    let (ev_tx, ev_rx) = async_channel::unbounded();
    let thread = std::thread::Builder::new()
        .name("msnp-engine".into())
        .spawn(move || {
            let panic_tx = ev_tx.clone();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine::run(config, req_rx, ev_tx)
            }));
            if let Err(panic) = result {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                let _ = panic_tx.send_blocking(Event::EngineFailed(format!(
                    "the protocol engine crashed: {text}"
                )));
                let _ = panic_tx.send_blocking(Event::Stopped);
            }
        })?;
    Ok(Session {
        requests: req_tx,
        events: ev_rx,
        thread: Some(thread),
    })
}
