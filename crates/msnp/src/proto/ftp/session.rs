//! The MSNFTP direct-connection state machines (msnftp.md §3, §5.4, §5.5): [`Receiver`] and
//! [`Sender`], sans-IO in the quinn-proto shape. Bytes and time go in; bytes to write, events and
//! deadlines come out. The roles follow sender/receiver, not who opened the TCP connection.
//!
//! Driving either machine: after every `handle_*` call or request, write out everything
//! `poll_transmit` returns (each `Vec` whole, in order), handle every `poll_event`, arm a timer
//! for `poll_timeout`, and close the socket once `is_closed` is true and nothing is left to write.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::block::{encode_data_block, Block, BlockDecoder, BlockError, END_BLOCK, MAX_BLOCK_DATA};
use super::command::{ByeCode, CommandError, FtpCommand, LineReader};

/// Limit for each line of the handshake (`VER` … `TFR`), msnftp.md §5.5.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Receiver: longest time without any data byte during the transfer.
pub const DATA_TIMEOUT: Duration = Duration::from_secs(60);
/// Sender: longest time without write progress (the peer does not read).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// Sender: how long to wait for `BYE` after the last block.
pub const BYE_TIMEOUT: Duration = Duration::from_secs(60);
/// Sender: most file bytes asked for at once with [`FtpEvent::NeedData`] (16 full blocks).
pub const SEND_WINDOW: usize = 16 * MAX_BLOCK_DATA;

/// Which time limit of msnftp.md §5.5 ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// A handshake line (`VER`, `USR`, `FIL`, `TFR`) did not come within 30 s.
    Handshake,
    /// Receiver: no data byte for 60 s (`BYE 2164261694` was sent).
    NoData,
    /// Sender: no write progress for 60 s.
    WriteStalled,
}

/// Why a transfer failed. Every failure before `TFR` should lead the caller to send `CANCEL`
/// `FTTIMEOUT` on the switchboard (msnftp.md §5.4, §5.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FtpError {
    /// The peer's `VER` line is missing, malformed, or does not list `MSNFTP`.
    #[error("the peer does not speak MSNFTP")]
    BadVersion,
    /// Sender: the `USR` line names another account or carries a wrong auth cookie.
    #[error("a connection from an unexpected computer was refused")]
    AuthRejected,
    /// Receiver: `FIL` is not a plain decimal number or differs from the accepted size.
    #[error("the peer announced {got:?} bytes instead of {expected}")]
    SizeMismatch {
        /// The size accepted in the invitation.
        expected: u64,
        /// What the `FIL` line said.
        got: String,
    },
    /// Receiver: a block would take the total beyond the announced size (`CCL` was sent).
    #[error("the peer sent more data than announced ({len}-byte block, {remaining} bytes left)")]
    TooMuchData {
        /// Length of the offending block.
        len: usize,
        /// Bytes that were still expected.
        remaining: u64,
    },
    /// Receiver: an invalid block (bad flag).
    #[error("invalid data block: {0}")]
    Block(BlockError),
    /// An unreadable line (too long, not ASCII, missing parameter).
    #[error("invalid line: {0}")]
    Command(CommandError),
    /// A line that is not allowed at this point.
    #[error("unexpected line {0:?}")]
    UnexpectedCommand(String),
    /// A time limit ran out.
    #[error("time-out ({0:?})")]
    Timeout(TimeoutKind),
    /// The connection closed before the transfer was complete.
    #[error("the connection was lost")]
    ConnectionLost,
    /// Sender: the receiver ended with a failing `BYE` (`None`: `BYE` without a number).
    #[error("the file transfer failed (code {})", .0.map_or_else(|| "none".to_owned(), |c| c.to_string()))]
    PeerBye(Option<ByeCode>),
    /// Receiver: the file could not be stored (`BYE 2147942405` was sent).
    #[error("the file could not be written")]
    StorageFailed,
    /// Sender: the file could not be read (`01 00 00` was sent).
    #[error("the file could not be read")]
    ReadFailed,
    /// Sender: the file no longer has the announced size (`01 00 00` was sent).
    #[error("the file changed size since it was offered")]
    FileSizeChanged,
}

