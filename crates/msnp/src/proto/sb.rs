//! The client side of one switchboard connection (switchboard.md): authentication, invitations,
//! the participant list, message delivery tracking and leaving, as a pure sans-IO state machine.
//!
//! A [`Switchboard`] is driven in the quinn-proto shape: the caller feeds it what happened
//! ([`Switchboard::handle_connected`], [`Switchboard::handle_input`],
//! [`Switchboard::handle_closed`], [`Switchboard::handle_timeout`]) and what the user wants
//! ([`Switchboard::send_message`], [`Switchboard::invite`], [`Switchboard::leave`]), and pulls
//! bytes to write ([`Switchboard::poll_transmit`]), [`SbEvent`]s to report
//! ([`Switchboard::poll_event`]) and the next deadline ([`Switchboard::poll_timeout`]). Time is
//! always passed in; nothing here reads a clock or touches a socket.
//!
//! # Message delivery
//!
//! Every message given to [`Switchboard::send_message`] ends in exactly one of these ways:
//!
//! * refused at once with [`SbEvent::Failed`] ([`FailReason::TooLarge`] for a payload over
//!   [`MAX_SB_MSG_PAYLOAD`] bytes, which is never sent; [`FailReason::Closed`] when the switchboard
//!   is already closed);
//! * resolved while the connection is open: [`SbEvent::Delivered`] (`ACK`, or for mode `N` the
//!   [`NAK_GRACE`] elapsing without `NAK`) or [`SbEvent::Failed`] (`NAK`, an error line, no `ACK`
//!   within [`ACK_TIMEOUT`], or every invitation failing while the message waits for a first
//!   participant);
//! * still unresolved when the connection closes (for any reason, [`Switchboard::leave`]
//!   included): **no per-message event is emitted**. [`SbEvent::Closed`] is the signal; the caller
//!   then takes the messages out with [`Switchboard::take_unresolved`] and decides whether to
//!   re-send them through a new switchboard or to report them as failed. Messages left in a
//!   closed switchboard are never reported otherwise, so the caller must call it after `Closed`.
//!
//! Mode `U` messages are fire and forget: they produce no event at all (except the immediate
//! refusals above), and when they cannot be sent (still queued when the connection closes or
//! every invitation fails) they are dropped rather than returned by `take_unresolved`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::codec::{Decoder, Direction, Limits, MAX_SB_MSG_PAYLOAD};
use super::command::{AckMode, ClientCommand, ServerCommand, TrId};
use super::error::ServerError;
use super::names::WireName;

/// How long a mode `A` (or `D`) message waits for `ACK`/`NAK` before it is reported failed.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a mode `N` message waits for a `NAK` before it is considered delivered.
pub const NAK_GRACE: Duration = Duration::from_secs(10);
/// How long an invitee may take to `JOI` after `CAL … RINGING` before the call is given up.
pub const JOI_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `USR`/`ANS` and `CAL` may wait for their first reply before they are given up.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a message was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// The payload is larger than [`MAX_SB_MSG_PAYLOAD`] bytes; it was never sent.
    TooLarge,
    /// The server answered `NAK`.
    Nak,
    /// No `ACK` arrived within [`ACK_TIMEOUT`].
    AckTimeout,
    /// The message waited for a first participant, but every invitation failed or timed out.
    NobodyJoined,
    /// The server answered the `MSG` with a numeric error.
    Server(ServerError),
    /// [`Switchboard::send_message`] was called on a closed switchboard.
    Closed,
}

