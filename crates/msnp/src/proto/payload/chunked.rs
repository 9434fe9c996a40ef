//! Reassembly of chunked messages of MSN 7 and later (`Message-ID` + `Chunks` / `Chunk`
//! headers, messages.md §5.3), bounded in parts, pending messages and time.

use super::MimeMessage;
use std::time::{Duration, Instant};

/// Most parts one chunked message may announce; more are shown as they are.
pub const MAX_CHUNKS: u32 = 32;
/// How long the parts of one message are buffered before what arrived is shown.
pub const CHUNK_TIMEOUT: Duration = Duration::from_secs(60);
/// Most chunked messages buffered at once per assembler.
pub const MAX_PENDING_MESSAGES: usize = 8;

/// What became of one message handed to [`ChunkAssembler::push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// A message to classify now: an unchunked message as it was, a chunked one that could not
    /// be buffered (shown as it is), or a completely reassembled one.
    Ready(MimeMessage),
    /// A part was buffered; the message is not complete yet.
    Pending,
    /// A part that belongs to nothing known (or repeats one) and cannot be shown alone.
    Dropped,
}

#[derive(Debug)]
struct PendingMessage {
    sender: String,
    message_id: String,
    first: MimeMessage,
    parts: Vec<Option<Vec<u8>>>,
    deadline: Instant,
}

impl PendingMessage {
    /// The first part's headers (without `Chunks`) with the bodies received so far, in order.
    fn assemble(self) -> MimeMessage {
        let mut message = self.first;
        message
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("Chunks"));
        for body in self.parts.into_iter().flatten() {
            message.body.extend_from_slice(&body);
        }
        message
    }
}

/// Buffers the parts of chunked messages of one connection until they are complete.
///
/// Time is passed in: call [`ChunkAssembler::poll_expired`] at [`ChunkAssembler::next_deadline`]
/// to get incomplete messages whose time is up (shown with the parts that did arrive).
#[derive(Debug, Default)]
pub struct ChunkAssembler {
    pending: Vec<PendingMessage>,
    /// Incomplete messages replaced by a new one with the same id, and when that happened.
    flushed: Vec<(Instant, MimeMessage)>,
}

