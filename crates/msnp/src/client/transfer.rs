//! File transfers (MSNFTP, msnftp.md) for the engine: the invitation negotiation inside the
//! conversations, keyed by contact and invitation cookie (§2), and for every accepted transfer one
//! task that owns the direct TCP connection and the file, driving the sans-IO
//! [`ftp::Sender`]/[`ftp::Receiver`] (§3). Files are read and written in bounded chunks, so memory
//! stays flat whatever the size. A received file is written under a hidden temporary name in the
//! target folder and renamed to its final, never-overwriting name only once it is complete; on
//! any other ending the temporary file is deleted.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use unicode_normalization::UnicodeNormalization;

use super::{
    ConversationId, Event, Request, TransferId, FIRST_ENGINE_MESSAGE_ID, FIRST_INCOMING_TRANSFER,
};
use crate::proto::contacts::account_key;
use crate::proto::ftp::{
    self, sanitize_file_name, unique_path_candidate, Accept, ByeCode, FileInvite, FtpError,
    FtpEvent, Invite, InviteError, TimeoutKind, DEFAULT_MAX_FILE_SIZE,
};
use crate::proto::payload::{CancelCode, Invitation, Payload};

/// At most this many offers from contacts wait for an answer; more are refused (§5.7).
const MAX_PENDING_OFFERS: usize = 10;
/// An invitation message that is not delivered is sent again this often (through whatever
/// switchboard is then current with the contact): two switchboards opened at the same time by
/// both sides close each other, and a message caught in between gets `NAK`.
const MESSAGE_RETRIES: u8 = 2;
/// Bytes of the file read from disk at once by a sender.
const READ_CHUNK: usize = 256 * 1024;
/// Bytes of blocks gathered into one socket write by a sender.
const WRITE_BATCH: usize = 64 * 1024;
/// Bytes read from the socket at once by a receiver.
const SOCKET_READ: usize = 64 * 1024;
/// Bytes buffered before a receiver writes to disk.
const DISK_WRITE_BUFFER: usize = 256 * 1024;
/// How long a sender whose write failed still reads what the receiver sent before closing.
const DRAIN_AFTER_WRITE_ERROR: Duration = Duration::from_secs(1);
/// How long the last bytes (`BYE`, `CCL`, `01 00 00`) may take to go out when a side closes.
const CLOSE_FLUSH: Duration = Duration::from_secs(5);

/// Settings of file transfers ([`Request::SetTransferOptions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferOptions {
    /// The port a listening socket tries first (6891, as the official client); when it is taken
    /// the system picks one. 0: always let the system pick.
    pub listen_port: u16,
    /// How long the connecting side tries to reach the other one (all its addresses together).
    pub connect_timeout: Duration,
    /// How long a listening socket waits for the other side's connection.
    pub listen_timeout: Duration,
    /// How long an offer waits for an answer before it is withdrawn (`CANCEL TIMEOUT`).
    pub answer_timeout: Duration,
    /// How long a receiver, after accepting, waits for the sender's connection data.
    pub accept_timeout: Duration,
    /// Offer files with `Connectivity: N` ("I cannot be connected to", msnftp.md §1.3): a
    /// receiver that can listen then does, and this side connects to it.
    pub cannot_listen: bool,
    /// Shortest time between two [`Event::TransferProgress`] of one transfer.
    pub progress_interval: Duration,
    /// Largest file size accepted in an offer.
    pub max_file_size: u64,
}