/// Something the owner of a [`Switchboard`] must know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SbEvent {
    /// Authentication succeeded (`USR … OK` or `ANS … OK`); the session is usable.
    Ready,
    /// The participants already present when we joined (the `IRO` lines), sent after `ANS OK`.
    Roster {
        /// Account and wire name of every participant listed, in the server's order.
        participants: Vec<(String, WireName)>,
    },
    /// A participant joined (`JOI`).
    Joined {
        /// The participant's account.
        account: String,
        /// The participant's display name as sent (may be stale).
        name: WireName,
    },
    /// A participant left (`BYE`).
    Left {
        /// The participant's account.
        account: String,
        /// `BYE account 1`: the participant was disconnected rather than leaving by choice.
        timed_out: bool,
    },
    /// A message from a participant (`MSG account name len` + payload).
    Message {
        /// The sender's account.
        from: String,
        /// The sender's display name as sent.
        name: WireName,
        /// The MIME payload, unparsed.
        payload: Vec<u8>,
    },
    /// A message was delivered (`ACK`, or mode `N` without `NAK` for [`NAK_GRACE`]).
    Delivered {
        /// The caller's id given to [`Switchboard::send_message`].
        id: u64,
    },
    /// A message was not delivered (see the module documentation for when this is emitted).
    Failed {
        /// The caller's id given to [`Switchboard::send_message`].
        id: u64,
        /// Why.
        reason: FailReason,
    },
    /// An invitation failed: a numeric error answered `CAL`, or (error `None`) nobody answered
    /// the `CAL` within [`REPLY_TIMEOUT`] or the invitee did not join within [`JOI_TIMEOUT`].
    CallFailed {
        /// The account that was invited.
        account: String,
        /// The server's error, if one was sent.
        error: Option<ServerError>,
    },
    /// `911` answered `USR`/`ANS`: the cookie was refused. [`SbEvent::Closed`] follows.
    AuthFailed,
    /// The session is over; nothing more will be sent or reported (except queued bytes still to
    /// be written, such as a final `OUT`). Call [`Switchboard::take_unresolved`] next.
    Closed {
        /// A description of the protocol or server error that ended it, if any.
        error: Option<String>,
    },
}

/// How we enter the session.
#[derive(Debug)]
enum Role {
    /// After `XFR SB`: `USR account cookie`, then `CAL` each invitee.
    Outgoing,
    /// After `RNG`: `ANS account cookie session-id`.
    Incoming,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the TCP connection.
    Connecting,
    /// `USR`/`ANS` sent with this TrID; waiting for `OK`.
    Authenticating { trid: TrId, deadline: Instant },
    /// Authenticated.
    Ready,
    /// Over.
    Closed,
}

/// A message the caller handed in.
#[derive(Debug)]
struct Outgoing {
    /// Order of arrival, so unresolved messages come back in the caller's order.
    seq: u64,
    id: u64,
    ack: AckMode,
    payload: Vec<u8>,
}

/// A sent message awaiting resolution (modes A, D and N only).
#[derive(Debug)]
struct InFlight {
    trid: TrId,
    msg: Outgoing,
    deadline: Instant,
}

/// A `CAL` sent and not yet answered, or answered `RINGING` and waiting for `JOI`.
#[derive(Debug)]
struct Call {
    trid: TrId,
    account: String,
    ringing: bool,
    deadline: Instant,
}

/// The client side of one switchboard connection. See the module documentation.
#[derive(Debug)]
pub struct Switchboard {
    role: Role,
    account: String,
    cookie: String,
    session_id: Option<String>,
    phase: Phase,
    next_trid: TrId,
    next_seq: u64,
    decoder: Decoder,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<SbEvent>,
    participants: Vec<(String, WireName)>,
    /// `IRO` lines received before `ANS OK`.
    roster: Vec<(String, WireName)>,
    /// Invitations asked for before authentication, sent after it.
    pending_invites: Vec<String>,
    calls: Vec<Call>,
    /// Messages waiting for authentication or for a first participant.
    queued: VecDeque<Outgoing>,
    in_flight: Vec<InFlight>,
}

impl Switchboard {
    /// After XFR SB: we authenticate with USR and invite `invitees` with CAL.
    pub fn outgoing(account: &str, cookie: &str, invitees: Vec<String>, now: Instant) -> Self {
        let _ = now;
        let mut sb = Switchboard::new(Role::Outgoing, account, cookie, None);
        sb.pending_invites = invitees;
        sb
    }

    /// After RNG: we join with ANS.
    pub fn incoming(account: &str, cookie: &str, session_id: &str, now: Instant) -> Self {
        let _ = now;
        Switchboard::new(
            Role::Incoming,
            account,
            cookie,
            Some(session_id.to_string()),
        )
    }

    fn new(role: Role, account: &str, cookie: &str, session_id: Option<String>) -> Self {
        Switchboard {
            role,
            account: account.to_string(),
            cookie: cookie.to_string(),
            session_id,
            phase: Phase::Connecting,
            next_trid: 1,
            next_seq: 0,
            decoder: Decoder::new(Direction::FromServer, Limits::CLIENT),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            participants: Vec::new(),
            roster: Vec::new(),
            pending_invites: Vec::new(),
            calls: Vec::new(),
            queued: VecDeque::new(),
            in_flight: Vec::new(),
        }
    }