/// What a state machine reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FtpEvent {
    /// The handshake is over: data blocks flow from now on.
    Started,
    /// Receiver: file bytes to append to the partial file, in order.
    Data(Vec<u8>),
    /// Data bytes received (receiver) or handed out for writing (sender) so far.
    Progress {
        /// Bytes so far.
        transferred: u64,
        /// The announced size.
        total: u64,
    },
    /// Receiver: every byte has arrived. Flush and close the file, then call
    /// [`Receiver::file_stored`] (or [`Receiver::storage_failed`]).
    AllDataReceived,
    /// Sender: read up to `max` next bytes of the file and pass them to [`Sender::provide_data`].
    NeedData {
        /// Most bytes wanted.
        max: usize,
    },
    /// The transfer succeeded (receiver: `BYE 16777989` was queued; sender: it was read).
    Completed,
    /// Sender: every block was written but no `BYE` came ("sent, not confirmed", §3.5).
    SentUnconfirmed,
    /// The transfer was cancelled, by the peer or by us.
    Cancelled {
        /// Whether the other side cancelled.
        by_peer: bool,
    },
    /// The transfer failed.
    Failed(FtpError),
}

/// Outgoing bytes, events and the deadline, shared by both machines.
#[derive(Debug, Default)]
struct Out {
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<FtpEvent>,
    deadline: Option<Instant>,
}