impl Default for TransferOptions {
    fn default() -> Self {
        Self {
            listen_port: 6891,
            connect_timeout: Duration::from_secs(20),
            listen_timeout: Duration::from_secs(60),
            answer_timeout: Duration::from_secs(5 * 60),
            accept_timeout: Duration::from_secs(60),
            cannot_listen: false,
            progress_interval: Duration::from_millis(100),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

/// Whether a message id is one of the engine's own (an invitation message of a transfer).
pub(super) fn is_engine_message(id: u64) -> bool {
    id >= FIRST_ENGINE_MESSAGE_ID
}

/// An invitation message to send to a contact (in the one-to-one conversation with them).
#[derive(Debug, Clone)]
pub(super) struct Outbound {
    pub to: String,
    pub id: u64,
    pub payload: Vec<u8>,
}

/// What a transfer task (or the engine about a transfer's message) reports.
#[derive(Debug)]
pub(super) struct Report {
    transfer: TransferId,
    kind: ReportKind,
}

#[derive(Debug)]
enum ReportKind {
    /// The handshake is over; data flows.
    Started,
    Progress {
        bytes: u64,
        total: u64,
    },
    Done(Outcome),
    /// The invitation message with this id could not be delivered.
    MessageFailed {
        id: u64,
    },
}

/// How a transfer task ended.
#[derive(Debug)]
enum Outcome {
    Completed {
        path: PathBuf,
        confirmed: bool,
    },
    Cancelled {
        by_peer: bool,
    },
    /// `cancel`: the direct connection never worked, so the other side is told on the
    /// switchboard with `CANCEL FTTIMEOUT` (msnftp.md §5.4, §5.5).
    Failed {
        reason: String,
        cancel: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Sender: the `INVITE` is out. Receiver: the user is asked.
    Offered,
    /// Receiver: our `ACCEPT` is out; waiting for the sender's connection data.
    Accepted,
    /// A task owns the transfer (listening, connecting or moving data).
    Running,
}

#[derive(Debug)]
enum Role {
    Send {
        path: PathBuf,
        /// Opened when offered, so the offered file is the one sent.
        file: Option<std::fs::File>,
        /// Our `INVITE` carried `Connectivity: N`.
        asked_reverse: bool,
    },
    Receive {
        /// The sender said it cannot be connected to (`Connectivity: N`).
        reverse: bool,
        dir: Option<PathBuf>,
    },
}

#[derive(Debug)]
struct Transfer {
    contact: String,
    cookie: u32,
    /// Sender: the offered base name. Receiver: the cleaned name.
    name: String,
    size: u64,
    role: Role,
    stage: Stage,
    deadline: Option<Instant>,
    /// Dropping or firing it stops the task.
    stop: Option<oneshot::Sender<()>>,
    started: bool,
    cancel_sent: bool,
    /// Local address of the switchboard connection the last invitation message came through.
    local: Option<SocketAddr>,
}

impl Transfer {
    fn sending(&self) -> bool {
        matches!(self.role, Role::Send { .. })
    }

    /// The `Cancel-Code` this side sends when its user stops the transfer before it runs.
    fn user_cancel_code(&self) -> CancelCode {
        match (&self.role, self.stage) {
            (Role::Send { .. }, _) => CancelCode::Timeout,
            (Role::Receive { .. }, Stage::Offered) => CancelCode::Reject,
            (Role::Receive { .. }, _) => CancelCode::OutbandCancel,
        }
    }
}

/// Every transfer of the session: the negotiations and the running tasks.
pub(super) struct Transfers {
    account: String,
    options: TransferOptions,
    /// `ClientIP` of the profile message: the public address announced to listeners' peers.
    client_ip: Option<Ipv4Addr>,
    /// Local address of the notification connection.
    server_local: Option<IpAddr>,
    items: HashMap<TransferId, Transfer>,
    next_incoming: TransferId,
    next_message: u64,
    /// The engine's messages of live transfers: id → (transfer, message, retries so far).
    messages: HashMap<u64, (TransferId, Outbound, u8)>,
    outbox: Vec<Outbound>,
    reports: mpsc::UnboundedSender<Report>,
    events: async_channel::Sender<Event>,
}

impl Transfers {
    /// A new set; the engine reads the returned channel and passes each report to
    /// [`Transfers::handle_report`].
    pub(super) fn new(
        account: &str,
        events: async_channel::Sender<Event>,
    ) -> (Self, mpsc::UnboundedReceiver<Report>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let transfers = Self {
            account: account.to_string(),
            options: TransferOptions::default(),
            client_ip: None,
            server_local: None,
            items: HashMap::new(),
            next_incoming: FIRST_INCOMING_TRANSFER,
            next_message: FIRST_ENGINE_MESSAGE_ID,
            messages: HashMap::new(),
            outbox: Vec::new(),
            reports: tx,
            events,
        };
        (transfers, rx)
    }

    fn emit(&self, event: Event) {
        let _ = self.events.try_send(event);
    }

    /// `ClientIP` from the profile message (messages.md §2.1).
    pub(super) fn set_client_ip(&mut self, ip: Option<Ipv4Addr>) {
        self.client_ip = ip;
    }

    /// The local address of the notification connection.
    pub(super) fn set_server_local(&mut self, addr: SocketAddr) {
        self.server_local = Some(addr.ip());
    }

    /// Loopback connection data are accepted only when our own server is on loopback (§2.7).
    fn allow_loopback(&self) -> bool {
        self.server_local.is_some_and(|ip| ip.is_loopback())
    }

    /// Messages to send, in order.
    pub(super) fn take_outbox(&mut self) -> Vec<Outbound> {
        std::mem::take(&mut self.outbox)
    }

    fn send(&mut self, to: &str, transfer: Option<TransferId>, invitation: &Invitation) {
        let message = Outbound {
            to: to.to_string(),
            id: 0,
            payload: invitation.build(),
        };
        self.queue(transfer, message, 0);
    }

    fn queue(&mut self, transfer: Option<TransferId>, mut message: Outbound, retries: u8) {
        message.id = self.next_message;
        self.next_message = self.next_message.saturating_add(1);
        if let Some(t) = transfer {
            self.messages
                .insert(message.id, (t, message.clone(), retries));
        }
        self.outbox.push(message);
    }

    fn send_cancel(&mut self, transfer: TransferId, code: CancelCode) {
        let Some(t) = self.items.get_mut(&transfer) else {
            return;
        };
        if t.cancel_sent {
            return;
        }
        t.cancel_sent = true;
        let (to, cookie) = (t.contact.clone(), t.cookie);
        self.send(&to, None, &Invitation::cancel(cookie.to_string(), code));
    }

    /// Forgets a transfer (stopping its task, if any) and reports how it ended.
    fn finish(&mut self, transfer: TransferId, event: Event) {
        self.items.remove(&transfer);
        self.messages.retain(|_, (t, _, _)| *t != transfer);
        self.emit(event);
    }

    fn fail(&mut self, transfer: TransferId, reason: impl Into<String>) {
        let reason = reason.into();
        self.finish(transfer, Event::TransferFailed { transfer, reason });
    }

    /// The transfer with `contact` and `cookie`, if one is pending.
    fn find(&self, contact: &str, cookie: u32) -> Option<TransferId> {
        let key = account_key(contact);
        self.items
            .iter()
            .find(|(_, t)| t.cookie == cookie && account_key(&t.contact) == key)
            .map(|(id, _)| *id)
    }

    /// Handles the transfer requests; other requests are ignored.
    pub(super) fn request(&mut self, request: Request, now: Instant) {
        match request {
            Request::SendFile { transfer, to, path } => self.offer(transfer, &to, path, now),
            Request::AcceptFile { transfer, dir } => self.accept(transfer, dir, now),
            Request::DeclineFile { transfer } | Request::CancelTransfer { transfer } => {
                self.cancel(transfer)
            }
            Request::SetTransferOptions(options) => self.options = options,
            _ => {}
        }
    }

    fn offer(&mut self, transfer: TransferId, to: &str, path: PathBuf, now: Instant) {
        if transfer >= FIRST_INCOMING_TRANSFER || self.items.contains_key(&transfer) {
            return self.emit(Event::TransferFailed {
                transfer,
                reason: "This transfer number is already in use or reserved for offers".into(),
            });
        }
        let opened = std::fs::File::open(&path).and_then(|f| {
            let meta = f.metadata()?;
            if meta.is_file() {
                Ok((f, meta.len()))
            } else {
                Err(io::Error::other("it is not a regular file"))
            }
        });
        let (file, size) = match opened {
            Ok(x) => x,
            Err(e) => {
                return self.emit(Event::TransferFailed {
                    transfer,
                    reason: format!("The file {} cannot be read: {e}", path.display()),
                })
            }
        };
        if size > DEFAULT_MAX_FILE_SIZE {
            return self.emit(Event::TransferFailed {
                transfer,
                reason: "The file is too large: at most 4 GiB can be sent".into(),
            });
        }
        // Only the base name, in NFC (msnftp.md §5.1).
        let name: String = path
            .file_name()
            .map(|n| n.to_string_lossy().nfc().collect())
            .unwrap_or_default();
        let cookie = loop {
            let Some(c) = random_u32() else {
                return self.emit(Event::TransferFailed {
                    transfer,
                    reason: "No secure random numbers are available".into(),
                });
            };
            if c != 0 && self.find(to, c).is_none() {
                break c;
            }
        };
        let asked_reverse = self.options.cannot_listen;
        self.items.insert(
            transfer,
            Transfer {
                contact: to.to_string(),
                cookie,
                name: name.clone(),
                size,
                role: Role::Send {
                    path,
                    file: Some(file),
                    asked_reverse,
                },
                stage: Stage::Offered,
                deadline: Some(now + self.options.answer_timeout),
                stop: None,
                started: false,
                cancel_sent: false,
                local: None,
            },
        );
        let invite =
            Invitation::file_transfer_invite(cookie.to_string(), &name, size, asked_reverse);
        self.send(to, Some(transfer), &invite);
    }

    fn accept(&mut self, transfer: TransferId, dir: PathBuf, now: Instant) {
        let Some(t) = self.items.get(&transfer) else {
            return self.emit(Event::TransferFailed {
                transfer,
                reason: "This file offer is no longer open".into(),
            });
        };
        let Role::Receive { reverse, .. } = t.role else {
            return;
        };
        if t.stage != Stage::Offered {
            return;
        }
        if !std::fs::metadata(&dir).is_ok_and(|m| m.is_dir()) {
            self.send_cancel(transfer, CancelCode::Reject);
            return self.fail(
                transfer,
                format!("The folder {} does not exist", dir.display()),
            );
        }
        let (contact, cookie, local) = (t.contact.clone(), t.cookie, t.local);
        if reverse {
            // The sender cannot be reached: offer to listen (msnftp.md §1.3, §2.5).
            // If we cannot listen either, the ordinary answer follows (it will probably fail).
            if let Ok((listener, announce)) = self.listen(local) {
                let Some(auth) = auth_cookie() else {
                    self.send_cancel(transfer, CancelCode::FtTimeout);
                    return self.fail(transfer, "No secure random numbers are available");
                };
                let accept = announce.invitation(cookie, auth, true);
                self.send(&contact, Some(transfer), &accept);
                return self.start_receive(transfer, dir, Link::Listen(listener), auth.to_string());
            }
        }
        if let Some(t) = self.items.get_mut(&transfer) {
            t.stage = Stage::Accepted;
            t.deadline = Some(now + self.options.accept_timeout);
            t.role = Role::Receive {
                reverse,
                dir: Some(dir),
            };
        }
        self.send(
            &contact,
            Some(transfer),
            &Invitation::accept_request(cookie.to_string()),
        );
    }

    fn cancel(&mut self, transfer: TransferId) {
        let Some(t) = self.items.get_mut(&transfer) else {
            return;
        };
        let code = t.user_cancel_code();
        if t.stage == Stage::Running {
            // The task ends the direct connection (`CCL` or `01 00 00`) and reports.
            if let Some(stop) = t.stop.take() {
                let _ = stop.send(());
            }
            if !t.started {
                self.send_cancel(transfer, code);
            }
            return;
        }
        self.send_cancel(transfer, code);
        self.finish(
            transfer,
            Event::TransferCancelled {
                transfer,
                by_peer: false,
            },
        );
    }

    /// Looks at a message from `from` in `conversation`; returns whether it was an invitation
    /// (which the engine then does not report as a message). `others` is the number of other
    /// participants of the switchboard, `local` its connection's local address.
    pub(super) fn handle_message(
        &mut self,
        conversation: ConversationId,
        from: &str,
        payload: &[u8],
        others: usize,
        local: Option<SocketAddr>,
    ) -> bool {
        let Payload::Invitation(invitation) = Payload::parse(payload) else {
            return false;
        };
        match FileInvite::parse_with_limit(&invitation.fields, self.options.max_file_size) {
            Ok(FileInvite::Invite(invite)) => {
                self.offered(conversation, from, invite, others, local)
            }
            Ok(FileInvite::Accept(accept)) => self.accepted(from, &accept, local),
            Ok(FileInvite::Cancel { cookie, code }) => self.cancelled(from, cookie, code),
            // Only answer where nobody else reads along (msnftp.md §2.1).
            Err(InviteError::NotFileTransfer(_)) if others == 1 => self.send(
                from,
                None,
                &Invitation::cancel(invitation.cookie.clone(), CancelCode::RejectNotInstalled),
            ),
            Err(InviteError::InvalidSize(_)) if others == 1 => self.send(
                from,
                None,
                &Invitation::cancel(invitation.cookie.clone(), CancelCode::Reject),
            ),
            Err(_) => {}
        }
        true
    }

    fn offered(
        &mut self,
        conversation: ConversationId,
        from: &str,
        invite: Invite,
        others: usize,
        local: Option<SocketAddr>,
    ) {
        if others != 1 || self.find(from, invite.cookie).is_some() {
            return;
        }
        let pending = self
            .items
            .values()
            .filter(|t| !t.sending() && t.stage == Stage::Offered)
            .count();
        if pending >= MAX_PENDING_OFFERS {
            let cancel = Invitation::cancel(invite.cookie.to_string(), CancelCode::Reject);
            return self.send(from, None, &cancel);
        }
        let transfer = self.next_incoming;
        self.next_incoming = self.next_incoming.saturating_add(1);
        let name = sanitize_file_name(&invite.file_name);
        self.items.insert(
            transfer,
            Transfer {
                contact: from.to_string(),
                cookie: invite.cookie,
                name: name.clone(),
                size: invite.file_size,
                role: Role::Receive {
                    reverse: invite.sender_unreachable(),
                    dir: None,
                },
                stage: Stage::Offered,
                deadline: None,
                stop: None,
                started: false,
                cancel_sent: false,
                local,
            },
        );
        self.emit(Event::FileOffered {
            transfer,
            conversation,
            from: from.to_string(),
            cookie: invite.cookie,
            name,
            size: invite.file_size,
        });
    }

    fn accepted(&mut self, from: &str, accept: &Accept, local: Option<SocketAddr>) {
        let Some(transfer) = self.find(from, accept.cookie) else {
            return; // unknown cookie: ignored (§5.7)
        };
        let Some(t) = self.items.get_mut(&transfer) else {
            return;
        };
        if local.is_some() {
            t.local = local;
        }
        let contact = t.contact.clone();
        match (&mut t.role, t.stage) {
            (Role::Send { asked_reverse, .. }, Stage::Offered) => {
                if *asked_reverse && accept.sender_connect {
                    self.connect_out_and_send(transfer, accept);
                } else {
                    self.listen_and_send(transfer);
                }
            }
            (Role::Receive { dir, .. }, Stage::Accepted) => {
                let dir = dir.take();
                match (dir, accept.connection(self.allow_loopback())) {
                    (Some(dir), Ok(conn)) => self.start_receive(
                        transfer,
                        dir,
                        Link::Connect(conn.candidates),
                        conn.auth_cookie,
                    ),
                    _ => {
                        self.send_cancel(transfer, CancelCode::FtTimeout);
                        self.fail(transfer, format!("{contact} sent invalid connection data"));
                    }
                }
            }
            // A late or repeated ACCEPT changes nothing.
            _ => {}
        }
    }

    fn cancelled(&mut self, from: &str, cookie: u32, code: Option<CancelCode>) {
        let Some(transfer) = self.find(from, cookie) else {
            return;
        };
        let Some(t) = self.items.get(&transfer) else {
            return;
        };
        // Once data flows, the direct connection decides (msnftp.md §2.6).
        if t.started {
            return;
        }
        let peer = t.contact.clone();
        let event = match (t.sending(), code) {
            (true, Some(CancelCode::Reject)) => Event::TransferDeclined { transfer },
            (true, Some(CancelCode::RejectNotInstalled)) => Event::TransferFailed {
                transfer,
                reason: format!("{peer}'s program cannot receive files"),
            },
            (_, Some(CancelCode::FtTimeout)) => Event::TransferFailed {
                transfer,
                reason: NO_CONNECTION.into(),
            },
            (_, Some(CancelCode::Fail)) => Event::TransferFailed {
                transfer,
                reason: "The file transfer failed".into(),
            },
            _ => Event::TransferCancelled {
                transfer,
                by_peer: true,
            },
        };
        // Removing it drops the task's stop sender: a listening or connecting task ends.
        self.finish(transfer, event);
    }

    /// Sender, normal flow: open the listening socket, announce it, and wait in a task.
    fn listen_and_send(&mut self, transfer: TransferId) {
        let Some(t) = self.items.get(&transfer) else {
            return;
        };
        let (contact, cookie, local) = (t.contact.clone(), t.cookie, t.local);
        let (listener, announce) = match self.listen(local) {
            Ok(x) => x,
            Err(e) => {
                self.send_cancel(transfer, CancelCode::FtTimeout);
                return self.fail(
                    transfer,
                    format!("No port could be opened for the transfer: {e}"),
                );
            }
        };
        let Some(auth) = auth_cookie() else {
            self.send_cancel(transfer, CancelCode::FtTimeout);
            return self.fail(transfer, "No secure random numbers are available");
        };
        self.send(
            &contact,
            Some(transfer),
            &announce.invitation(cookie, auth, false),
        );
        self.start_send(transfer, Link::Listen(listener), auth);
    }

    /// Sender, reverse variant: the receiver listens and we connect (msnftp.md §1.3).
    fn connect_out_and_send(&mut self, transfer: TransferId, accept: &Accept) {
        let Some(contact) = self.items.get(&transfer).map(|t| t.contact.clone()) else {
            return;
        };
        let conn = accept
            .connection(self.allow_loopback())
            .ok()
            .and_then(|c| Some((c.candidates, c.auth_cookie.parse::<u32>().ok()?)));
        match conn {
            Some((candidates, auth)) => self.start_send(transfer, Link::Connect(candidates), auth),
            None => {
                self.send_cancel(transfer, CancelCode::FtTimeout);
                self.fail(transfer, format!("{contact} sent invalid connection data"));
            }
        }
    }

    /// A listening socket on the local address of the switchboard connection: the configured
    /// port, or one the system picks when it is taken.
    fn listen(&self, local: Option<SocketAddr>) -> io::Result<(TcpListener, Announce)> {
        let ip = match local.map(|a| a.ip()).or(self.server_local) {
            Some(IpAddr::V4(ip)) => ip,
            _ => Ipv4Addr::UNSPECIFIED,
        };
        let preferred = (self.options.listen_port != 0)
            .then(|| std::net::TcpListener::bind((ip, self.options.listen_port)).ok())
            .flatten();
        let listener = match preferred {
            Some(l) => l,
            None => std::net::TcpListener::bind((ip, 0))?,
        };
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let listener = TcpListener::from_std(listener)?;
        let public = self.client_ip.filter(|p| !p.is_unspecified()).unwrap_or(ip);
        let internal = (!ip.is_unspecified() && ip != public).then_some(ip);
        Ok((
            listener,
            Announce {
                public,
                internal,
                port,
            },
        ))
    }

    fn start_send(&mut self, transfer: TransferId, link: Link, auth_cookie: u32) {
        let Some(t) = self.items.get_mut(&transfer) else {
            return;
        };
        let Role::Send { path, file, .. } = &mut t.role else {
            return;
        };
        let Some(file) = file.take() else {
            return;
        };
        let (stop_tx, stop_rx) = oneshot::channel();
        let limit = match link {
            Link::Listen(_) => self.options.listen_timeout,
            Link::Connect(_) => self.options.connect_timeout,
        };
        let job = SendJob {
            peer: t.contact.clone(),
            auth_cookie,
            size: t.size,
            path: path.clone(),
            file,
            link,
            limit,
        };
        t.stage = Stage::Running;
        t.deadline = None;
        t.stop = Some(stop_tx);
        let reporter = Reporter::new(transfer, self.reports.clone(), &self.options);
        tokio::spawn(async move {
            let mut reporter = reporter;
            let outcome = send_file(job, Stop(Some(stop_rx)), &mut reporter).await;
            reporter.send(ReportKind::Done(outcome));
        });
    }

    fn start_receive(&mut self, transfer: TransferId, dir: PathBuf, link: Link, auth: String) {
        let Some(t) = self.items.get_mut(&transfer) else {
            return;
        };
        let (stop_tx, stop_rx) = oneshot::channel();
        let limit = match link {
            Link::Listen(_) => self.options.listen_timeout,
            Link::Connect(_) => self.options.connect_timeout,
        };
        let job = ReceiveJob {
            peer: t.contact.clone(),
            account: self.account.clone(),
            auth_cookie: auth,
            size: t.size,
            dir,
            name: t.name.clone(),
            cookie: t.cookie,
            link,
            limit,
        };
        t.stage = Stage::Running;
        t.deadline = None;
        t.stop = Some(stop_tx);
        let reporter = Reporter::new(transfer, self.reports.clone(), &self.options);
        tokio::spawn(async move {
            let mut reporter = reporter;
            let outcome = receive_file(job, Stop(Some(stop_rx)), &mut reporter).await;
            reporter.send(ReportKind::Done(outcome));
        });
    }

    /// A report from a task (or about a message).
    pub(super) fn handle_report(&mut self, report: Report) {
        let transfer = report.transfer;
        let Some(t) = self.items.get_mut(&transfer) else {
            return; // already over (cancelled by the peer, say)
        };
        match report.kind {
            ReportKind::Started => {
                t.started = true;
                self.emit(Event::TransferStarted { transfer });
            }
            ReportKind::Progress { bytes, total } => self.emit(Event::TransferProgress {
                transfer,
                bytes,
                total,
            }),
            ReportKind::MessageFailed { id } => {
                let Some((_, message, retries)) = self.messages.remove(&id) else {
                    return;
                };
                if retries < MESSAGE_RETRIES {
                    return self.queue(Some(transfer), message, retries + 1);
                }
                // Once a task runs, its own time limits end a transfer whose peer never heard.
                if t.stage != Stage::Running {
                    let peer = t.contact.clone();
                    let what = if t.sending() && t.stage == Stage::Offered {
                        "The offer"
                    } else {
                        "The answer"
                    };
                    self.fail(
                        transfer,
                        format!("{what} could not be delivered to {peer} (they may be offline)"),
                    );
                }
            }
            ReportKind::Done(Outcome::Completed { path, confirmed }) => self.finish(
                transfer,
                Event::TransferCompleted {
                    transfer,
                    path,
                    confirmed,
                },
            ),
            ReportKind::Done(Outcome::Cancelled { by_peer }) => {
                self.finish(transfer, Event::TransferCancelled { transfer, by_peer })
            }
            ReportKind::Done(Outcome::Failed { reason, cancel }) => {
                if cancel {
                    self.send_cancel(transfer, CancelCode::FtTimeout);
                }
                self.fail(transfer, reason);
            }
        }
    }

    /// An invitation message of the engine was not delivered (called from the engine's event
    /// filter, which only has shared access).
    pub(super) fn message_failed(&self, id: u64) {
        if let Some((transfer, _, _)) = self.messages.get(&id) {
            let _ = self.reports.send(Report {
                transfer: *transfer,
                kind: ReportKind::MessageFailed { id },
            });
        }
    }

    /// The session ends: every transfer stops (tasks end, partial files are deleted) and is
    /// reported cancelled.
    pub(super) fn stop_all(&mut self) {
        let all: Vec<TransferId> = self.items.keys().copied().collect();
        for transfer in all {
            self.finish(
                transfer,
                Event::TransferCancelled {
                    transfer,
                    by_peer: false,
                },
            );
        }
    }

    /// The next negotiation deadline.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.items.values().filter_map(|t| t.deadline).min()
    }

    /// Withdraws unanswered offers and gives up waiting for connection data (msnftp.md §5.5).
    pub(super) fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<TransferId> = self
            .items
            .iter()
            .filter(|(_, t)| t.deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for transfer in due {
            let Some(t) = self.items.get(&transfer) else {
                continue;
            };
            let peer = t.contact.clone();
            if t.sending() {
                self.send_cancel(transfer, CancelCode::Timeout);
                self.fail(transfer, format!("No answer from {peer}"));
            } else {
                self.send_cancel(transfer, CancelCode::FtTimeout);
                self.fail(transfer, format!("{peer}'s computer did not answer"));
            }
        }
    }
}

/// Shown when the direct connection could not be made (msnftp.md §1.4).
const NO_CONNECTION: &str = "The file could not be transferred: the connection between the two \
                             computers failed (a firewall or router may be blocking it)";

/// The listener's connection data, as announced in its `ACCEPT`.
struct Announce {
    public: Ipv4Addr,
    internal: Option<Ipv4Addr>,
    port: u16,
}

impl Announce {
    fn invitation(&self, cookie: u32, auth_cookie: u32, sender_connect: bool) -> Invitation {
        let internal = self.internal.map(|i| i.to_string());
        Invitation::listener_accept(
            cookie.to_string(),
            &self.public.to_string(),
            internal.as_deref(),
            self.port,
            auth_cookie,
            sender_connect,
        )
    }
}

/// A random number from the operating system's secure source.
fn random_u32() -> Option<u32> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).ok()?;
    Some(u32::from_le_bytes(b))
}

/// An auth cookie: 1–2147483647, fresh for every transfer (msnftp.md §5.4).
fn auth_cookie() -> Option<u32> {
    random_u32().map(|r| (r & 0x7FFF_FFFF).max(1))
}

// ---------------------------------------------------------------------------------------------
// The tasks: one per running transfer.

/// How the direct connection comes about.
enum Link {
    /// Accept exactly one connection on this socket, then close it (msnftp.md §5.6).
    Listen(TcpListener),
    /// Connect to the first of these addresses that answers (§2.7).
    Connect(Vec<SocketAddrV4>),
}

/// The engine's request to stop; resolves once (also when the engine forgets the transfer).
struct Stop(Option<oneshot::Receiver<()>>);

impl Stop {
    async fn requested(&mut self) {
        match self.0.as_mut() {
            Some(rx) => {
                let _ = rx.await;
                self.0 = None;
            }
            None => std::future::pending::<()>().await,
        }
    }
}

/// Reports of one task, with progress limited in rate.
struct Reporter {
    transfer: TransferId,
    tx: mpsc::UnboundedSender<Report>,
    interval: Duration,
    last: Option<Instant>,
    started: bool,
}

impl Reporter {
    fn new(
        transfer: TransferId,
        tx: mpsc::UnboundedSender<Report>,
        options: &TransferOptions,
    ) -> Self {
        Self {
            transfer,
            tx,
            interval: options.progress_interval,
            last: None,
            started: false,
        }
    }

