//! The engine loop: sockets, timers and reconnection around the sans-IO state machines.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::passport::{spawn_ticket, PassportClient};
use super::transfer::{self, Transfers};
use super::{ClientConfig, ConversationId, Event, Request};
use crate::proto::command::AckMode;
use crate::proto::contacts::account_key;
use crate::proto::ns::{LoginError, Notification, NsConfig, NsEvent, NsRequest, SignOutReason};
use crate::proto::passport::PassportError;
use crate::proto::payload::Payload;
use crate::proto::sb::{SbEvent, Switchboard};

/// The first reconnection delay; it doubles after each failure.
pub const BACKOFF_START: Duration = Duration::from_secs(1);
/// The longest reconnection delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Time allowed for a TCP connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// A message whose switchboard closed is re-sent through a new one at most this often.
const MAX_RESENDS: u8 = 1;

type ConnId = u64;

enum Input {
    Connected(ConnId, TcpStream),
    ConnectFailed(ConnId, String),
    Data(ConnId, Vec<u8>),
    Closed(ConnId, String),
    /// The Passport step of the NS connection finished (MSNP8).
    Passport(ConnId, Result<String, PassportError>),
}

struct Outgoing {
    id: u64,
    ack: AckMode,
    payload: Vec<u8>,
    resends: u8,
    /// When it was put in its conversation's queue to wait for a switchboard.
    queued: Option<Instant>,
}

struct Conversation {
    /// The contact a one-to-one conversation is with (`None` once it has more people).
    with: Option<String>,
    participants: Vec<String>,
    sb: Option<ConnId>,
    xfr_pending: bool,
    queue: VecDeque<Outgoing>,
    resends: HashMap<u64, u8>,
}

struct SbConn {
    sb: Switchboard,
    writer: Option<OwnedWriteHalf>,
    conversation: ConversationId,
    /// The local address of the connection (file transfers listen on it).
    local: Option<SocketAddr>,
}

struct Engine {
    config: ClientConfig,
    events: async_channel::Sender<Event>,
    inputs: mpsc::UnboundedSender<Input>,
    ns: Option<Notification>,
    ns_conn: Option<ConnId>,
    ns_writer: Option<OwnedWriteHalf>,
    online: bool,
    next_conn: ConnId,
    sbs: HashMap<ConnId, SbConn>,
    conversations: HashMap<ConversationId, Conversation>,
    next_conversation: ConversationId,
    backoff: Duration,
    attempt: u32,
    reconnect_at: Option<Instant>,
    stopping: bool,
    passport: Option<Arc<PassportClient>>,
    /// Whether a refused MSNP8 ticket was already retried since the last sign-in.
    ticket_retried: bool,
    transfers: Transfers,
}

/// Runs the engine until [`Request::Shutdown`] or a final sign-out.
pub(super) fn run(
    config: ClientConfig,
    requests: async_channel::Receiver<Request>,
    events: async_channel::Sender<Event>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ =
                events.send_blocking(Event::EngineFailed(format!("cannot start the engine: {e}")));
            let _ = events.send_blocking(Event::Stopped);
            return;
        }
    };
    runtime.block_on(async move {
        let (in_tx, mut in_rx) = mpsc::unbounded_channel();
        let (transfers, mut transfer_reports) = Transfers::new(&config.account, events.clone());
        let mut engine = Engine {
            config,
            events: events.clone(),
            inputs: in_tx,
            ns: None,
            ns_conn: None,
            ns_writer: None,
            online: false,
            next_conn: 1,
            sbs: HashMap::new(),
            conversations: HashMap::new(),
            next_conversation: 1,
            backoff: BACKOFF_START,
            attempt: 0,
            reconnect_at: None,
            stopping: false,
            passport: None,
            ticket_retried: false,
            transfers,
        };
        engine.connect_ns(engine.config.server.clone(), false);
        loop {
            let deadline = engine.next_deadline();
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                req = requests.recv() => match req {
                    Ok(req) => engine.handle_request(req).await,
                    // The application dropped its sender: sign out and stop.
                    Err(_) => engine.handle_request(Request::Shutdown).await,
                },
                Some(input) = in_rx.recv() => engine.handle_input(input).await,
                Some(report) = transfer_reports.recv() => {
                    engine.transfers.handle_report(report);
                    engine.pump().await;
                }
                () = sleep => engine.handle_timeout().await,
            }
            if engine.stopping {
                break;
            }
        }
        let _ = events.send(Event::Stopped).await;
    });
}