impl Out {
    fn line(&mut self, cmd: &FtpCommand) {
        self.transmit.push_back(cmd.to_bytes());
    }
    fn event(&mut self, ev: FtpEvent) {
        self.events.push_back(ev);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecvState {
    AwaitVer,
    AwaitFil,
    Receiving,
    Storing,
    Closed,
}

/// The receiving side of MSNFTP. It writes the first line (`VER MSNFTP`) as soon as it is made.
#[derive(Debug)]
pub struct Receiver {
    account: String,
    cookie: String,
    size: u64,
    received: u64,
    state: RecvState,
    lines: LineReader,
    blocks: BlockDecoder,
    out: Out,
}

impl Receiver {
    /// Starts the receiver once the TCP connection exists (whoever opened it). `account` is our
    /// own account, `auth_cookie` the `AuthCookie` of the listener's `ACCEPT` exactly as
    /// received, `size` the accepted `Application-FileSize`. Queues `VER MSNFTP`.
    pub fn new(
        account: impl Into<String>,
        auth_cookie: impl Into<String>,
        size: u64,
        now: Instant,
    ) -> Self {
        let mut out = Out::default();
        out.line(&FtpCommand::ver_msnftp());
        out.deadline = Some(now + HANDSHAKE_TIMEOUT);
        Self {
            account: account.into(),
            cookie: auth_cookie.into(),
            size,
            received: 0,
            state: RecvState::AwaitVer,
            lines: LineReader::new(),
            blocks: BlockDecoder::new(),
            out,
        }
    }

    /// The announced size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Data bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Whether the machine is finished: close the connection after writing what is queued.
    pub fn is_closed(&self) -> bool {
        self.state == RecvState::Closed
    }

    /// Feeds bytes read from the connection.
    pub fn handle_input(&mut self, data: &[u8], now: Instant) {
        match self.state {
            RecvState::AwaitVer | RecvState::AwaitFil => {
                self.lines.push(data);
                while matches!(self.state, RecvState::AwaitVer | RecvState::AwaitFil) {
                    match self.lines.next_line() {
                        Ok(Some(line)) => self.handle_line(&line, now),
                        Ok(None) => return,
                        Err(e) => return self.fail(FtpError::Command(e), None),
                    }
                }
                if self.state == RecvState::Receiving {
                    // Every byte after the FIL line belongs to a block (§3.1).
                    let rest = self.lines.take_rest();
                    self.handle_blocks(&rest, now);
                }
            }
            RecvState::Receiving => self.handle_blocks(data, now),
            // Once every byte is here, anything else the peer writes (e.g. `01 00 00`) is ignored.
            RecvState::Storing | RecvState::Closed => {}
        }
    }

    fn handle_line(&mut self, line: &[u8], now: Instant) {
        let cmd = match FtpCommand::parse(line) {
            Ok(cmd) => cmd,
            Err(CommandError::InvalidNumber {
                command: "FIL",
                value,
            }) => {
                let err = FtpError::SizeMismatch {
                    expected: self.size,
                    got: value,
                };
                return self.fail(err, Some(FtpCommand::Ccl));
            }
            Err(_) if self.state == RecvState::AwaitVer => {
                return self.fail(FtpError::BadVersion, None);
            }
            Err(e) => return self.fail(FtpError::Command(e), None),
        };
        match (self.state, cmd) {
            (RecvState::AwaitVer, cmd) if cmd.offers_msnftp() => {
                self.out.line(&FtpCommand::Usr {
                    account: self.account.clone(),
                    cookie: self.cookie.clone(),
                });
                self.state = RecvState::AwaitFil;
                self.out.deadline = Some(now + HANDSHAKE_TIMEOUT);
            }
            (RecvState::AwaitVer, _) => self.fail(FtpError::BadVersion, None),
            (RecvState::AwaitFil, FtpCommand::Fil(n)) if n == self.size => {
                self.out.line(&FtpCommand::Tfr);
                self.out.event(FtpEvent::Started);
                if self.size == 0 {
                    self.all_received();
                } else {
                    self.state = RecvState::Receiving;
                    self.out.deadline = Some(now + DATA_TIMEOUT);
                }
            }
            (RecvState::AwaitFil, FtpCommand::Fil(n)) => {
                let err = FtpError::SizeMismatch {
                    expected: self.size,
                    got: n.to_string(),
                };
                self.fail(err, Some(FtpCommand::Ccl));
            }
            (_, cmd) => self.fail(FtpError::UnexpectedCommand(cmd.to_string()), None),
        }
    }

    fn handle_blocks(&mut self, data: &[u8], now: Instant) {
        if !data.is_empty() {
            self.out.deadline = Some(now + DATA_TIMEOUT);
        }
        self.blocks.push(data);
        while self.state == RecvState::Receiving {
            let remaining = self.size.saturating_sub(self.received);
            match self.blocks.next_block(remaining) {
                Ok(None) => return,
                Ok(Some(Block::Data(d))) if d.is_empty() => {}
                Ok(Some(Block::Data(d))) => {
                    self.received += d.len() as u64;
                    self.out.event(FtpEvent::Data(d));
                    self.out.event(FtpEvent::Progress {
                        transferred: self.received,
                        total: self.size,
                    });
                    if self.received >= self.size {
                        self.all_received();
                    }
                }
                Ok(Some(Block::End)) => {
                    self.out
                        .line(&FtpCommand::Bye(Some(ByeCode::SenderCancelled)));
                    self.close(FtpEvent::Cancelled { by_peer: true });
                }
                Err(BlockError::TooLong { len, remaining }) => {
                    let err = FtpError::TooMuchData { len, remaining };
                    self.fail(err, Some(FtpCommand::Ccl));
                }
                Err(e) => self.fail(FtpError::Block(e), Some(FtpCommand::Ccl)),
            }
        }
    }

    fn all_received(&mut self) {
        self.state = RecvState::Storing;
        self.out.deadline = None;
        self.blocks = BlockDecoder::new();
        self.out.event(FtpEvent::AllDataReceived);
    }

    /// Checks the deadline from [`Receiver::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.out.deadline else {
            return;
        };
        if now < deadline {
            return;
        }
        match self.state {
            RecvState::AwaitVer | RecvState::AwaitFil => {
                self.fail(FtpError::Timeout(TimeoutKind::Handshake), None)
            }
            RecvState::Receiving => self.fail(
                FtpError::Timeout(TimeoutKind::NoData),
                Some(FtpCommand::Bye(Some(ByeCode::Timeout))),
            ),
            RecvState::Storing | RecvState::Closed => self.out.deadline = None,
        }
    }

    /// The peer closed the connection (or it broke). Before every byte arrived this is a
    /// failure; after that the transfer can still complete with [`Receiver::file_stored`].
    pub fn handle_closed(&mut self) {
        match self.state {
            RecvState::Storing | RecvState::Closed => {}
            _ => {
                self.out.transmit.clear();
                self.close(FtpEvent::Failed(FtpError::ConnectionLost));
            }
        }
    }

    /// The user cancels: queue `CCL` and close (msnftp.md §3.6).
    pub fn cancel(&mut self) {
        if self.state != RecvState::Closed {
            self.out.line(&FtpCommand::Ccl);
            self.close(FtpEvent::Cancelled { by_peer: false });
        }
    }

    /// The file was flushed and closed after [`FtpEvent::AllDataReceived`]: queue
    /// `BYE 16777989` and report success.
    pub fn file_stored(&mut self) {
        if self.state == RecvState::Storing {
            self.out.line(&FtpCommand::Bye(Some(ByeCode::Success)));
            self.close(FtpEvent::Completed);
        }
    }