    fn send(&self, kind: ReportKind) {
        let _ = self.tx.send(Report {
            transfer: self.transfer,
            kind,
        });
    }

    fn started(&mut self) {
        self.started = true;
        self.send(ReportKind::Started);
    }

    fn progress(&mut self, bytes: u64, total: u64) {
        let now = Instant::now();
        let due = self
            .last
            .is_none_or(|l| now.duration_since(l) >= self.interval);
        if bytes >= total || due {
            self.last = Some(now);
            self.send(ReportKind::Progress { bytes, total });
        }
    }

    /// A failure; before data flowed the other side is told on the switchboard too.
    fn failed(&self, reason: String) -> Outcome {
        Outcome::Failed {
            reason,
            cancel: !self.started,
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending::<()>().await,
    }
}

enum Established {
    Stream(TcpStream),
    Stopped,
    Failed(String),
}

/// Makes the direct connection within `limit`.
async fn establish(link: Link, limit: Duration, peer: &str, stop: &mut Stop) -> Established {
    let end = Instant::now() + limit;
    match link {
        Link::Listen(listener) => {
            tokio::select! {
                r = listener.accept() => match r {
                    Ok((stream, _)) => Established::Stream(stream),
                    Err(e) => Established::Failed(format!("The connection from {peer} failed: {e}")),
                },
                () = sleep_until(Some(end)) => Established::Failed(format!(
                    "{peer}'s computer did not connect: {NO_CONNECTION_SHORT}"
                )),
                () = stop.requested() => Established::Stopped,
            }
            // The listener is dropped here: exactly one connection.
        }
        Link::Connect(candidates) => {
            let count = candidates.len();
            for (i, addr) in candidates.into_iter().enumerate() {
                let left = end.saturating_duration_since(Instant::now());
                let share = left / u32::try_from(count - i).unwrap_or(1).max(1);
                tokio::select! {
                    r = tokio::time::timeout(share, TcpStream::connect(addr)) => {
                        if let Ok(Ok(stream)) = r {
                            return Established::Stream(stream);
                        }
                    }
                    () = stop.requested() => return Established::Stopped,
                }
            }
            Established::Failed(format!("{peer}'s computer could not be reached"))
        }
    }
}

/// A short form of [`NO_CONNECTION`].
const NO_CONNECTION_SHORT: &str = "a firewall or router may be blocking the connection";

/// The user-facing words for an MSNFTP failure.
fn failure_words(e: &FtpError, peer: &str, detail: Option<&str>) -> String {
    let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
    match e {
        FtpError::AuthRejected => "A connection from an unexpected computer was refused".into(),
        FtpError::BadVersion
        | FtpError::Command(_)
        | FtpError::UnexpectedCommand(_)
        | FtpError::Block(_) => format!("{peer}'s program broke the file transfer protocol"),
        FtpError::SizeMismatch { .. } | FtpError::TooMuchData { .. } => {
            format!("{peer} sent a different amount of data than announced")
        }
        FtpError::Timeout(TimeoutKind::Handshake) => format!("{peer}'s program did not answer"),
        FtpError::Timeout(TimeoutKind::NoData) => format!("{peer} stopped sending"),
        FtpError::Timeout(TimeoutKind::WriteStalled) => format!("{peer} stopped receiving"),
        FtpError::ConnectionLost => "The connection was lost".into(),
        FtpError::PeerBye(Some(ByeCode::WriteFailed)) => format!("{peer} could not save the file"),
        FtpError::PeerBye(Some(ByeCode::Timeout)) => {
            format!("The connection to {peer} was blocked or timed out")
        }
        FtpError::PeerBye(_) => e.to_string(),
        FtpError::StorageFailed => format!("The file could not be saved{detail}"),
        FtpError::ReadFailed => format!("The file could not be read{detail}"),
        FtpError::FileSizeChanged => "The file changed while it was being sent".into(),
    }
}

struct SendJob {
    peer: String,
    auth_cookie: u32,
    size: u64,
    path: PathBuf,
    file: std::fs::File,
    link: Link,
    limit: Duration,
}

/// Reads the file in large chunks and hands out pieces of the size the machine asks for.
struct FileChunks {
    file: tokio::fs::File,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Bytes handed out so far.
    total: u64,
}

impl FileChunks {
    fn new(file: std::fs::File) -> Self {
        Self {
            file: tokio::fs::File::from_std(file),
            buf: vec![0; READ_CHUNK],
            pos: 0,
            len: 0,
            total: 0,
        }
    }

