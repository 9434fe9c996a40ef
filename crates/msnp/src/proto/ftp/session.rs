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
            Err(CommandError::MissingParameter { command: "FIL" }) => {
                let err = FtpError::SizeMismatch {
                    expected: self.size,
                    got: String::new(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::ftp::block::{encode_data_block, HEADER_LEN};
    use proptest::prelude::*;

    const ACCOUNT: &str = "bob@example.com";
    const COOKIE: u32 = 580_493_217;

    fn t0() -> Instant {
        Instant::now()
    }

    fn file(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 256) as u8).collect()
    }

    trait Machine {
        fn tx(&mut self) -> Option<Vec<u8>>;
        fn ev(&mut self) -> Option<FtpEvent>;
    }
    impl Machine for Receiver {
        fn tx(&mut self) -> Option<Vec<u8>> {
            self.poll_transmit()
        }
        fn ev(&mut self) -> Option<FtpEvent> {
            self.poll_event()
        }
    }
    impl Machine for Sender {
        fn tx(&mut self) -> Option<Vec<u8>> {
            self.poll_transmit()
        }
        fn ev(&mut self) -> Option<FtpEvent> {
            self.poll_event()
        }
    }

    fn sent<M: Machine>(m: &mut M) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(b) = m.tx() {
            out.extend(b);
        }
        out
    }

    fn events<M: Machine>(m: &mut M) -> Vec<FtpEvent> {
        std::iter::from_fn(|| m.ev()).collect()
    }

    /// A receiver that has sent TFR for a file of `size` bytes.
    fn receiving(size: u64, now: Instant) -> Receiver {
        let mut r = Receiver::new(ACCOUNT, COOKIE.to_string(), size, now);
        r.handle_input(b"VER MSNFTP\r\n", now);
        r.handle_input(format!("FIL {size}\r\n").as_bytes(), now);
        assert_eq!(
            sent(&mut r),
            b"VER MSNFTP\r\nUSR bob@example.com 580493217\r\nTFR\r\n"
        );
        events(&mut r);
        r
    }

    /// A sender that has read TFR for a file of `size` bytes.
    fn sending(size: u64, now: Instant) -> Sender {
        let mut s = Sender::new(ACCOUNT, COOKIE, size, now);
        s.handle_input(
            b"VER MSNFTP\r\nUSR bob@example.com 580493217\r\nTFR\r\n",
            now,
        );
        assert_eq!(
            sent(&mut s),
            format!("VER MSNFTP\r\nFIL {size}\r\n").as_bytes()
        );
        s
    }

    #[test]
    fn receiver_hello_transcript_section_3_4() {
        let now = t0();
        let mut r = Receiver::new(ACCOUNT, "580493217", 13, now);
        assert_eq!(sent(&mut r), b"VER MSNFTP\r\n");
        r.handle_input(b"VER MSNFTP\r\n", now);
        assert_eq!(sent(&mut r), b"USR bob@example.com 580493217\r\n");
        r.handle_input(b"FIL 13\r\n", now);
        assert_eq!(sent(&mut r), b"TFR\r\n");
        r.handle_input(
            &[
                0x00, 0x0d, 0x00, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x2c, 0x20, 0x4d, 0x53, 0x4e, 0x21,
                0x0d, 0x0a,
            ],
            now,
        );
        assert_eq!(sent(&mut r), b"");
        assert_eq!(
            events(&mut r),
            vec![
                FtpEvent::Started,
                FtpEvent::Data(b"Hello, MSN!\r\n".to_vec()),
                FtpEvent::Progress {
                    transferred: 13,
                    total: 13
                },
                FtpEvent::AllDataReceived,
            ]
        );
        assert_eq!(r.poll_timeout(), None);
        r.file_stored();
        assert_eq!(sent(&mut r), b"BYE 16777989\r\n");
        assert_eq!(events(&mut r), vec![FtpEvent::Completed]);
        assert!(r.is_closed());
    }

    #[test]
    fn sender_hello_transcript_section_3_4() {
        let now = t0();
        let mut s = Sender::new(ACCOUNT, COOKIE, 13, now);
        assert_eq!(sent(&mut s), b"", "the sender writes nothing before VER");
        s.handle_input(b"VER MSNFTP\r\n", now);
        assert_eq!(sent(&mut s), b"VER MSNFTP\r\n");
        s.handle_input(b"USR bob@example.com 580493217\r\n", now);
        assert_eq!(sent(&mut s), b"FIL 13\r\n");
        s.handle_input(b"TFR\r\n", now);
        assert_eq!(
            events(&mut s),
            vec![FtpEvent::Started, FtpEvent::NeedData { max: 13 }]
        );
        s.provide_data(b"Hello, MSN!\r\n".to_vec(), now);
        assert_eq!(
            sent(&mut s),
            [
                0x00, 0x0d, 0x00, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x2c, 0x20, 0x4d, 0x53, 0x4e, 0x21,
                0x0d, 0x0a,
            ]
        );
        assert_eq!(
            events(&mut s),
            vec![FtpEvent::Progress {
                transferred: 13,
                total: 13
            }]
        );
        s.handle_input(b"BYE 16777989\r\n", now);
        assert_eq!(events(&mut s), vec![FtpEvent::Completed]);
        assert!(s.is_closed());
        assert_eq!(sent(&mut s), b"");
    }

    #[test]
    fn reverse_variant_presents_receivers_cookie() {
        let now = t0();
        let mut r = Receiver::new(ACCOUNT, "1994127703", 5000, now);
        r.handle_input(b"VER MSNFTP\r\n", now);
        assert_eq!(
            sent(&mut r),
            b"VER MSNFTP\r\nUSR bob@example.com 1994127703\r\n"
        );
        let mut s = Sender::new(ACCOUNT, 1_994_127_703, 5000, now);
        s.handle_input(b"VER MSNFTP\r\nUSR bob@example.com 1994127703\r\n", now);
        assert_eq!(sent(&mut s), b"VER MSNFTP\r\nFIL 5000\r\n");
    }

    #[test]
    fn receiver_refuses_wrong_fil_size() {
        for fil in [
            "FIL 5001\r\n",
            "FIL 4999\r\n",
            "FIL -5000\r\n",
            "FIL 5e3\r\n",
            "FIL\r\n",
        ] {
            let now = t0();
            let mut r = Receiver::new(ACCOUNT, "1", 5000, now);
            r.handle_input(b"VER MSNFTP\r\n", now);
            sent(&mut r);
            r.handle_input(fil.as_bytes(), now);
            let out = sent(&mut r);
            let ev = events(&mut r);
            assert!(r.is_closed(), "{fil}");
            {
                assert_eq!(out, b"CCL\r\n", "{fil}");
                assert!(
                    matches!(
                        ev.as_slice(),
                        [FtpEvent::Failed(FtpError::SizeMismatch {
                            expected: 5000,
                            ..
                        })]
                    ),
                    "{fil}: {ev:?}"
                );
            }
        }
    }

    #[test]
    fn receiver_refuses_peer_without_msnftp() {
        for ver in [
            &b"VER MSNP8\r\n"[..],
            b"FIL 13\r\n",
            b"\xff\xfe\r\n",
            b"\r\n",
        ] {
            let now = t0();
            let mut r = Receiver::new(ACCOUNT, "1", 13, now);
            sent(&mut r);
            r.handle_input(ver, now);
            assert_eq!(sent(&mut r), b"");
            assert_eq!(events(&mut r), vec![FtpEvent::Failed(FtpError::BadVersion)]);
        }
        let now = t0();
        let mut r = Receiver::new(ACCOUNT, "1", 13, now);
        sent(&mut r);
        r.handle_input(b"VER 0 MSNFTP\n", now);
        assert_eq!(sent(&mut r), b"USR bob@example.com 1\r\n");
    }

    #[test]
    fn receiver_refuses_more_data_than_announced() {
        // One block longer than the whole file: nothing of it is written.
        let now = t0();
        let mut r = receiving(13, now);
        r.handle_input(&[0x00, 0x0e, 0x00], now);
        assert_eq!(sent(&mut r), b"CCL\r\n");
        assert_eq!(
            events(&mut r),
            vec![FtpEvent::Failed(FtpError::TooMuchData {
                len: 14,
                remaining: 13
            })]
        );
        assert!(r.is_closed());

        // The second block goes beyond the size.
        let mut r = receiving(13, now);
        let mut wire = encode_data_block(&[1; 10]).unwrap();
        wire.extend(encode_data_block(&[2; 10]).unwrap());
        r.handle_input(&wire, now);
        assert_eq!(sent(&mut r), b"CCL\r\n");
        let ev = events(&mut r);
        assert_eq!(ev.first(), Some(&FtpEvent::Data(vec![1; 10])));
        assert_eq!(
            ev.last(),
            Some(&FtpEvent::Failed(FtpError::TooMuchData {
                len: 10,
                remaining: 3
            }))
        );
        assert_eq!(r.received(), 10);
        // Further input is ignored.
        r.handle_input(&wire, now);
        assert_eq!(sent(&mut r), b"");
        assert_eq!(events(&mut r), vec![]);
    }

    #[test]
    fn receiver_sender_cancel_block() {
        let now = t0();
        let mut r = receiving(5000, now);
        let mut wire = encode_data_block(&file(100)).unwrap();
        wire.extend(END_BLOCK);
        r.handle_input(&wire, now);
        assert_eq!(sent(&mut r), b"BYE 2164261683\r\n");
        let ev = events(&mut r);
        assert_eq!(ev.last(), Some(&FtpEvent::Cancelled { by_peer: true }));
        assert!(r.is_closed());
    }

    #[test]
    fn receiver_end_block_after_all_data_is_harmless() {
        let now = t0();
        let mut r = receiving(3, now);
        let mut wire = encode_data_block(&[7, 8, 9]).unwrap();
        wire.extend(END_BLOCK);
        r.handle_input(&wire, now);
        assert_eq!(events(&mut r).last(), Some(&FtpEvent::AllDataReceived));
        assert_eq!(sent(&mut r), b"");
        r.handle_input(&END_BLOCK, now);
        r.file_stored();
        assert_eq!(sent(&mut r), b"BYE 16777989\r\n");
        assert_eq!(events(&mut r), vec![FtpEvent::Completed]);
    }

    #[test]
    fn receiver_bad_flag_and_empty_blocks() {
        let now = t0();
        let mut r = receiving(2, now);
        r.handle_input(&[0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x41], now);
        assert_eq!(
            events(&mut r),
            vec![
                FtpEvent::Data(vec![0x41]),
                FtpEvent::Progress {
                    transferred: 1,
                    total: 2
                }
            ]
        );
        r.handle_input(&[0x02, 0x01, 0x00, 0x42], now);
        assert_eq!(sent(&mut r), b"CCL\r\n");
        assert_eq!(
            events(&mut r),
            vec![FtpEvent::Failed(FtpError::Block(BlockError::BadFlag(2)))]
        );
    }

    #[test]
    fn receiver_accepts_big_lenient_block() {
        let now = t0();
        let mut r = receiving(5000, now);
        r.handle_input(&encode_data_block(&file(5000)).unwrap(), now);
        let ev = events(&mut r);
        assert_eq!(ev.first(), Some(&FtpEvent::Data(file(5000))));
        assert_eq!(ev.last(), Some(&FtpEvent::AllDataReceived));
    }

    #[test]
    fn receiver_blocks_in_same_read_as_fil() {
        let now = t0();
        let mut r = Receiver::new(ACCOUNT, "580493217", 13, now);
        let mut input = b"VER MSNFTP\r\nFIL 13\r\n".to_vec();
        input.extend(encode_data_block(b"Hello, MSN!\r\n").unwrap());
        r.handle_input(&input, now);
        assert_eq!(
            sent(&mut r),
            b"VER MSNFTP\r\nUSR bob@example.com 580493217\r\nTFR\r\n"
        );
        assert_eq!(events(&mut r).last(), Some(&FtpEvent::AllDataReceived));
    }

    #[test]
    fn receiver_zero_byte_file() {
        let now = t0();
        let mut r = Receiver::new(ACCOUNT, "580493217", 0, now);
        r.handle_input(b"VER MSNFTP\r\nFIL 0\r\n", now);
        assert_eq!(
            events(&mut r),
            vec![FtpEvent::Started, FtpEvent::AllDataReceived]
        );
        r.file_stored();
        assert_eq!(
            sent(&mut r),
            b"VER MSNFTP\r\nUSR bob@example.com 580493217\r\nTFR\r\nBYE 16777989\r\n"
        );
        assert_eq!(events(&mut r), vec![FtpEvent::Completed]);
    }

    #[test]
    fn receiver_one_byte_file() {
        let now = t0();
        let mut r = receiving(1, now);
        r.handle_input(&[0x00, 0x01, 0x00, 0xAB], now);
        assert_eq!(
            events(&mut r),
            vec![
                FtpEvent::Data(vec![0xAB]),
                FtpEvent::Progress {
                    transferred: 1,
                    total: 1
                },
                FtpEvent::AllDataReceived
            ]
        );
    }

    #[test]
    fn receiver_handshake_timeouts() {
        let now = t0();
        let mut r = Receiver::new(ACCOUNT, "1", 13, now);
        sent(&mut r);
        assert_eq!(r.poll_timeout(), Some(now + HANDSHAKE_TIMEOUT));
        r.handle_timeout(now + Duration::from_secs(29));
        assert!(!r.is_closed());
        r.handle_input(b"VER MSNFTP\r\n", now + Duration::from_secs(29));
        assert_eq!(
            r.poll_timeout(),
            Some(now + Duration::from_secs(29) + HANDSHAKE_TIMEOUT)
        );
        r.handle_timeout(now + Duration::from_secs(59));
        sent(&mut r);
        assert_eq!(
            events(&mut r),
            vec![FtpEvent::Failed(FtpError::Timeout(TimeoutKind::Handshake))]
        );
        assert!(r.is_closed());
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn receiver_stall_sends_bye_timeout() {
        let now = t0();
        let mut r = receiving(100, now);
        assert_eq!(r.poll_timeout(), Some(now + DATA_TIMEOUT));
        let later = now + Duration::from_secs(50);
        r.handle_input(&[0x00], later); // one byte of a header still counts
        assert_eq!(r.poll_timeout(), Some(later + DATA_TIMEOUT));
        r.handle_timeout(now + DATA_TIMEOUT);
        assert!(!r.is_closed());
        r.handle_timeout(later + DATA_TIMEOUT);
        assert_eq!(sent(&mut r), b"BYE 2164261694\r\n");
        assert_eq!(
            events(&mut r),
            vec![FtpEvent::Failed(FtpError::Timeout(TimeoutKind::NoData))]
        );
    }

    #[test]
    fn receiver_cancel_and_storage_failure() {
        let now = t0();
        let mut r = Receiver::new(ACCOUNT, "1", 13, now);
        sent(&mut r);
        r.cancel();
        assert_eq!(sent(&mut r), b"CCL\r\n");
        assert_eq!(events(&mut r), vec![FtpEvent::Cancelled { by_peer: false }]);
        r.cancel();
        assert_eq!(sent(&mut r), b"");

        let mut r = receiving(13, now);
        r.handle_input(&encode_data_block(b"Hello").unwrap(), now);
        r.cancel();
        assert_eq!(sent(&mut r), b"CCL\r\n");

        let mut r = receiving(13, now);
        r.handle_input(&encode_data_block(b"Hello").unwrap(), now);
        events(&mut r);
        r.storage_failed();
        assert_eq!(sent(&mut r), b"BYE 2147942405\r\n");
        assert_eq!(
            events(&mut r),
            vec![FtpEvent::Failed(FtpError::StorageFailed)]
        );

        // Flushing the complete file failed.
        let mut r = receiving(5, now);
        r.handle_input(&encode_data_block(b"Hello").unwrap(), now);
        r.storage_failed();
        assert_eq!(sent(&mut r), b"BYE 2147942405\r\n");
    }

    #[test]
    fn receiver_calls_out_of_turn_change_nothing() {
        let now = t0();
        // `file_stored` before every byte is in: no BYE, no event.
        let mut r = receiving(13, now);
        r.handle_input(&encode_data_block(b"Hello").unwrap(), now);
        events(&mut r);
        r.file_stored();
        assert_eq!(sent(&mut r), b"");
        assert_eq!(events(&mut r), vec![]);
        assert!(!r.is_closed());
        // After success: cancel, storage failure, time-outs and input are ignored.
        let mut r = receiving(5, now);
        r.handle_input(&encode_data_block(b"Hello").unwrap(), now);
        r.file_stored();
        sent(&mut r);
        events(&mut r);
        r.cancel();
        r.storage_failed();
        r.handle_timeout(now + DATA_TIMEOUT * 10);
        r.handle_input(b"\x01\x00\x00garbage", now);
        r.handle_closed();
        assert_eq!(sent(&mut r), b"");
        assert_eq!(events(&mut r), vec![]);
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn receiver_connection_lost() {
        let now = t0();
        let mut r = receiving(13, now);
        r.handle_input(&encode_data_block(b"Hello").unwrap(), now);
        events(&mut r);
        r.handle_closed();
        assert_eq!(
            events(&mut r),
            vec![FtpEvent::Failed(FtpError::ConnectionLost)]
        );
        assert!(r.is_closed());

        // All data in, then the sender closes: the transfer can still complete.
        let mut r = receiving(5, now);
        r.handle_input(&encode_data_block(b"Hello").unwrap(), now);
        events(&mut r);
        r.handle_closed();
        r.file_stored();
        assert_eq!(events(&mut r), vec![FtpEvent::Completed]);
    }

    #[test]
    fn receiver_refuses_long_lines() {
        let now = t0();
        let mut r = Receiver::new(ACCOUNT, "1", 13, now);
        r.handle_input(b"VER MSNFTP\r\n", now);
        sent(&mut r);
        r.handle_input(&[b'F'; 2000], now);
        assert_eq!(sent(&mut r), b"");
        assert_eq!(
            events(&mut r),
            vec![FtpEvent::Failed(FtpError::Command(
                CommandError::LineTooLong
            ))]
        );
    }

    #[test]
    fn sender_refuses_wrong_cookie_or_account() {
        let cases: &[&[u8]] = &[
            b"USR bob@example.com 580493218\r\n",
            b"USR bob@example.com 0580493217\r\n",
            b"USR bob@example.com +580493217\r\n",
            b"USR mallory@example.com 580493217\r\n",
            b"USR bob@example.com\r\n",
            b"TFR\r\n",
            b"USR \xff 1\r\n",
        ];
        for usr in cases {
            let now = t0();
            let mut s = Sender::new(ACCOUNT, COOKIE, 13, now);
            s.handle_input(b"VER MSNFTP\r\n", now);
            assert_eq!(sent(&mut s), b"VER MSNFTP\r\n");
            s.handle_input(usr, now);
            assert_eq!(sent(&mut s), b"", "no answer to {usr:?}");
            assert_eq!(
                events(&mut s),
                vec![FtpEvent::Failed(FtpError::AuthRejected)]
            );
            assert!(s.is_closed());
        }
        // The account compares case-insensitively.
        let now = t0();
        let mut s = Sender::new(ACCOUNT, COOKIE, 13, now);
        s.handle_input(b"VER MSNFTP\r\nUSR BOB@Example.COM 580493217\r\n", now);
        assert_eq!(sent(&mut s), b"VER MSNFTP\r\nFIL 13\r\n");
    }

    #[test]
    fn sender_refuses_missing_or_malformed_ver() {
        for first in [
            &b"USR bob@example.com 580493217\r\n"[..],
            b"VER MSNP7 CVR0\r\n",
            b"VER\r\n",
            b"\x00\x01\x02\n",
            &[b'V'; 1500][..],
        ] {
            let now = t0();
            let mut s = Sender::new(ACCOUNT, COOKIE, 13, now);
            s.handle_input(first, now);
            assert_eq!(sent(&mut s), b"");
            assert_eq!(events(&mut s), vec![FtpEvent::Failed(FtpError::BadVersion)]);
        }
        let now = t0();
        let mut s = Sender::new(ACCOUNT, COOKIE, 13, now);
        s.handle_input(b"VER 0 MSNFTP\r\n", now);
        assert_eq!(sent(&mut s), b"VER MSNFTP\r\n");
    }

    #[test]
    fn sender_handles_ccl_at_every_stage() {
        let now = t0();
        // During the handshake.
        let mut s = Sender::new(ACCOUNT, COOKIE, 13, now);
        s.handle_input(b"VER MSNFTP\r\nCCL\r\n", now);
        assert_eq!(sent(&mut s), b"VER MSNFTP\r\n");
        assert_eq!(events(&mut s), vec![FtpEvent::Cancelled { by_peer: true }]);
        // After FIL.
        let mut s = Sender::new(ACCOUNT, COOKIE, 13, now);
        s.handle_input(
            b"VER MSNFTP\r\nUSR bob@example.com 580493217\r\nCCL\r\n",
            now,
        );
        assert_eq!(events(&mut s), vec![FtpEvent::Cancelled { by_peer: true }]);
        // While blocks are queued: they are dropped.
        let mut s = sending(10_000, now);
        events(&mut s);
        s.provide_data(file(8000), now);
        let first = s.poll_transmit().unwrap();
        assert_eq!(first.len(), HEADER_LEN + MAX_BLOCK_DATA);
        s.handle_input(b"CCL\r\n", now);
        assert_eq!(s.poll_transmit(), None);
        assert_eq!(
            events(&mut s).last(),
            Some(&FtpEvent::Cancelled { by_peer: true })
        );
        s.provide_data(file(10), now);
        assert_eq!(s.poll_transmit(), None);
    }

    #[test]
    fn sender_handles_every_bye_code() {
        let cases = [
            ("BYE 16777989", FtpEvent::Completed),
            ("BYE 16777987", FtpEvent::Completed),
            ("BYE 2164261682", FtpEvent::Cancelled { by_peer: true }),
            (
                "BYE 2147942405",
                FtpEvent::Failed(FtpError::PeerBye(Some(ByeCode::WriteFailed))),
            ),
            (
                "BYE 2164261683",
                FtpEvent::Failed(FtpError::PeerBye(Some(ByeCode::SenderCancelled))),
            ),
            (
                "BYE 2164261694",
                FtpEvent::Failed(FtpError::PeerBye(Some(ByeCode::Timeout))),
            ),
            (
                "BYE 7",
                FtpEvent::Failed(FtpError::PeerBye(Some(ByeCode::Other(7)))),
            ),
            ("BYE", FtpEvent::Failed(FtpError::PeerBye(None))),
            ("BYE x", FtpEvent::Failed(FtpError::PeerBye(None))),
        ];
        for (line, want) in cases {
            let now = t0();
            let mut s = sending(3, now);
            s.provide_data(vec![1, 2, 3], now);
            sent(&mut s);
            events(&mut s);
            s.handle_input(format!("{line}\r\n").as_bytes(), now);
            assert_eq!(events(&mut s), vec![want], "{line}");
            assert!(s.is_closed());
            assert_eq!(sent(&mut s), b"");
        }
        // A success BYE before the data is all out is not a success.
        let now = t0();
        let mut s = sending(5000, now);
        events(&mut s);
        s.handle_input(b"BYE 16777989\r\n", now);
        assert_eq!(
            events(&mut s),
            vec![FtpEvent::Failed(FtpError::PeerBye(Some(ByeCode::Success)))]
        );
    }

    #[test]
    fn sender_cancel_paths() {
        let now = t0();
        // Before TFR: no block may be written.
        let mut s = Sender::new(ACCOUNT, COOKIE, 13, now);
        s.handle_input(b"VER MSNFTP\r\n", now);
        sent(&mut s);
        s.cancel();
        assert_eq!(sent(&mut s), b"");
        assert_eq!(events(&mut s), vec![FtpEvent::Cancelled { by_peer: false }]);
        // During the data: unsent blocks are dropped, 01 00 00 follows.
        let mut s = sending(10_000, now);
        events(&mut s);
        s.provide_data(file(6135), now);
        assert!(s.poll_transmit().is_some());
        s.cancel();
        assert_eq!(sent(&mut s), END_BLOCK);
        assert_eq!(
            events(&mut s).last(),
            Some(&FtpEvent::Cancelled { by_peer: false })
        );
        // The peer's acknowledgement is ignored.
        s.handle_input(b"BYE 2164261683\r\n", now);
        assert_eq!(events(&mut s), vec![]);
        // After the whole file went out: no 01 00 00.
        let mut s = sending(3, now);
        s.provide_data(vec![1, 2, 3], now);
        sent(&mut s);
        s.cancel();
        assert_eq!(sent(&mut s), b"");
    }

    #[test]
    fn sender_file_errors_send_cancel_block() {
        let now = t0();
        let mut s = sending(5000, now);
        s.read_failed();
        assert_eq!(sent(&mut s), END_BLOCK);
        assert_eq!(
            events(&mut s).last(),
            Some(&FtpEvent::Failed(FtpError::ReadFailed))
        );

        // The file ended early.
        let mut s = sending(5000, now);
        s.provide_data(file(3000), now);
        let mut out = sent(&mut s);
        assert!(events(&mut s).contains(&FtpEvent::NeedData { max: 2000 }));
        s.provide_data(Vec::new(), now);
        out.extend(sent(&mut s));
        assert_eq!(out.len(), HEADER_LEN + MAX_BLOCK_DATA + HEADER_LEN);
        assert!(out.ends_with(&END_BLOCK));
        assert_eq!(
            events(&mut s).last(),
            Some(&FtpEvent::Failed(FtpError::FileSizeChanged))
        );

        // More than asked for.
        let mut s = sending(100, now);
        s.provide_data(file(101), now);
        assert_eq!(sent(&mut s), END_BLOCK);

        // The caller noticed a change itself.
        let mut s = sending(100, now);
        s.file_size_changed();
        assert_eq!(sent(&mut s), END_BLOCK);
    }

    #[test]
    fn sender_ignores_other_lines_after_tfr_and_early_data() {
        let now = t0();
        // Data offered before TFR is not asked for and not sent.
        let mut s = Sender::new(ACCOUNT, COOKIE, 3, now);
        s.provide_data(vec![1, 2, 3], now);
        assert_eq!(sent(&mut s), b"");
        assert_eq!(events(&mut s), vec![]);
        // After TFR the receiver writes only BYE or CCL; other lines are ignored.
        let mut s = sending(3, now);
        s.handle_input(b"VER MSNFTP\r\nTFR\r\nUSR x 1\r\nXYZ\r\n", now);
        assert!(!s.is_closed());
        s.provide_data(vec![1, 2, 3], now);
        assert_eq!(sent(&mut s), [0, 3, 0, 1, 2, 3]);
        s.handle_input(b"FIL 3\r\nBYE 16777989\r\n", now);
        assert_eq!(events(&mut s).last(), Some(&FtpEvent::Completed));
    }

    #[test]
    fn sender_zero_byte_file() {
        let now = t0();
        let mut s = sending(0, now);
        assert_eq!(events(&mut s), vec![FtpEvent::Started]);
        assert_eq!(sent(&mut s), b"");
        s.handle_input(b"BYE 16777989\r\n", now);
        assert_eq!(events(&mut s), vec![FtpEvent::Completed]);
    }

    #[test]
    fn sender_timeouts() {
        let now = t0();
        // Handshake: no VER within 30 s.
        let mut s = Sender::new(ACCOUNT, COOKIE, 13, now);
        assert_eq!(s.poll_timeout(), Some(now + HANDSHAKE_TIMEOUT));
        s.handle_timeout(now + HANDSHAKE_TIMEOUT);
        assert_eq!(
            events(&mut s),
            vec![FtpEvent::Failed(FtpError::Timeout(TimeoutKind::Handshake))]
        );
        // No BYE within 60 s of the last block: sent, not confirmed.
        let mut s = sending(3, now);
        s.provide_data(vec![1, 2, 3], now);
        sent(&mut s);
        events(&mut s);
        let deadline = s.poll_timeout().unwrap();
        assert_eq!(deadline, now + BYE_TIMEOUT);
        s.handle_timeout(deadline);
        // Bytes went out after the deadline was armed, so one more period is granted.
        assert_eq!(events(&mut s), vec![]);
        let deadline = s.poll_timeout().unwrap();
        s.handle_timeout(deadline);
        assert_eq!(events(&mut s), vec![FtpEvent::SentUnconfirmed]);
        // The peer does not read: nothing is pulled for 60 s.
        let mut s = sending(100_000, now);
        s.provide_data(file(SEND_WINDOW), now);
        s.handle_timeout(now + WRITE_TIMEOUT);
        assert_eq!(
            events(&mut s).last(),
            Some(&FtpEvent::Failed(FtpError::Timeout(
                TimeoutKind::WriteStalled
            )))
        );
        // Progress pushes the deadline on.
        let mut s = sending(100_000, now);
        s.provide_data(file(SEND_WINDOW), now);
        s.poll_transmit();
        s.handle_timeout(now + WRITE_TIMEOUT);
        assert!(!s.is_closed());
        assert_eq!(s.poll_timeout(), Some(now + WRITE_TIMEOUT + WRITE_TIMEOUT));
    }

    #[test]
    fn sender_connection_closed() {
        let now = t0();
        let mut s = sending(3, now);
        s.provide_data(vec![1, 2, 3], now);
        sent(&mut s);
        events(&mut s);
        s.handle_closed();
        assert_eq!(events(&mut s), vec![FtpEvent::SentUnconfirmed]);

        let mut s = sending(5000, now);
        events(&mut s);
        s.handle_closed();
        assert_eq!(
            events(&mut s),
            vec![FtpEvent::Failed(FtpError::ConnectionLost)]
        );
    }

    #[test]
    fn sender_memory_stays_flat_with_short_reads() {
        let now = t0();
        let size = 1_000_003usize;
        let data = file(size);
        let mut s = sending(size as u64, now);
        let mut pos = 0;
        let mut wire = Vec::new();
        let mut step = 1usize;
        loop {
            while let Some(b) = s.poll_transmit() {
                wire.extend(b);
            }
            let mut asked = None;
            for ev in events(&mut s) {
                if let FtpEvent::NeedData { max } = ev {
                    assert!(max <= SEND_WINDOW);
                    asked = Some(max);
                }
            }
            let Some(max) = asked else { break };
            // Provide odd-sized short reads.
            step = (step * 7919) % 5000 + 1;
            let n = max.min(step).min(size - pos);
            s.provide_data(data[pos..pos + n].to_vec(), now);
            pos += n;
            assert!(s.blocks.len() <= SEND_WINDOW / MAX_BLOCK_DATA + 1);
            assert!(s.carry.len() < MAX_BLOCK_DATA);
        }
        assert_eq!(pos, size);
        // Every block but the last is full.
        let mut d = BlockDecoder::new();
        d.push(&wire);
        let mut lens = Vec::new();
        let mut got = Vec::new();
        while let Some(Block::Data(b)) = d.next_block(u64::MAX).unwrap() {
            lens.push(b.len());
            got.extend(b);
        }
        assert_eq!(got, data);
        assert_eq!(
            lens,
            crate::proto::ftp::block::block_lengths(size as u64).collect::<Vec<_>>()
        );
    }

    /// Runs a sender and a receiver against each other with the given read sizes.
    fn run_pair(size: usize, cuts: &[usize]) -> (Vec<u8>, Vec<FtpEvent>, Vec<FtpEvent>) {
        let now = t0();
        let data = file(size);
        let mut r = Receiver::new(ACCOUNT, COOKIE.to_string(), size as u64, now);
        let mut s = Sender::new(ACCOUNT, COOKIE, size as u64, now);
        let (mut r_events, mut s_events, mut out) = (Vec::new(), Vec::new(), Vec::new());
        let mut pos = 0;
        let mut cut = cuts.iter().cycle();
        for _ in 0..100_000 {
            let to_s = sent(&mut r);
            let to_r = sent(&mut s);
            let mut progressed = !to_s.is_empty() || !to_r.is_empty();
            s.handle_input(&to_s, now);
            for chunk in to_r.chunks(cut.next().copied().unwrap_or(1).max(1)) {
                r.handle_input(chunk, now);
            }
            for ev in events(&mut r) {
                progressed = true;
                match &ev {
                    FtpEvent::Data(d) => out.extend(d),
                    FtpEvent::AllDataReceived => r.file_stored(),
                    _ => {}
                }
                r_events.push(ev);
            }
            for ev in events(&mut s) {
                progressed = true;
                if let FtpEvent::NeedData { max } = ev {
                    let n = max.min(size - pos);
                    s.provide_data(data[pos..pos + n].to_vec(), now);
                    pos += n;
                }
                s_events.push(ev);
            }
            if !progressed {
                break;
            }
        }
        (out, r_events, s_events)
    }

    #[test]
    fn boundary_sizes_end_to_end() {
        for size in [
            0,
            1,
            2,
            2044,
            2045,
            2046,
            4089,
            4090,
            4091,
            5000,
            SEND_WINDOW,
            SEND_WINDOW + 1,
            200_000,
        ] {
            let (out, r_ev, s_ev) = run_pair(size, &[1, 3, 2048, 7, 100_000]);
            assert_eq!(out, file(size), "size {size}");
            assert_eq!(r_ev.last(), Some(&FtpEvent::Completed), "size {size}");
            assert_eq!(s_ev.last(), Some(&FtpEvent::Completed), "size {size}");
        }
    }

    proptest! {
        #[test]
        fn any_split_delivers_the_file(size in 0usize..9000, cuts in proptest::collection::vec(1usize..3000, 1..8)) {
            let (out, r_ev, s_ev) = run_pair(size, &cuts);
            prop_assert_eq!(out, file(size));
            prop_assert_eq!(r_ev.last(), Some(&FtpEvent::Completed));
            prop_assert_eq!(s_ev.last(), Some(&FtpEvent::Completed));
        }

        #[test]
        fn receiver_never_panics_or_overflows(
            size in 0u64..5000,
            input in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 0..10),
        ) {
            let now = t0();
            let mut r = Receiver::new(ACCOUNT, "1", size, now);
            r.handle_input(format!("VER MSNFTP\r\nFIL {size}\r\n").as_bytes(), now);
            let mut total = 0u64;
            for chunk in &input {
                r.handle_input(chunk, now);
                while let Some(ev) = r.poll_event() {
                    if let FtpEvent::Data(d) = ev {
                        total += d.len() as u64;
                    }
                }
                while r.poll_transmit().is_some() {}
            }
            prop_assert!(total <= size);
        }

        #[test]
        fn sender_never_panics(input in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..10)) {
            let now = t0();
            let mut s = Sender::new(ACCOUNT, COOKIE, 10, now);
            for chunk in &input {
                s.handle_input(chunk, now);
                while s.poll_event().is_some() {}
                while s.poll_transmit().is_some() {}
            }
        }
    }
}