    /// Writing the file failed: queue `BYE 2147942405` (or `CCL` before any data) and fail.
    pub fn storage_failed(&mut self) {
        let reply = match self.state {
            RecvState::Closed => return,
            RecvState::Receiving | RecvState::Storing => {
                FtpCommand::Bye(Some(ByeCode::WriteFailed))
            }
            RecvState::AwaitVer | RecvState::AwaitFil => FtpCommand::Ccl,
        };
        self.fail(FtpError::StorageFailed, Some(reply));
    }

    fn fail(&mut self, err: FtpError, reply: Option<FtpCommand>) {
        if let Some(reply) = reply {
            self.out.line(&reply);
        }
        self.close(FtpEvent::Failed(err));
    }

    fn close(&mut self, ev: FtpEvent) {
        self.state = RecvState::Closed;
        self.out.deadline = None;
        self.lines = LineReader::new();
        self.blocks = BlockDecoder::new();
        self.out.event(ev);
    }

    /// The next bytes to write, whole and in order.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<FtpEvent> {
        self.out.events.pop_front()
    }

    /// When [`Receiver::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.out.deadline
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SendState {
    AwaitVer,
    AwaitUsr,
    AwaitTfr,
    Sending,
    AwaitBye,
    Closed,
}

/// The sending side of MSNFTP. It writes nothing until it has read the receiver's `VER`; it
/// asks for file data in bounded pieces ([`FtpEvent::NeedData`]) so memory stays flat.
#[derive(Debug)]
pub struct Sender {
    peer: String,
    cookie: String,
    size: u64,
    state: SendState,
    lines: LineReader,
    /// File bytes received from the caller so far.
    provided: u64,
    /// Data bytes handed out through `poll_transmit`.
    sent: u64,
    /// The `max` of the outstanding `NeedData`, if any.
    wanted: Option<usize>,
    /// Fewer than `MAX_BLOCK_DATA` bytes waiting to fill a block.
    carry: Vec<u8>,
    /// Queued blocks with the number of file bytes in each.
    blocks: VecDeque<(Vec<u8>, usize)>,
    /// Bytes were handed out since the write deadline was armed.
    wrote: bool,
    out: Out,
}

impl Sender {
    /// Starts the sender once the TCP connection exists. `peer` is the contact the file was
    /// offered to, `auth_cookie` the cookie of this negotiation, `size` the offered size.
    pub fn new(peer: impl Into<String>, auth_cookie: u32, size: u64, now: Instant) -> Self {
        let out = Out {
            deadline: Some(now + HANDSHAKE_TIMEOUT),
            ..Out::default()
        };
        Self {
            peer: peer.into(),
            cookie: auth_cookie.to_string(),
            size,
            state: SendState::AwaitVer,
            lines: LineReader::new(),
            provided: 0,
            sent: 0,
            wanted: None,
            carry: Vec::new(),
            blocks: VecDeque::new(),
            wrote: false,
            out,
        }
    }

    /// The announced size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// File bytes handed out for writing so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Whether the machine is finished: close the connection after writing what is queued.
    pub fn is_closed(&self) -> bool {
        self.state == SendState::Closed
    }

    /// Feeds bytes read from the connection (the sender keeps reading while it sends, §3.1).
    pub fn handle_input(&mut self, data: &[u8], now: Instant) {
        if self.state == SendState::Closed {
            return;
        }
        self.lines.push(data);
        while self.state != SendState::Closed {
            match self.lines.next_line() {
                Ok(Some(line)) => self.handle_line(&line, now),
                Ok(None) => return,
                Err(_) if self.state == SendState::AwaitVer => {
                    return self.fail(FtpError::BadVersion);
                }
                Err(e) => return self.fail(FtpError::Command(e)),
            }
        }
    }