    /// Up to `max` next bytes; empty at the end of the file.
    async fn next(&mut self, max: usize) -> io::Result<Vec<u8>> {
        if self.pos >= self.len {
            self.pos = 0;
            self.len = self.file.read(&mut self.buf).await?;
        }
        let end = self.len.min(self.pos.saturating_add(max));
        let chunk = self.buf.get(self.pos..end).unwrap_or_default().to_vec();
        self.pos = end;
        self.total += chunk.len() as u64;
        Ok(chunk)
    }
}

/// The sending side of one transfer, from the direct connection to the end.
async fn send_file(job: SendJob, mut stop: Stop, rep: &mut Reporter) -> Outcome {
    let peer = job.peer.clone();
    let stream = match establish(job.link, job.limit, &peer, &mut stop).await {
        Established::Stream(s) => s,
        Established::Stopped => return Outcome::Cancelled { by_peer: false },
        Established::Failed(reason) => return rep.failed(reason),
    };
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut file = FileChunks::new(job.file);
    let mut m = ftp::Sender::new(job.peer, job.auth_cookie, job.size, Instant::now());
    let mut rbuf = vec![0u8; 4096];
    let mut wbuf: Vec<u8> = Vec::with_capacity(WRITE_BATCH + ftp::MAX_BLOCK_DATA + 3);
    let mut wpos = 0;
    let mut outcome = None;
    let mut read_error: Option<String> = None;
    // The peer closed while blocks were still unwritten: not "sent, not confirmed".
    let mut unsent_at_close = false;
    loop {
        let mut need = None;
        while let Some(ev) = m.poll_event() {
            match ev {
                FtpEvent::NeedData { max } => need = Some(max),
                FtpEvent::Started => rep.started(),
                FtpEvent::Progress { transferred, total } => rep.progress(transferred, total),
                FtpEvent::Completed => {
                    outcome = Some(Outcome::Completed {
                        path: job.path.clone(),
                        confirmed: true,
                    })
                }
                FtpEvent::SentUnconfirmed if unsent_at_close => {
                    outcome =
                        Some(rep.failed(failure_words(&FtpError::ConnectionLost, &peer, None)))
                }
                FtpEvent::SentUnconfirmed => {
                    outcome = Some(Outcome::Completed {
                        path: job.path.clone(),
                        confirmed: false,
                    })
                }
                FtpEvent::Cancelled { by_peer } => outcome = Some(Outcome::Cancelled { by_peer }),
                FtpEvent::Failed(e) => {
                    outcome = Some(rep.failed(failure_words(&e, &peer, read_error.as_deref())))
                }
                FtpEvent::Data(_) | FtpEvent::AllDataReceived => {}
            }
        }
        if let Some(max) = need {
            let now = Instant::now();
            match file.next(max).await {
                Ok(chunk) if !chunk.is_empty() && file.total >= job.size => {
                    // The last piece: the file must still have the offered size (§5.2).
                    match file.file.metadata().await {
                        Ok(meta) if meta.len() == job.size => m.provide_data(chunk, now),
                        _ => m.file_size_changed(),
                    }
                }
                Ok(chunk) => m.provide_data(chunk, now),
                Err(e) => {
                    read_error = Some(e.to_string());
                    m.read_failed();
                }
            }
            continue;
        }
        if wpos >= wbuf.len() {
            wbuf.clear();
            wpos = 0;
            while wbuf.len() < WRITE_BATCH {
                match m.poll_transmit() {
                    Some(b) => wbuf.extend_from_slice(&b),
                    None => break,
                }
            }
            if !wbuf.is_empty() {
                continue; // handing out blocks may have asked for more data
            }
        }
        if m.is_closed() {
            while let Some(b) = m.poll_transmit() {
                wbuf.extend_from_slice(&b);
            }
            let rest = wbuf.get(wpos..).unwrap_or_default();
            let _ = tokio::time::timeout(CLOSE_FLUSH, wr.write_all(rest)).await;
            let _ = tokio::time::timeout(CLOSE_FLUSH, wr.shutdown()).await;
            break;
        }
        let pending = wbuf.get(wpos..).unwrap_or_default();
        let has_pending = !pending.is_empty();
        tokio::select! {
            r = rd.read(&mut rbuf) => match r {
                Ok(n) if n > 0 => m.handle_input(rbuf.get(..n).unwrap_or_default(), Instant::now()),
                _ => {
                    unsent_at_close = has_pending;
                    wbuf.clear();
                    wpos = 0;
                    m.handle_closed();
                }
            },
            w = wr.write(pending), if has_pending => match w {
                Ok(n) if n > 0 => wpos += n,
                _ => {
                    unsent_at_close = true;
                    wbuf.clear();
                    wpos = 0;
                    // The receiver may have said why (`CCL`) before it closed.
                    drain(&mut rd, &mut m, &mut rbuf).await;
                    m.handle_closed();
                }
            },
            () = sleep_until(m.poll_timeout()) => m.handle_timeout(Instant::now()),
            () = stop.requested() => m.cancel(),
        }
    }
    outcome.unwrap_or_else(|| rep.failed(failure_words(&FtpError::ConnectionLost, &peer, None)))
}

/// After a failed write: reads what the peer sent before it closed (queued data stays readable
/// after a reset), for a short while, and feeds it to the machine.
async fn drain(rd: &mut tokio::net::tcp::OwnedReadHalf, m: &mut ftp::Sender, buf: &mut [u8]) {
    let end = tokio::time::Instant::now() + DRAIN_AFTER_WRITE_ERROR;
    while !m.is_closed() {
        match tokio::time::timeout_at(end, rd.read(buf)).await {
            Ok(Ok(n)) if n > 0 => m.handle_input(buf.get(..n).unwrap_or_default(), Instant::now()),
            _ => return,
        }
    }
}

struct ReceiveJob {
    peer: String,
    account: String,
    auth_cookie: String,
    size: u64,
    dir: PathBuf,
    name: String,
    cookie: u32,
    link: Link,
    limit: Duration,
}

/// The temporary file a transfer is received into; deleted when dropped unless it was moved to
/// its final name.
struct PartFile {
    path: PathBuf,
    done: bool,
}

impl PartFile {
    /// Creates `.<name>.<cookie>.part` (or a numbered variant) exclusively in `dir`.
    async fn create(dir: &Path, name: &str, cookie: u32) -> io::Result<(Self, tokio::fs::File)> {
        let mut last = None;
        for n in 0..100u32 {
            let file_name = match n {
                0 => format!(".{name}.{cookie}.part"),
                n => format!(".{name}.{cookie}-{n}.part"),
            };
            let path = dir.join(file_name);
            match tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .await
            {
                Ok(file) => return Ok((Self { path, done: false }, file)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
    }

    /// Moves the complete file to the first free name among `name`, `name (1)`, … in `dir`,
    /// never replacing an existing file (msnftp.md §5.1, §5.3).
    async fn commit(&mut self, dir: &Path, name: &str) -> io::Result<PathBuf> {
        let part = self.path.clone();
        let dir = dir.to_path_buf();
        let name = name.to_string();
        let result =
            tokio::task::spawn_blocking(move || move_without_replacing(&part, &dir, &name))
                .await
                .unwrap_or_else(|e| Err(io::Error::other(e)));
        if result.is_ok() {
            self.done = true;
        }
        result
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn move_without_replacing(part: &Path, dir: &Path, name: &str) -> io::Result<PathBuf> {
    for n in 0..10_000 {
        let target = dir.join(unique_path_candidate(name, n));
        // A hard link fails if the name exists (a dangling symbolic link included).
        match std::fs::hard_link(part, &target) {
            Ok(()) => {
                let _ = std::fs::remove_file(part);
                return Ok(target);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(_) => {
                // No hard links on this file system: reserve the name exclusively, then move
                // the file onto the reserved (empty, ours) entry.
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&target)
                {
                    Ok(_) => {
                        std::fs::rename(part, &target)?;
                        return Ok(target);
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Err(io::Error::other("no free file name"))
}

/// Flushes the received file to disk and moves it to its final name.
async fn store(
    out: &mut BufWriter<tokio::fs::File>,
    part: &mut PartFile,
    dir: &Path,
    name: &str,
) -> io::Result<PathBuf> {
    out.flush().await?;
    out.get_mut().sync_all().await?;
    part.commit(dir, name).await
}

/// The receiving side of one transfer, from the direct connection to the end.
async fn receive_file(job: ReceiveJob, mut stop: Stop, rep: &mut Reporter) -> Outcome {
    let peer = job.peer.clone();
    let (mut part, file) = match PartFile::create(&job.dir, &job.name, job.cookie).await {
        Ok(x) => x,
        Err(e) => {
            return rep.failed(format!(
                "The file could not be saved in {}: {e}",
                job.dir.display()
            ))
        }
    };
    let stream = match establish(job.link, job.limit, &peer, &mut stop).await {
        Established::Stream(s) => s,
        Established::Stopped => return Outcome::Cancelled { by_peer: false },
        Established::Failed(reason) => return rep.failed(reason),
    };
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut out = BufWriter::with_capacity(DISK_WRITE_BUFFER, file);
    let mut m = ftp::Receiver::new(job.account, job.auth_cookie, job.size, Instant::now());
    let mut rbuf = vec![0u8; SOCKET_READ];
    let mut storage_error: Option<String> = None;
    let mut saved: Option<PathBuf> = None;
    let mut outcome = None;
    loop {
        while let Some(b) = m.poll_transmit() {
            // A failed write shows up as a closed connection when reading.
            let _ = wr.write_all(&b).await;
        }
        while let Some(ev) = m.poll_event() {
            match ev {
                FtpEvent::Started => rep.started(),
                FtpEvent::Data(d) => {
                    if storage_error.is_none() {
                        if let Err(e) = out.write_all(&d).await {
                            storage_error = Some(e.to_string());
                            m.storage_failed();
                        }
                    }
                }
                FtpEvent::Progress { transferred, total } => rep.progress(transferred, total),
                FtpEvent::AllDataReceived => {
                    match store(&mut out, &mut part, &job.dir, &job.name).await {
                        Ok(path) => {
                            saved = Some(path);
                            m.file_stored();
                        }
                        Err(e) => {
                            storage_error = Some(e.to_string());
                            m.storage_failed();
                        }
                    }
                }
                FtpEvent::Completed => {
                    outcome = saved.take().map(|path| Outcome::Completed {
                        path,
                        confirmed: true,
                    })
                }
                FtpEvent::Cancelled { by_peer } => outcome = Some(Outcome::Cancelled { by_peer }),
                FtpEvent::Failed(e) => {
                    outcome = Some(rep.failed(failure_words(&e, &peer, storage_error.as_deref())))
                }
                FtpEvent::NeedData { .. } | FtpEvent::SentUnconfirmed => {}
            }
        }
        if m.is_closed() {
            while let Some(b) = m.poll_transmit() {
                let _ = tokio::time::timeout(CLOSE_FLUSH, wr.write_all(&b)).await;
            }
            let _ = tokio::time::timeout(CLOSE_FLUSH, wr.shutdown()).await;
            break;
        }
        tokio::select! {
            r = rd.read(&mut rbuf) => match r {
                Ok(n) if n > 0 => m.handle_input(rbuf.get(..n).unwrap_or_default(), Instant::now()),
                _ => m.handle_closed(),
            },
            () = sleep_until(m.poll_timeout()) => m.handle_timeout(Instant::now()),
            () = stop.requested() => m.cancel(),
        }
    }
    // `part` is dropped here: unless the file was moved to its final name, it is deleted.
    drop(part);
    outcome.unwrap_or_else(|| rep.failed(failure_words(&FtpError::ConnectionLost, &peer, None)))
}