impl Engine {
    fn emit(&self, event: Event) {
        // The delivery of the engine's own invitation messages concerns their transfer only.
        match &event {
            Event::MessageDelivered { id } if transfer::is_engine_message(*id) => {}
            Event::MessageFailed { id, .. } if transfer::is_engine_message(*id) => {
                self.transfers.message_failed(*id)
            }
            _ => {
                let _ = self.events.try_send(event);
            }
        }
    }

    fn conn_id(&mut self) -> ConnId {
        let id = self.next_conn;
        self.next_conn += 1;
        id
    }

    /// Opens a TCP connection in the background; the result arrives as an [`Input`].
    fn connect(&self, id: ConnId, address: String) {
        let tx = self.inputs.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address.as_str())).await
            {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    let _ = tx.send(Input::Connected(id, stream));
                }
                Ok(Err(e)) => {
                    let _ = tx.send(Input::ConnectFailed(
                        id,
                        format!("cannot connect to {address}: {e}"),
                    ));
                }
                Err(_) => {
                    let _ = tx.send(Input::ConnectFailed(
                        id,
                        format!("cannot connect to {address}: timed out"),
                    ));
                }
            }
        });
    }

    /// Starts the reader task of a connection and returns its write half.
    fn attach(&self, id: ConnId, stream: TcpStream) -> OwnedWriteHalf {
        let (mut reader, writer) = stream.into_split();
        let tx = self.inputs.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) => {
                        let _ = tx.send(Input::Closed(id, "closed by the server".into()));
                        break;
                    }
                    Ok(n) => {
                        if tx.send(Input::Data(id, buf[..n].to_vec())).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Input::Closed(id, e.to_string()));
                        break;
                    }
                }
            }
        });
        writer
    }

    fn connect_ns(&mut self, address: String, redirected: bool) {
        if !redirected {
            self.attempt += 1;
            self.emit(Event::Connecting {
                attempt: self.attempt,
            });
            let config = NsConfig {
                initial_status: self.config.initial_status.clone(),
                cache: self.config.cache.clone(),
                protocol: self.config.protocol,
                ..NsConfig::new(&self.config.account, &self.config.password)
            };
            self.ns = Some(Notification::new(config));
        }
        self.ns_writer = None;
        self.online = false;
        let id = self.conn_id();
        self.ns_conn = Some(id);
        self.connect(id, address);
    }

    fn next_deadline(&self) -> Option<Instant> {
        let ns = self.ns.as_ref().and_then(Notification::poll_timeout);
        let sbs = self.sbs.values().filter_map(|c| c.sb.poll_timeout()).min();
        let transfers = self.transfers.poll_timeout();
        let queued = self
            .conversations
            .values()
            .filter_map(|c| c.queue.iter().filter_map(|o| o.queued).min())
            .min()
            .map(|t| t + self.config.send_timeout);
        [ns, sbs, self.reconnect_at, transfers, queued]
            .into_iter()
            .flatten()
            .min()
    }

    async fn handle_timeout(&mut self) {
        let now = Instant::now();
        if self.reconnect_at.is_some_and(|t| now >= t) {
            self.reconnect_at = None;
            self.connect_ns(self.config.server.clone(), false);
        }
        if let Some(ns) = self.ns.as_mut() {
            ns.handle_timeout(now);
        }
        for conn in self.sbs.values_mut() {
            conn.sb.handle_timeout(now);
        }
        self.transfers.handle_timeout(now);
        self.fail_overdue(now);
        self.pump().await;
    }

    /// Reports as failed the messages that waited for a switchboard longer than
    /// [`ClientConfig::send_timeout`] (server unreachable, reconnecting): they are dropped, so
    /// a retry by the application never sends them twice.
    fn fail_overdue(&mut self, now: Instant) {
        let limit = self.config.send_timeout;
        let mut failed = Vec::new();
        for conv in self.conversations.values_mut() {
            conv.queue.retain(|o| {
                let overdue = o.queued.is_some_and(|t| now >= t + limit);
                if overdue {
                    failed.push(o.id);
                }
                !overdue
            });
        }
        for id in failed {
            self.emit(Event::MessageFailed {
                id,
                reason: "no connection to the server".into(),
            });
        }
    }

    async fn handle_input(&mut self, input: Input) {
        let now = Instant::now();
        match input {
            Input::Connected(id, stream) => {
                let local = stream.local_addr().ok();
                if Some(id) == self.ns_conn {
                    if let Some(local) = local {
                        self.transfers.set_server_local(local);
                    }
                    self.ns_writer = Some(self.attach(id, stream));
                    if let Some(ns) = self.ns.as_mut() {
                        ns.handle_connected(now);
                    }
                } else if self.sbs.contains_key(&id) {
                    let writer = self.attach(id, stream);
                    if let Some(conn) = self.sbs.get_mut(&id) {
                        conn.writer = Some(writer);
                        conn.local = local;
                        conn.sb.handle_connected(now);
                    }
                }
            }
            Input::ConnectFailed(id, reason) | Input::Closed(id, reason) => {
                if Some(id) == self.ns_conn {
                    self.ns_conn = None;
                    self.ns_writer = None;
                    if let Some(ns) = self.ns.as_mut() {
                        ns.handle_closed(&reason);
                    }
                } else if let Some(conn) = self.sbs.get_mut(&id) {
                    conn.writer = None;
                    conn.sb.handle_closed(now);
                }
            }
            Input::Passport(id, result) => {
                if let Some(ns) = self.ns.as_mut().filter(|_| Some(id) == self.ns_conn) {
                    match result {
                        Ok(ticket) => ns.handle_passport_ticket(&ticket, now),
                        Err(e) => ns.handle_passport_failed(e),
                    }
                }
            }
            Input::Data(id, bytes) => {
                if Some(id) == self.ns_conn {
                    if let Some(ns) = self.ns.as_mut() {
                        ns.handle_input(&bytes, now);
                    }
                } else if let Some(conn) = self.sbs.get_mut(&id) {
                    conn.sb.handle_input(&bytes, now);
                }
            }
        }
        self.pump().await;
    }

    async fn handle_request(&mut self, request: Request) {
        let now = Instant::now();
        match request {
            Request::Ns(NsRequest::SignOut) | Request::Shutdown => {
                self.transfers.stop_all();
                self.close_all_switchboards();
                if let Some(ns) = self.ns.as_mut() {
                    let _ = ns.handle_request(NsRequest::SignOut, now);
                }
                self.pump().await;
                self.stopping = true;
            }
            Request::Ns(req) => {
                if let NsRequest::SetStatus(status) = &req {
                    self.config.initial_status = status.clone();
                }
                match self
                    .ns
                    .as_mut()
                    .map(|ns| ns.handle_request(req.clone(), now))
                {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => self.emit(Event::RequestRefused {
                        request: req,
                        reason: e.to_string(),
                    }),
                    None => self.emit(Event::RequestRefused {
                        request: req,
                        reason: "not connected".into(),
                    }),
                }
            }
            Request::SendTo {
                id,
                to,
                ack,
                payload,
            } => {
                let conversation = self.conversation_with(&to);
                self.send_in(
                    conversation,
                    Outgoing {
                        id,
                        ack,
                        payload,
                        resends: 0,
                        queued: None,
                    },
                    now,
                );
            }
            Request::SendInConversation {
                id,
                conversation,
                ack,
                payload,
            } => {
                if self.conversations.contains_key(&conversation) {
                    self.send_in(
                        conversation,
                        Outgoing {
                            id,
                            ack,
                            payload,
                            resends: 0,
                            queued: None,
                        },
                        now,
                    );
                } else {
                    self.emit(Event::MessageFailed {
                        id,
                        reason: "the conversation is closed".into(),
                    });
                }
            }
            Request::Invite {
                conversation,
                account,
            } => {
                if let Some(conv) = self.conversations.get_mut(&conversation) {
                    conv.with = None;
                    if !conv
                        .participants
                        .iter()
                        .any(|p| p.eq_ignore_ascii_case(&account))
                    {
                        conv.participants.push(account.clone());
                    }
                    let live = conv
                        .sb
                        .and_then(|sb| self.sbs.get_mut(&sb))
                        .filter(|c| !c.sb.is_closed());
                    match live {
                        Some(conn) => conn.sb.invite(&account, now),
                        None => {
                            conv.sb = None;
                            self.open_switchboard(conversation, now);
                        }
                    }
                }
            }
            Request::OpenConversation { with } => {
                let conversation = self.conversation_with(&with);
                let live = self
                    .conversations
                    .get(&conversation)
                    .and_then(|c| c.sb)
                    .and_then(|sb| self.sbs.get(&sb))
                    .is_some_and(|c| !c.sb.is_closed());
                if !live {
                    if let Some(conv) = self.conversations.get_mut(&conversation) {
                        conv.sb = None;
                    }
                    self.open_switchboard(conversation, now);
                }
            }
            Request::CloseConversation { conversation } => {
                if let Some(conv) = self.conversations.remove(&conversation) {
                    for out in conv.queue {
                        self.emit(Event::MessageFailed {
                            id: out.id,
                            reason: "the conversation was closed".into(),
                        });
                    }
                    if let Some(conn) = conv.sb.and_then(|sb| self.sbs.get_mut(&sb)) {
                        conn.sb.leave();
                    }
                }
            }
            request @ (Request::SendFile { .. }
            | Request::AcceptFile { .. }
            | Request::DeclineFile { .. }
            | Request::CancelTransfer { .. }
            | Request::SetTransferOptions(_)) => self.transfers.request(request, now),
            Request::RetryNow => {
                if self.ns.as_ref().is_none_or(Notification::is_closed) {
                    self.reconnect_at = None;
                    self.backoff = BACKOFF_START;
                    self.connect_ns(self.config.server.clone(), false);
                }
            }
        }
        self.pump().await;
    }

    /// The one-to-one conversation with `account`, created when needed.
    fn conversation_with(&mut self, account: &str) -> ConversationId {
        let key = account_key(account);
        if let Some((id, _)) = self
            .conversations
            .iter()
            .filter(|(_, c)| c.with.as_deref().map(account_key).as_deref() == Some(key.as_str()))
            .max_by_key(|(id, _)| **id)
        {
            return *id;
        }
        self.new_conversation(Some(account.to_string()))
    }

    fn new_conversation(&mut self, with: Option<String>) -> ConversationId {
        let id = self.next_conversation;
        self.next_conversation += 1;
        let participants = with.iter().cloned().collect();
        self.conversations.insert(
            id,
            Conversation {
                with: with.clone(),
                participants,
                sb: None,
                xfr_pending: false,
                queue: VecDeque::new(),
                resends: HashMap::new(),
            },
        );
        self.emit(Event::ConversationOpened {
            conversation: id,
            with: with.unwrap_or_default(),
        });
        id
    }

    fn send_in(&mut self, conversation: ConversationId, out: Outgoing, now: Instant) {
        let Some(conv) = self.conversations.get_mut(&conversation) else {
            return;
        };
        if let Some(conn) = conv
            .sb
            .and_then(|sb| self.sbs.get_mut(&sb))
            .filter(|c| !c.sb.is_closed())
        {
            conv.resends.insert(out.id, out.resends);
            conn.sb.send_message(out.id, out.ack, out.payload, now);
            return;
        }
        let mut out = out;
        out.queued = Some(now);
        conv.queue.push_back(out);
        self.open_switchboard(conversation, now);
    }

    /// Asks the notification server for a switchboard for `conversation` (once at a time).
    fn open_switchboard(&mut self, conversation: ConversationId, now: Instant) {
        if !self.online {
            return; // asked again when the session is online
        }
        let Some(conv) = self.conversations.get_mut(&conversation) else {
            return;
        };
        if conv.xfr_pending || conv.sb.is_some() {
            return;
        }
        let Some(ns) = self.ns.as_mut() else { return };
        if ns
            .handle_request(NsRequest::RequestSwitchboard { tag: conversation }, now)
            .is_ok()
        {
            conv.xfr_pending = true;
        }
    }

    fn close_all_switchboards(&mut self) {
        for conn in self.sbs.values_mut() {
            conn.sb.leave();
        }
    }

    /// Sends the invitation messages of file transfers, each in the one-to-one conversation
    /// with its contact (msnftp.md §2.1); returns whether there were any.
    fn send_transfer_messages(&mut self, now: Instant) -> bool {
        let outbox = self.transfers.take_outbox();
        let any = !outbox.is_empty();
        for out in outbox {
            let conversation = self.conversation_with(&out.to);
            let message = Outgoing {
                id: out.id,
                ack: AckMode::NakOnly,
                payload: out.payload,
                resends: 0,
                queued: None,
            };
            self.send_in(conversation, message, now);
        }
        any
    }

    /// Moves bytes out of the machines and handles their events until nothing is left.
    async fn pump(&mut self) {
        for _ in 0..64 {
            let mut progressed = self.send_transfer_messages(Instant::now());
            if let Some(ns) = self.ns.as_mut() {
                while let Some(bytes) = ns.poll_transmit() {
                    progressed = true;
                    if let Some(w) = self.ns_writer.as_mut() {
                        if let Err(e) = w.write_all(&bytes).await {
                            ns.handle_closed(&e.to_string());
                            self.ns_writer = None;
                        }
                    }
                }
            }
            let mut ns_events = Vec::new();
            if let Some(ns) = self.ns.as_mut() {
                while let Some(e) = ns.poll_event() {
                    ns_events.push(e);
                }
            }
            for e in ns_events {
                progressed = true;
                self.handle_ns_event(e);
            }
            let ids: Vec<ConnId> = self.sbs.keys().copied().collect();
            for id in ids {
                let mut events = Vec::new();
                if let Some(conn) = self.sbs.get_mut(&id) {
                    while let Some(bytes) = conn.sb.poll_transmit() {
                        progressed = true;
                        if let Some(w) = conn.writer.as_mut() {
                            if w.write_all(&bytes).await.is_err() {
                                conn.writer = None;
                                conn.sb.handle_closed(Instant::now());
                            }
                        }
                    }
                    while let Some(e) = conn.sb.poll_event() {
                        events.push(e);
                    }
                }
                for e in events {
                    progressed = true;
                    self.handle_sb_event(id, e);
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn handle_ns_event(&mut self, event: NsEvent) {
        let now = Instant::now();
        match &event {
            NsEvent::Redirect { address } => {
                let address = address.clone();
                self.connect_ns(address, true);
                return;
            }
            NsEvent::SignedIn { .. } => {
                self.backoff = BACKOFF_START;
                self.attempt = 0;
                self.ticket_retried = false;
            }
            NsEvent::PassportNeeded { challenge } => {
                if let Some(id) = self.ns_conn {
                    let tx = self.inputs.clone();
                    spawn_ticket(
                        &mut self.passport,
                        &self.config,
                        challenge.clone(),
                        move |r| {
                            let _ = tx.send(Input::Passport(id, r));
                        },
                    );
                }
            }
            NsEvent::OwnStatus(_) if !self.online => {
                self.online = true;
                let waiting: Vec<ConversationId> = self
                    .conversations
                    .iter()
                    .filter(|(_, c)| !c.queue.is_empty())
                    .map(|(id, _)| *id)
                    .collect();
                for id in waiting {
                    self.open_switchboard(id, now);
                }
            }
            NsEvent::Invited {
                session_id,
                address,
                cookie,
                inviter,
                ..
            } => {
                // Join, and attach to the existing one-to-one conversation with the inviter if
                // any (switchboard.md §8). A live switchboard of that conversation is kept: when
                // both sides open one at the same moment, leaving ours would make each side drop
                // the other's in turn. Sending follows the switchboard that last received.
                let conversation = self.conversation_with(inviter);
                let id = self.conn_id();
                let sb = Switchboard::incoming(&self.config.account, cookie, session_id, now);
                self.sbs.insert(
                    id,
                    SbConn {
                        sb,
                        writer: None,
                        conversation,
                        local: None,
                    },
                );
                let live = |sb: Option<ConnId>| {
                    sb.and_then(|old| self.sbs.get(&old))
                        .is_some_and(|c| !c.sb.is_closed())
                };
                if let Some(conv) = self.conversations.get_mut(&conversation) {
                    if !live(conv.sb) {
                        conv.sb = Some(id);
                    }
                }
                self.connect(id, address.clone());
            }
            NsEvent::SwitchboardReady {
                tag,
                address,
                cookie,
            } => {
                let conversation = *tag;
                if let Some(conv) = self.conversations.get_mut(&conversation) {
                    conv.xfr_pending = false;
                    let id = self.next_conn;
                    self.next_conn += 1;
                    let sb = Switchboard::outgoing(
                        &self.config.account,
                        cookie,
                        conv.participants.clone(),
                        now,
                    );
                    conv.sb = Some(id);
                    let queued: Vec<Outgoing> = conv.queue.drain(..).collect();
                    let mut conn = SbConn {
                        sb,
                        writer: None,
                        conversation,
                        local: None,
                    };
                    for out in queued {
                        conv.resends.insert(out.id, out.resends);
                        conn.sb.send_message(out.id, out.ack, out.payload, now);
                    }
                    self.sbs.insert(id, conn);
                    self.connect(id, address.clone());
                }
            }
            NsEvent::SwitchboardFailed { tag, error } => {
                if let Some(conv) = self.conversations.get_mut(tag) {
                    conv.xfr_pending = false;
                    let failed: Vec<u64> = conv.queue.drain(..).map(|o| o.id).collect();
                    for id in failed {
                        self.emit(Event::MessageFailed {
                            id,
                            reason: format!("could not open a conversation: {error}"),
                        });
                    }
                }
            }
            NsEvent::ServerMessage { payload } => {
                if let Payload::Profile(profile) = Payload::parse(payload) {
                    self.transfers.set_client_ip(profile.client_ipv4());
                }
            }
            NsEvent::LoginFailed(error) => {
                if error.is_transient() {
                    self.schedule_reconnect(error.to_string());
                } else if *error == LoginError::TicketRejected && !self.ticket_retried {
                    // msnp8.md §3.7: a refused ticket has usually expired: one more sign-in.
                    self.ticket_retried = true;
                    self.schedule_reconnect(error.to_string());
                } else {
                    // Wrong password and the like: never retry on our own.
                    self.fail_queued("not signed in");
                }
            }
            NsEvent::ConnectionLost { reason } => {
                let reason = reason.clone();
                self.emit(Event::Ns(event));
                self.lost(reason);
                return;
            }
            NsEvent::SignedOut(reason) => match reason {
                SignOutReason::User => {}
                SignOutReason::OtherLocation => {
                    self.keep_cache();
                    self.close_all_switchboards();
                    self.fail_queued("signed in from another location");
                }
                SignOutReason::ServerShutdown | SignOutReason::Other(_) => {
                    let text = format!("{reason:?}");
                    self.emit(Event::Ns(event));
                    self.lost(text);
                    return;
                }
            },
            _ => {}
        }
        self.emit(Event::Ns(event));
    }

    fn keep_cache(&mut self) {
        if let Some(ns) = self.ns.as_ref() {
            if ns.contact_list().version > 0 {
                self.config.cache = Some(ns.contact_list().clone());
            }
            if ns.status().is_settable() {
                self.config.initial_status = ns.status().clone();
            }
        }
    }

    /// The notification connection is gone: keep the lists and status, close the switchboards
    /// (their unsent messages wait for the next session), and reconnect with backoff.
    fn lost(&mut self, reason: String) {
        self.keep_cache();
        self.online = false;
        let now = Instant::now();
        let ids: Vec<ConnId> = self.sbs.keys().copied().collect();
        for id in ids {
            if let Some(conn) = self.sbs.get_mut(&id) {
                conn.sb.handle_closed(now);
            }
        }
        for conv in self.conversations.values_mut() {
            conv.xfr_pending = false;
        }
        self.schedule_reconnect(reason);
    }

    fn schedule_reconnect(&mut self, reason: String) {
        let delay = self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        self.reconnect_at = Some(Instant::now() + delay);
        self.emit(Event::Reconnecting {
            retry_in_secs: delay.as_secs(),
            reason,
        });
    }

    fn fail_queued(&mut self, reason: &str) {
        let mut failed = Vec::new();
        for conv in self.conversations.values_mut() {
            failed.extend(conv.queue.drain(..).map(|o| o.id));
        }
        for id in failed {
            self.emit(Event::MessageFailed {
                id,
                reason: reason.to_string(),
            });
        }
    }

    fn handle_sb_event(&mut self, id: ConnId, event: SbEvent) {
        let now = Instant::now();
        let Some(conversation) = self.sbs.get(&id).map(|c| c.conversation) else {
            return;
        };
        match event {
            SbEvent::Ready => {}
            SbEvent::Roster { participants } => {
                for (account, name) in participants {
                    self.joined(conversation, account, name.decode());
                }
            }
            SbEvent::Joined { account, name } => self.joined(conversation, account, name.decode()),
            SbEvent::Left { account, .. } => {
                // Someone who left a group is not called again by its next switchboard; the
                // last one stays, so the conversation still has somebody to call.
                if let Some(conv) = self.conversations.get_mut(&conversation) {
                    if conv.participants.len() > 1 {
                        conv.participants
                            .retain(|p| !p.eq_ignore_ascii_case(&account));
                    }
                }
                self.emit(Event::Left {
                    conversation,
                    account,
                })
            }
            SbEvent::Message {
                from,
                name,
                payload,
            } => {
                let (others, local) = self
                    .sbs
                    .get(&id)
                    .map_or((0, None), |c| (c.sb.participants().len(), c.local));
                if let Some(conv) = self.conversations.get_mut(&conversation) {
                    conv.sb = Some(id);
                }
                let invitation =
                    self.transfers
                        .handle_message(conversation, &from, &payload, others, local);
                if !invitation {
                    self.emit(Event::Message {
                        conversation,
                        from,
                        name,
                        payload,
                    });
                }
            }
            SbEvent::Delivered { id } => self.emit(Event::MessageDelivered { id }),
            SbEvent::Failed { id, reason } => self.emit(Event::MessageFailed {
                id,
                reason: format!("{reason:?}"),
            }),
            SbEvent::CallFailed { account, error } => {
                let reason = match error {
                    Some(e) => e.to_string(),
                    None => "did not answer".to_string(),
                };
                self.emit(Event::CallFailed {
                    conversation,
                    account,
                    reason,
                });
            }
            SbEvent::AuthFailed => {}
            SbEvent::Closed { .. } => {
                let Some(mut conn) = self.sbs.remove(&id) else {
                    return;
                };
                let unresolved = conn.sb.take_unresolved();
                let Some(conv) = self.conversations.get_mut(&conversation) else {
                    for (mid, _, _) in unresolved {
                        self.emit(Event::MessageFailed {
                            id: mid,
                            reason: "the conversation was closed".into(),
                        });
                    }
                    return;
                };
                if conv.sb == Some(id) {
                    conv.sb = None;
                }
                // switchboard.md §8: re-send a one-to-one conversation's messages through a new
                // switchboard, at most once per message.
                let mut resend = Vec::new();
                let mut failed = Vec::new();
                for (mid, ack, payload) in unresolved {
                    let count = conv.resends.remove(&mid).unwrap_or(0);
                    if conv.with.is_some() && count < MAX_RESENDS {
                        resend.push(Outgoing {
                            id: mid,
                            ack,
                            payload,
                            resends: count + 1,
                            queued: None,
                        });
                    } else {
                        failed.push(mid);
                    }
                }
                for mid in failed {
                    self.emit(Event::MessageFailed {
                        id: mid,
                        reason: "the conversation ended before delivery".into(),
                    });
                }
                for out in resend {
                    self.send_in(conversation, out, now);
                }
            }
        }
    }

    fn joined(&mut self, conversation: ConversationId, account: String, name: String) {
        if let Some(conv) = self.conversations.get_mut(&conversation) {
            if !conv
                .participants
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&account))
            {
                conv.participants.push(account.clone());
            }
            if conv.participants.len() > 1 {
                conv.with = None;
            }
        }
        self.emit(Event::Joined {
            conversation,
            account,
            name,
        });
    }
}