    fn handle_line(&mut self, line: &[u8], now: Instant) {
        let cmd = match FtpCommand::parse(line) {
            Ok(cmd) => cmd,
            Err(_) if self.state == SendState::AwaitVer => return self.fail(FtpError::BadVersion),
            Err(_) if self.state == SendState::AwaitUsr => {
                return self.fail(FtpError::AuthRejected)
            }
            Err(CommandError::InvalidNumber { command: "BYE", .. }) => {
                return self.fail(FtpError::PeerBye(None));
            }
            Err(e) => return self.fail(FtpError::Command(e)),
        };
        match (self.state, cmd) {
            (_, FtpCommand::Ccl) if self.state != SendState::AwaitVer => {
                self.blocks.clear();
                self.close(FtpEvent::Cancelled { by_peer: true });
            }
            (SendState::AwaitVer, cmd) if cmd.offers_msnftp() => {
                self.out.line(&FtpCommand::ver_msnftp());
                self.state = SendState::AwaitUsr;
                self.out.deadline = Some(now + HANDSHAKE_TIMEOUT);
            }
            // Missing or malformed VER: close without an answer (§5.4).
            (SendState::AwaitVer, _) => self.fail(FtpError::BadVersion),
            (SendState::AwaitUsr, FtpCommand::Usr { account, cookie }) => {
                if account.eq_ignore_ascii_case(&self.peer) && cookie == self.cookie {
                    self.out.line(&FtpCommand::Fil(self.size));
                    self.state = SendState::AwaitTfr;
                    self.out.deadline = Some(now + HANDSHAKE_TIMEOUT);
                } else {
                    self.fail(FtpError::AuthRejected);
                }
            }
            (SendState::AwaitUsr, _) => self.fail(FtpError::AuthRejected),
            (SendState::AwaitTfr, FtpCommand::Tfr) => {
                self.out.event(FtpEvent::Started);
                self.wrote = false;
                if self.size == 0 {
                    self.state = SendState::AwaitBye;
                    self.out.deadline = Some(now + BYE_TIMEOUT);
                } else {
                    self.state = SendState::Sending;
                    self.out.deadline = Some(now + WRITE_TIMEOUT);
                    self.request_data();
                }
            }
            (SendState::Sending | SendState::AwaitBye, FtpCommand::Bye(code)) => {
                self.blocks.clear();
                match code {
                    Some(c) if c.is_success() && self.state == SendState::AwaitBye => {
                        self.close(FtpEvent::Completed)
                    }
                    Some(ByeCode::ReceiverCancelled) => {
                        self.close(FtpEvent::Cancelled { by_peer: true })
                    }
                    code => self.fail(FtpError::PeerBye(code)),
                }
            }
            // After TFR the receiver writes only BYE or CCL; anything else is ignored.
            (SendState::Sending | SendState::AwaitBye, _) => {}
            (_, cmd) => self.fail(FtpError::UnexpectedCommand(cmd.to_string())),
        }
    }

    /// Passes the next file bytes after [`FtpEvent::NeedData`] (at most `max` of them; fewer is
    /// fine and another `NeedData` follows). An empty `data` means the file ended early: the
    /// transfer is stopped with `01 00 00` ([`FtpError::FileSizeChanged`]), as is more data than
    /// asked for. Before the last piece, check that the file has not grown.
    pub fn provide_data(&mut self, data: Vec<u8>, now: Instant) {
        if self.state != SendState::Sending {
            return;
        }
        let Some(max) = self.wanted.take() else {
            return self.abort(FtpError::FileSizeChanged);
        };
        if data.is_empty() || data.len() > max {
            return self.abort(FtpError::FileSizeChanged);
        }
        self.provided += data.len() as u64;
        let last = self.provided >= self.size;
        let mut data = data;
        if !self.carry.is_empty() {
            let mut joined = std::mem::take(&mut self.carry);
            joined.append(&mut data);
            data = joined;
        }
        let mut chunks = data.chunks_exact(MAX_BLOCK_DATA);
        for chunk in chunks.by_ref() {
            self.queue_block(chunk);
        }
        let rest = chunks.remainder();
        if last {
            if !rest.is_empty() {
                self.queue_block(rest);
            }
            self.state = SendState::AwaitBye;
            self.out.deadline = Some(now + BYE_TIMEOUT);
        } else {
            self.carry = rest.to_vec();
            self.out.deadline = Some(now + WRITE_TIMEOUT);
            self.wrote = false;
            self.request_data();
        }
    }

    fn queue_block(&mut self, data: &[u8]) {
        match encode_data_block(data) {
            Ok(bytes) => self.blocks.push_back((bytes, data.len())),
            // Blocks are at most MAX_BLOCK_DATA bytes, so encoding cannot fail.
            Err(_) => self.abort(FtpError::ReadFailed),
        }
    }