    /// The TCP connection is up: queues `USR` (outgoing) or `ANS` (incoming).
    pub fn handle_connected(&mut self, now: Instant) {
        if self.phase != Phase::Connecting {
            return;
        }
        let trid = self.take_trid();
        let cmd = match self.role {
            Role::Outgoing => ClientCommand::UsrSb {
                trid,
                account: self.account.clone(),
                cookie: self.cookie.clone(),
            },
            Role::Incoming => ClientCommand::Ans {
                trid,
                account: self.account.clone(),
                cookie: self.cookie.clone(),
                session_id: self.session_id.clone().unwrap_or_default(),
            },
        };
        self.transmit.push_back(cmd.to_bytes());
        self.phase = Phase::Authenticating {
            trid,
            deadline: now + REPLY_TIMEOUT,
        };
    }

    /// Feeds bytes received from the server (any split).
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        self.decoder.feed(bytes);
        while self.phase != Phase::Closed {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => {
                    // Malformed known commands are ignored like unknown ones (README.md,
                    // Robustness): only framing errors end the connection.
                    if let Ok(cmd) = ServerCommand::parse(&frame) {
                        self.handle_command(cmd, now);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    self.close(Some(format!("protocol error: {e}")));
                    break;
                }
            }
        }
    }

    /// The TCP connection closed (by the server or the network).
    pub fn handle_closed(&mut self, now: Instant) {
        let _ = now;
        if self.phase == Phase::Closed {
            return;
        }
        let error = self
            .decoder
            .finish()
            .err()
            .map(|e| format!("protocol error: {e}"));
        self.close(error);
    }

    /// Processes every deadline at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Phase::Authenticating { deadline, .. } = self.phase {
            if deadline <= now {
                self.close(Some(
                    "the switchboard did not answer the sign-in".to_string(),
                ));
            }
        }
        if self.phase == Phase::Closed {
            return;
        }
        // Messages, in the order they were sent.
        let (expired, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|m| m.deadline <= now);
        self.in_flight = kept;
        for m in expired {
            let event = match m.msg.ack {
                AckMode::NakOnly => SbEvent::Delivered { id: m.msg.id },
                _ => SbEvent::Failed {
                    id: m.msg.id,
                    reason: FailReason::AckTimeout,
                },
            };
            self.events.push_back(event);
        }
        // Invitations, in the order they were made.
        let (expired, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.calls)
            .into_iter()
            .partition(|c| c.deadline <= now);
        self.calls = kept;
        self.calls_failed(expired.into_iter().map(|c| (c.account, None)).collect());
    }

    /// The next bytes to write to the connection.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next event to report.
    pub fn poll_event(&mut self) -> Option<SbEvent> {
        self.events.pop_front()
    }

    /// The earliest deadline at which [`Switchboard::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let auth = match self.phase {
            Phase::Authenticating { deadline, .. } => Some(deadline),
            Phase::Closed => return None,
            Phase::Connecting | Phase::Ready => None,
        };
        auth.into_iter()
            .chain(self.in_flight.iter().map(|m| m.deadline))
            .chain(self.calls.iter().map(|c| c.deadline))
            .min()
    }

    /// Queues a message payload (already-built MIME bytes). Sent at once when someone is in the
    /// session, else queued until the next `JOI` (switchboard.md §4.4). `id` is the caller's id,
    /// echoed in [`SbEvent::Delivered`] / [`SbEvent::Failed`]. A payload over
    /// [`MAX_SB_MSG_PAYLOAD`] bytes is refused at once with [`FailReason::TooLarge`].
    pub fn send_message(&mut self, id: u64, ack: AckMode, payload: Vec<u8>, now: Instant) {
        if payload.len() > MAX_SB_MSG_PAYLOAD {
            self.events.push_back(SbEvent::Failed {
                id,
                reason: FailReason::TooLarge,
            });
            return;
        }
        if self.phase == Phase::Closed {
            self.events.push_back(SbEvent::Failed {
                id,
                reason: FailReason::Closed,
            });
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let msg = Outgoing {
            seq,
            id,
            ack,
            payload,
        };
        if self.can_send_messages() && self.queued.is_empty() {
            self.transmit_message(msg, now);
        } else {
            self.queued.push_back(msg);
        }
    }

    /// Invites another participant with `CAL` (after authentication; queued until then).
    /// On a closed switchboard this reports [`SbEvent::CallFailed`] at once.
    pub fn invite(&mut self, account: &str, now: Instant) {
        match self.phase {
            Phase::Closed => self.events.push_back(SbEvent::CallFailed {
                account: account.to_string(),
                error: None,
            }),
            Phase::Ready => self.send_cal(account.to_string(), now),
            Phase::Connecting | Phase::Authenticating { .. } => {
                self.pending_invites.push(account.to_string())
            }
        }
    }

    /// Leaves the session: queues `OUT` (only once authenticated; nothing else may be sent
    /// before) and closes. [`SbEvent::Closed`] follows; write the remaining bytes, then close the
    /// socket.
    pub fn leave(&mut self) {
        if self.phase == Phase::Closed {
            return;
        }
        if self.phase == Phase::Ready {
            self.transmit.push_back(ClientCommand::Out.to_bytes());
        }
        self.close(None);
    }

    /// The other participants currently in the session, in order of arrival.
    pub fn participants(&self) -> Vec<(String, WireName)> {
        self.participants.clone()
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// The session id: given by `RNG` for incoming sessions, learnt from `CAL … RINGING` for
    /// outgoing ones.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// Messages not yet resolved (queued or in flight), taken out for re-sending through a new
    /// switchboard after a close: returns (id, ack, payload) in the order they were given to
    /// [`Switchboard::send_message`] and forgets them (no event will ever mention them again).
    /// Mode `U` messages are never returned (see the module documentation).
    pub fn take_unresolved(&mut self) -> Vec<(u64, AckMode, Vec<u8>)> {
        let mut all: Vec<Outgoing> = self.queued.drain(..).collect();
        all.extend(self.in_flight.drain(..).map(|m| m.msg));
        all.sort_by_key(|m| m.seq);
        all.into_iter()
            .filter(|m| m.ack != AckMode::Unacknowledged)
            .map(|m| (m.id, m.ack, m.payload))
            .collect()
    }

    fn take_trid(&mut self) -> TrId {
        let trid = self.next_trid;
        // Wrapping is not a practical concern (README.md); never use 0.
        self.next_trid = self.next_trid.checked_add(1).unwrap_or(1);
        trid
    }

    fn can_send_messages(&self) -> bool {
        self.phase == Phase::Ready && !self.participants.is_empty()
    }

    fn close(&mut self, error: Option<String>) {
        if self.phase == Phase::Closed {
            return;
        }
        self.phase = Phase::Closed;
        self.calls.clear();
        self.pending_invites.clear();
        // Unsent fire-and-forget messages are dropped; the rest wait for take_unresolved().
        self.queued.retain(|m| m.ack != AckMode::Unacknowledged);
        self.events.push_back(SbEvent::Closed { error });
    }

    fn transmit_message(&mut self, msg: Outgoing, now: Instant) {
        let trid = self.take_trid();
        let cmd = ClientCommand::Msg {
            trid,
            ack: msg.ack,
            payload: msg.payload.clone(),
        };
        self.transmit.push_back(cmd.to_bytes());
        let deadline = match msg.ack {
            AckMode::Unacknowledged => return,
            AckMode::NakOnly => now + NAK_GRACE,
            AckMode::Acknowledged | AckMode::Data => now + ACK_TIMEOUT,
        };
        self.in_flight.push(InFlight {
            trid,
            msg,
            deadline,
        });
    }

    fn flush_queue(&mut self, now: Instant) {
        while self.can_send_messages() {
            let Some(msg) = self.queued.pop_front() else {
                break;
            };
            self.transmit_message(msg, now);
        }
    }

    fn send_cal(&mut self, account: String, now: Instant) {
        let trid = self.take_trid();
        self.transmit.push_back(
            ClientCommand::Cal {
                trid,
                account: account.clone(),
            }
            .to_bytes(),
        );
        self.calls.push(Call {
            trid,
            account,
            ringing: false,
            deadline: now + REPLY_TIMEOUT,
        });
    }

    /// Reports failed invitations; when nobody is left to deliver queued messages to, fails
    /// them too (switchboard.md §4.4).
    fn calls_failed(&mut self, failures: Vec<(String, Option<ServerError>)>) {
        if failures.is_empty() {
            return;
        }
        for (account, error) in failures {
            self.events
                .push_back(SbEvent::CallFailed { account, error });
        }
        if self.participants.is_empty() && self.calls.is_empty() && self.pending_invites.is_empty()
        {
            for msg in std::mem::take(&mut self.queued) {
                if msg.ack != AckMode::Unacknowledged {
                    self.events.push_back(SbEvent::Failed {
                        id: msg.id,
                        reason: FailReason::NobodyJoined,
                    });
                }
            }
        }
    }

    fn authenticated(&mut self, now: Instant) {
        self.phase = Phase::Ready;
        self.events.push_back(SbEvent::Ready);
        if matches!(self.role, Role::Incoming) {
            self.participants = std::mem::take(&mut self.roster);
            self.events.push_back(SbEvent::Roster {
                participants: self.participants.clone(),
            });
        }
        for account in std::mem::take(&mut self.pending_invites) {
            self.send_cal(account, now);
        }
        self.flush_queue(now);
    }

    fn auth_trid(&self) -> Option<TrId> {
        match self.phase {
            Phase::Authenticating { trid, .. } => Some(trid),
            _ => None,
        }
    }

    fn handle_command(&mut self, cmd: ServerCommand, now: Instant) {
        match cmd {
            ServerCommand::UsrOk { trid, .. }
                if matches!(self.role, Role::Outgoing) && self.auth_trid() == Some(trid) =>
            {
                self.authenticated(now)
            }
            ServerCommand::AnsOk { trid }
                if matches!(self.role, Role::Incoming) && self.auth_trid() == Some(trid) =>
            {
                self.authenticated(now)
            }
            ServerCommand::Iro {
                trid,
                account,
                name,
                ..
            } if matches!(self.role, Role::Incoming) && self.auth_trid() == Some(trid) => {
                upsert(&mut self.roster, account, name)
            }
            ServerCommand::CalRinging { trid, session_id } => {
                if let Some(call) = self.calls.iter_mut().find(|c| c.trid == trid && !c.ringing) {
                    call.ringing = true;
                    call.deadline = now + JOI_TIMEOUT;
                    if self.session_id.is_none() {
                        self.session_id = Some(session_id);
                    }
                }
            }
            ServerCommand::Joi { account, name, .. } => {
                self.calls
                    .retain(|c| !c.account.eq_ignore_ascii_case(&account));
                upsert(&mut self.participants, account.clone(), name.clone());
                self.events.push_back(SbEvent::Joined { account, name });
                self.flush_queue(now);
            }
            ServerCommand::Bye { account, reason } => {
                let before = self.participants.len();
                self.participants
                    .retain(|(a, _)| !a.eq_ignore_ascii_case(&account));
                if self.participants.len() != before {
                    self.events.push_back(SbEvent::Left {
                        account,
                        timed_out: reason.as_deref() == Some("1"),
                    });
                }
            }
            ServerCommand::Msg {
                sender,
                sender_name,
                payload,
            } => self.events.push_back(SbEvent::Message {
                from: sender,
                name: sender_name,
                payload,
            }),
            ServerCommand::Ack { trid } => self.resolve(trid, None),
            ServerCommand::Nak { trid } => self.resolve(trid, Some(FailReason::Nak)),
            ServerCommand::Error {
                error,
                trid: Some(trid),
            } => self.handle_error(error, trid),
            // Unknown commands, errors without a TrID and lines a client never receives on a
            // switchboard are ignored.
            _ => {}
        }
    }

    fn handle_error(&mut self, error: ServerError, trid: TrId) {
        if self.auth_trid() == Some(trid) {
            let text = if error == ServerError::AuthenticationFailed {
                self.events.push_back(SbEvent::AuthFailed);
                "the switchboard refused the cookie (911)".to_string()
            } else {
                format!("{} ({})", error.message(), error.code())
            };
            self.close(Some(text));
        } else if let Some(pos) = self.calls.iter().position(|c| c.trid == trid) {
            let call = self.calls.remove(pos);
            self.calls_failed(vec![(call.account, Some(error))]);
        } else {
            self.resolve(trid, Some(FailReason::Server(error)));
        }
    }

    /// Resolves the in-flight message with this TrID: delivered when `failure` is `None`.
    fn resolve(&mut self, trid: TrId, failure: Option<FailReason>) {
        let Some(pos) = self.in_flight.iter().position(|m| m.trid == trid) else {
            return;
        };
        let id = self.in_flight.remove(pos).msg.id;
        self.events.push_back(match failure {
            None => SbEvent::Delivered { id },
            Some(reason) => SbEvent::Failed { id, reason },
        });
    }
}

/// Adds a participant, or updates the name of one already listed.
fn upsert(list: &mut Vec<(String, WireName)>, account: String, name: WireName) {
    match list
        .iter_mut()
        .find(|(a, _)| a.eq_ignore_ascii_case(&account))
    {
        Some(entry) => entry.1 = name,
        None => list.push((account, name)),
    }
}