impl ChunkAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one received message from account `sender`.
    pub fn push(&mut self, sender: &str, message: MimeMessage, now: Instant) -> ChunkOutcome {
        let Some(message_id) = message
            .header("Message-ID")
            .map(str::trim)
            .map(str::to_string)
        else {
            return ChunkOutcome::Ready(message);
        };
        let number = |name: &str| {
            message
                .header(name)
                .and_then(|v| v.trim().parse::<u32>().ok())
        };
        if let Some(chunks) = number("Chunks") {
            if !(2..=MAX_CHUNKS).contains(&chunks) {
                return ChunkOutcome::Ready(message);
            }
            if let Some(old) = self.take(sender, &message_id) {
                self.flushed.push((now, old.assemble()));
            }
            if self.pending.len() >= MAX_PENDING_MESSAGES {
                return ChunkOutcome::Ready(message);
            }
            let parts = (1..chunks).map(|_| None).collect();
            self.pending.push(PendingMessage {
                sender: sender.to_string(),
                message_id,
                first: message,
                parts,
                deadline: now.checked_add(CHUNK_TIMEOUT).unwrap_or(now),
            });
            return ChunkOutcome::Pending;
        }
        let Some(index) = number("Chunk") else {
            return ChunkOutcome::Ready(message);
        };
        let Some(pos) = self.position(sender, &message_id) else {
            return if message.content_type().is_some() {
                ChunkOutcome::Ready(message)
            } else {
                ChunkOutcome::Dropped
            };
        };
        let Some(pending) = self.pending.get_mut(pos) else {
            return ChunkOutcome::Dropped;
        };
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| pending.parts.get_mut(i));
        match slot {
            Some(slot @ None) => *slot = Some(message.body),
            _ => return ChunkOutcome::Dropped,
        }
        if pending.parts.iter().all(Option::is_some) {
            let done = self.pending.swap_remove(pos);
            return ChunkOutcome::Ready(done.assemble());
        }
        ChunkOutcome::Pending
    }

    /// When the oldest buffered message times out, if any message is buffered.
    pub fn next_deadline(&self) -> Option<Instant> {
        let flushed = self.flushed.iter().map(|(at, _)| *at);
        self.pending.iter().map(|p| p.deadline).chain(flushed).min()
    }

    /// Incomplete messages whose time is up at `now` (or that a new message with the same id
    /// replaced), each with the first part's headers and the bodies that arrived, in order.
    pub fn poll_expired(&mut self, now: Instant) -> Vec<MimeMessage> {
        let mut out: Vec<MimeMessage> = std::mem::take(&mut self.flushed)
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        let (expired, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.deadline <= now);
        self.pending = kept;
        out.extend(expired.into_iter().map(PendingMessage::assemble));
        out
    }

    /// Number of messages being buffered.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    fn position(&self, sender: &str, message_id: &str) -> Option<usize> {
        self.pending
            .iter()
            .position(|p| p.sender.eq_ignore_ascii_case(sender) && p.message_id == message_id)
    }

    fn take(&mut self, sender: &str, message_id: &str) -> Option<PendingMessage> {
        let pos = self.position(sender, message_id)?;
        Some(self.pending.swap_remove(pos))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Payload, TextMessage};
    use super::*;

    const ID: &str = "{A4B3F1B2-0000-4C5D-9E8F-0123456789AB}";

    fn first(chunks: u32, body: &str) -> MimeMessage {
        MimeMessage::parse(
            format!(
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nMessage-ID: {ID}\r\nChunks: {chunks}\r\n\r\n{body}"
            )
            .as_bytes(),
        )
    }

    fn part(index: u32, body: &str) -> MimeMessage {
        MimeMessage::parse(format!("Message-ID: {ID}\r\nChunk: {index}\r\n\r\n{body}").as_bytes())
    }

    fn text(outcome: ChunkOutcome) -> String {
        match outcome {
            ChunkOutcome::Ready(m) => match Payload::from_mime(&m) {
                Payload::Text(TextMessage { text, .. }) => text,
                other => panic!("not text: {other:?}"),
            },
            other => panic!("not ready: {other:?}"),
        }
    }

    #[test]
    fn reassembles_in_order() {
        let now = Instant::now();
        let mut a = ChunkAssembler::new();
        assert_eq!(
            a.push("bob@example.com", first(3, "Hel"), now),
            ChunkOutcome::Pending
        );
        assert_eq!(
            a.push("BOB@example.com", part(1, "lo, "), now),
            ChunkOutcome::Pending
        );
        assert_eq!(
            text(a.push("bob@example.com", part(2, "wörld"), now)),
            "Hello, wörld"
        );
        assert_eq!(a.pending_len(), 0);
        assert_eq!(a.next_deadline(), None);
    }

    #[test]
    fn unchunked_passes_through() {
        let mut a = ChunkAssembler::new();
        let m = MimeMessage::parse(b"Content-Type: text/plain\r\n\r\nhi");
        assert_eq!(
            a.push("x", m.clone(), Instant::now()),
            ChunkOutcome::Ready(m)
        );
    }

    #[test]
    fn too_many_chunks_shown_as_is() {
        let mut a = ChunkAssembler::new();
        let m = first(33, "part");
        assert_eq!(
            a.push("x", m.clone(), Instant::now()),
            ChunkOutcome::Ready(m)
        );
        let m = first(1, "one");
        assert_eq!(
            a.push("x", m.clone(), Instant::now()),
            ChunkOutcome::Ready(m)
        );
    }

    #[test]
    fn bad_parts_are_dropped() {
        let now = Instant::now();
        let mut a = ChunkAssembler::new();
        assert_eq!(a.push("x", part(1, "orphan"), now), ChunkOutcome::Dropped);
        a.push("x", first(2, "a"), now);
        assert_eq!(
            a.push("y", part(1, "other sender"), now),
            ChunkOutcome::Dropped
        );
        assert_eq!(a.push("x", part(0, "zero"), now), ChunkOutcome::Dropped);
        assert_eq!(a.push("x", part(2, "too far"), now), ChunkOutcome::Dropped);
        assert_eq!(text(a.push("x", part(1, "b"), now)), "ab");
    }

    #[test]
    fn times_out_with_what_arrived() {
        let now = Instant::now();
        let mut a = ChunkAssembler::new();
        a.push("x", first(3, "a"), now);
        a.push("x", part(2, "c"), now);
        assert_eq!(a.next_deadline(), Some(now + CHUNK_TIMEOUT));
        assert!(a.poll_expired(now + Duration::from_secs(59)).is_empty());
        let expired = a.poll_expired(now + CHUNK_TIMEOUT);
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].body, b"ac");
        assert_eq!(expired[0].header("Chunks"), None);
        assert_eq!(a.pending_len(), 0);
    }

    #[test]
    fn pending_messages_are_bounded() {
        let now = Instant::now();
        let mut a = ChunkAssembler::new();
        for i in 0..MAX_PENDING_MESSAGES {
            let m = MimeMessage::parse(format!("Message-ID: {i}\r\nChunks: 2\r\n\r\nx").as_bytes());
            assert_eq!(a.push("x", m, now), ChunkOutcome::Pending);
        }
        let m = MimeMessage::parse(b"Message-ID: extra\r\nChunks: 2\r\n\r\nx");
        assert!(matches!(a.push("x", m, now), ChunkOutcome::Ready(_)));
        assert_eq!(a.pending_len(), MAX_PENDING_MESSAGES);
    }
}