    /// Asks for more file data when nothing is queued and no request is outstanding.
    fn request_data(&mut self) {
        if self.state != SendState::Sending || self.wanted.is_some() || !self.blocks.is_empty() {
            return;
        }
        let left = self.size.saturating_sub(self.provided);
        let max = usize::try_from(left).map_or(SEND_WINDOW, |l| l.min(SEND_WINDOW));
        if max > 0 {
            self.wanted = Some(max);
            self.out.event(FtpEvent::NeedData { max });
        }
    }

    /// The file could not be read: stop with `01 00 00` (msnftp.md §3.6).
    pub fn read_failed(&mut self) {
        self.abort(FtpError::ReadFailed);
    }

    /// The file changed size on disk since the `INVITE`: stop with `01 00 00` (msnftp.md §5.2).
    pub fn file_size_changed(&mut self) {
        self.abort(FtpError::FileSizeChanged);
    }

    /// The user cancels: after `TFR`, unsent blocks are dropped and `01 00 00` is queued;
    /// before it, the connection is just closed (§3.4, §3.6).
    pub fn cancel(&mut self) {
        if self.state != SendState::Closed {
            self.stop_blocks();
            self.close(FtpEvent::Cancelled { by_peer: false });
        }
    }

    fn abort(&mut self, err: FtpError) {
        if self.state != SendState::Closed {
            self.stop_blocks();
            self.fail(err);
        }
    }

    /// Drops unsent blocks and queues the cancel block, unless the whole file is already out.
    fn stop_blocks(&mut self) {
        let all_out = self.state == SendState::AwaitBye && self.blocks.is_empty();
        if matches!(self.state, SendState::Sending | SendState::AwaitBye) && !all_out {
            self.blocks.clear();
            self.out.transmit.push_back(END_BLOCK.to_vec());
        }
    }

    /// Checks the deadline from [`Sender::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.out.deadline else {
            return;
        };
        if now < deadline {
            return;
        }
        match self.state {
            SendState::AwaitVer | SendState::AwaitUsr | SendState::AwaitTfr => {
                self.fail(FtpError::Timeout(TimeoutKind::Handshake))
            }
            SendState::Sending | SendState::AwaitBye if self.wrote => {
                // Bytes went out since the deadline was armed: the peer is reading.
                self.wrote = false;
                let limit = if self.state == SendState::Sending {
                    WRITE_TIMEOUT
                } else {
                    BYE_TIMEOUT
                };
                self.out.deadline = Some(now + limit);
            }
            SendState::Sending => self.fail(FtpError::Timeout(TimeoutKind::WriteStalled)),
            SendState::AwaitBye if self.blocks.is_empty() => self.close(FtpEvent::SentUnconfirmed),
            SendState::AwaitBye => self.fail(FtpError::Timeout(TimeoutKind::WriteStalled)),
            SendState::Closed => self.out.deadline = None,
        }
    }

    /// The peer closed the connection (or it broke). After every block went out this is
    /// "sent, not confirmed"; earlier it is a failure.
    pub fn handle_closed(&mut self) {
        match self.state {
            SendState::Closed => {}
            SendState::AwaitBye if self.blocks.is_empty() => self.close(FtpEvent::SentUnconfirmed),
            _ => {
                self.blocks.clear();
                self.out.transmit.clear();
                self.close(FtpEvent::Failed(FtpError::ConnectionLost));
            }
        }
    }

    fn fail(&mut self, err: FtpError) {
        self.close(FtpEvent::Failed(err));
    }

    fn close(&mut self, ev: FtpEvent) {
        self.state = SendState::Closed;
        self.out.deadline = None;
        self.wanted = None;
        self.carry = Vec::new();
        self.lines = LineReader::new();
        self.out.event(ev);
    }

    /// The next bytes to write, whole and in order. Pull only as fast as the socket takes
    /// them: the write time-out counts from the last time bytes were handed out.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if let Some(bytes) = self.out.transmit.pop_front() {
            return Some(bytes);
        }
        let (bytes, len) = self.blocks.pop_front()?;
        self.sent += len as u64;
        self.wrote = true;
        self.out.event(FtpEvent::Progress {
            transferred: self.sent,
            total: self.size,
        });
        self.request_data();
        Some(bytes)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<FtpEvent> {
        self.out.events.pop_front()
    }

    /// When [`Sender::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.out.deadline
    }
}
