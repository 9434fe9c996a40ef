//! `MpTransfer`: one file transfer (sent or received) as a conversation shows it — its state,
//! progress, rate and time left, and what it ended with — plus the pure helpers behind the text
//! (sizes, rates, durations) and the rate meter. The engine does the transfer itself; this model
//! only follows its events, and the user's answers leave through the `respond` signal.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gtk::glib;
use gtk::glib::prelude::*;
use gtk::glib::subclass::prelude::*;
use gtk::glib::subclass::Signal;

use crate::i18n::{gettext, gettext_f, ngettext};

/// Which way the file goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Direction {
    /// The user sends the file.
    Send = 0,
    /// The contact sends the file to the user.
    Receive = 1,
}

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum TransferState {
    /// Offered; waiting for the receiver's answer.
    Offered = 0,
    /// Accepted; the direct connection is being made.
    Connecting = 1,
    /// Bytes flow.
    Transferring = 2,
    /// The whole file arrived (or was sent).
    Completed = 3,
    /// The receiver said no.
    Declined = 4,
    /// One side cancelled.
    Cancelled = 5,
    /// It failed (`reason` says why).
    Failed = 6,
}

impl TransferState {
    fn from_u32(v: u32) -> Self {
        match v {
            1 => Self::Connecting,
            2 => Self::Transferring,
            3 => Self::Completed,
            4 => Self::Declined,
            5 => Self::Cancelled,
            6 => Self::Failed,
            _ => Self::Offered,
        }
    }

    /// Whether the transfer is over.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Declined | Self::Cancelled | Self::Failed
        )
    }
}

/// What the user answered on a transfer line (the `respond` signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Response {
    /// Accept an offer.
    Accept = 0,
    /// Decline an offer.
    Decline = 1,
    /// Stop the transfer.
    Cancel = 2,
}

impl Response {
    /// From the signal's number.
    pub fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(Self::Accept),
            1 => Some(Self::Decline),
            2 => Some(Self::Cancel),
            _ => None,
        }
    }
}

/// How far back the rate looks.
pub const RATE_WINDOW: Duration = Duration::from_secs(3);

/// A moving average of the transfer rate over [`RATE_WINDOW`].
#[derive(Debug, Default, Clone)]
pub struct RateMeter {
    samples: VecDeque<(Instant, u64)>,
}

impl RateMeter {
    /// Records that `bytes` had moved at `now`.
    pub fn record(&mut self, now: Instant, bytes: u64) {
        if self.samples.back().is_some_and(|(_, b)| *b > bytes) {
            self.samples.clear();
        }
        self.samples.push_back((now, bytes));
        // Keep one sample older than the window, so the span covers all of it.
        while self.samples.len() > 2
            && self
                .samples
                .get(1)
                .is_some_and(|(t, _)| now.duration_since(*t) >= RATE_WINDOW)
        {
            self.samples.pop_front();
        }
    }

    /// Bytes per second, once two samples at least 200 ms apart exist.
    pub fn rate(&self) -> Option<f64> {
        let (t0, b0) = *self.samples.front()?;
        let (t1, b1) = *self.samples.back()?;
        let span = t1.duration_since(t0).as_secs_f64();
        (span >= 0.2).then(|| (b1 - b0) as f64 / span)
    }

    /// The time the rest of `total` takes at the current rate.
    pub fn time_left(&self, bytes: u64, total: u64) -> Option<Duration> {
        let rate = self.rate()?;
        if rate <= 0.0 {
            return None;
        }
        let secs = total.saturating_sub(bytes) as f64 / rate;
        (secs < 1e9).then(|| Duration::from_secs_f64(secs.ceil()))
    }
}

/// A size in bytes for people: "1 byte", "2.0 kB", "5.2 MB" (GLib's decimal units).
pub fn format_size(bytes: u64) -> String {
    if bytes < 1000 {
        return ngettext("{} byte", "{} bytes", bytes.min(u64::from(u32::MAX)) as u32)
            .replace("{}", &bytes.to_string());
    }
    glib::format_size(bytes).to_string()
}

/// A rate for people: "800.0 kB/s".
pub fn format_rate(bytes_per_sec: f64) -> String {
    gettext_f(
        "{}/s",
        &[&format_size(bytes_per_sec.max(0.0).round() as u64)],
    )
}

/// A duration for people, at most two units: "5 s", "2 min 5 s", "1 h 12 min".
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        gettext_f("{} h {} min", &[&h.to_string(), &m.to_string()])
    } else if m > 0 {
        gettext_f("{} min {} s", &[&m.to_string(), &s.to_string()])
    } else {
        gettext_f("{} s", &[&s.to_string()])
    }
}

/// The engine's failure wordings that name the contact (`{}`), in [`describe_failure`]'s order.
const ENGINE_WITH_PEER: [&str; 14] = [
    "{}'s computer could not be reached",
    "{}'s computer did not answer",
    "No answer from {}",
    "{}'s program cannot receive files",
    "{}'s program broke the file transfer protocol",
    "{}'s program did not answer",
    "{} sent a different amount of data than announced",
    "{} stopped sending",
    "{} stopped receiving",
    "{} could not save the file",
    "The connection to {} was blocked or timed out",
    "{} sent invalid connection data",
    "The offer could not be delivered to {} (they may be offline)",
    "The answer could not be delivered to {} (they may be offline)",
];

/// The engine's failure reasons (English, with the contact's address) in the user's language
/// with the contact's name. A reason not known here is shown as it is, the address replaced by
/// the name.
pub fn describe_failure(reason: &str, peer: &str, name: &str) -> String {
    // Each pair: the engine's wording ("{}": the address) and the same as a translatable text.
    let with_peer: [(&str, String); 14] = [
        (
            ENGINE_WITH_PEER[0],
            gettext_f("{}’s computer could not be reached", &[name]),
        ),
        (
            ENGINE_WITH_PEER[1],
            gettext_f("{}’s computer did not answer", &[name]),
        ),
        (ENGINE_WITH_PEER[2], gettext_f("No answer from {}", &[name])),
        (
            ENGINE_WITH_PEER[3],
            gettext_f("{}’s program cannot receive files", &[name]),
        ),
        (
            ENGINE_WITH_PEER[4],
            gettext_f("{}’s program broke the file transfer protocol", &[name]),
        ),
        (
            ENGINE_WITH_PEER[5],
            gettext_f("{}’s program did not answer", &[name]),
        ),
        (
            ENGINE_WITH_PEER[6],
            gettext_f("{} sent a different amount of data than announced", &[name]),
        ),
        (
            ENGINE_WITH_PEER[7],
            gettext_f("{} stopped sending", &[name]),
        ),
        (
            ENGINE_WITH_PEER[8],
            gettext_f("{} stopped receiving", &[name]),
        ),
        (
            ENGINE_WITH_PEER[9],
            gettext_f("{} could not save the file", &[name]),
        ),
        (
            ENGINE_WITH_PEER[10],
            gettext_f("The connection to {} was blocked or timed out", &[name]),
        ),
        (
            ENGINE_WITH_PEER[11],
            gettext_f("{} sent invalid connection data", &[name]),
        ),
        (
            ENGINE_WITH_PEER[12],
            gettext_f(
                "The offer could not be delivered to {} (they may be offline)",
                &[name],
            ),
        ),
        (
            ENGINE_WITH_PEER[13],
            gettext_f(
                "The answer could not be delivered to {} (they may be offline)",
                &[name],
            ),
        ),
    ];
    for (english, translated) in with_peer {
        if reason == english.replace("{}", peer) {
            return translated;
        }
    }
    let fixed = [
        (
            "The file could not be transferred: the connection between the two computers failed (a firewall or router may be blocking it)",
            gettext("The connection between the two computers failed; a firewall or router may be blocking it"),
        ),
        ("The file transfer failed", gettext("The file transfer failed")),
        ("The file could not be saved", gettext("The file could not be saved")),
        ("The file could not be read", gettext("The file could not be read")),
    ];
    for (english, translated) in fixed {
        if reason == english {
            return translated;
        }
        // "<reason>: <detail>" keeps the system's detail.
        if let Some(detail) = reason
            .strip_prefix(english)
            .and_then(|r| r.strip_prefix(": "))
        {
            return format!("{translated}: {detail}");
        }
    }
    if peer.is_empty() || name.is_empty() {
        reason.to_string()
    } else {
        reason.replace(peer, name)
    }
}

/// The progress line: "1.2 MB of 5.0 MB — 800.0 kB/s, 5 s left".
pub fn progress_text(bytes: u64, total: u64, meter: &RateMeter) -> String {
    let amount = gettext_f("{} of {}", &[&format_size(bytes), &format_size(total)]);
    match (meter.rate(), meter.time_left(bytes, total)) {
        (Some(rate), Some(left)) => gettext_f(
            "{} — {}, {} left",
            &[&amount, &format_rate(rate), &format_duration(left)],
        ),
        _ => amount,
    }
}

mod imp {
    use super::*;

    #[derive(Default, glib::Properties)]
    #[properties(wrapper_type = super::MpTransfer)]
    pub struct MpTransfer {
        /// The engine's transfer id.
        #[property(get, set, construct_only)]
        pub id: Cell<u64>,
        /// `Direction` as a number.
        #[property(get, set, construct_only)]
        pub direction: Cell<u32>,
        /// The contact's account.
        #[property(get, set, construct_only)]
        pub peer: RefCell<String>,
        /// The contact's shown name (plain text).
        #[property(get, set)]
        pub peer_name: RefCell<String>,
        /// The file name (cleaned by the engine for received files).
        #[property(get, set, construct_only)]
        pub file_name: RefCell<String>,
        /// The announced size in bytes.
        #[property(get, set)]
        pub size: Cell<u64>,
        /// Bytes moved so far.
        #[property(get)]
        pub bytes: Cell<u64>,
        /// `TransferState` as a number.
        #[property(get)]
        pub state: Cell<u32>,
        /// The line under the file name (progress, result, reason).
        #[property(get)]
        pub status: RefCell<String>,
        /// Where the file is: the sent file, or the saved one once complete.
        #[property(get)]
        pub path: RefCell<String>,
        pub meter: RefCell<RateMeter>,
        /// Why it failed, or who cancelled it.
        pub reason: RefCell<String>,
        pub by_peer: Cell<bool>,
        pub confirmed: Cell<bool>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpTransfer {
        const NAME: &'static str = "MpTransfer";
        type Type = super::MpTransfer;
    }

    #[glib::derived_properties]
    impl ObjectImpl for MpTransfer {
        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| {
                vec![Signal::builder("respond")
                    .param_types([u32::static_type()])
                    .build()]
            })
        }
    }
}

glib::wrapper! {
    /// One file transfer.
    pub struct MpTransfer(ObjectSubclass<imp::MpTransfer>);
}

impl MpTransfer {
    /// A transfer just offered (by the user for [`Direction::Send`], by the contact otherwise).
    pub fn new(
        id: u64,
        direction: Direction,
        peer: &str,
        peer_name: &str,
        file_name: &str,
        size: u64,
    ) -> Self {
        let t: Self = glib::Object::builder()
            .property("id", id)
            .property("direction", direction as u32)
            .property("peer", peer)
            .property("peer-name", peer_name)
            .property("file-name", file_name)
            .property("size", size)
            .build();
        // Plain properties are set after `constructed`.
        t.refresh_status();
        t
    }

    /// Which way the file goes.
    pub fn dir(&self) -> Direction {
        if self.direction() == Direction::Receive as u32 {
            Direction::Receive
        } else {
            Direction::Send
        }
    }

    /// Where it stands.
    pub fn transfer_state(&self) -> TransferState {
        TransferState::from_u32(self.state())
    }

    /// Sets the path (the file being sent, known before the size is).
    pub fn set_path(&self, path: &str) {
        self.imp().path.replace(path.to_string());
        self.notify_path();
    }

    fn set_transfer_state(&self, state: TransferState) -> bool {
        if self.transfer_state().is_final() {
            return false;
        }
        self.imp().state.set(state as u32);
        self.notify_state();
        self.refresh_status();
        true
    }

    /// The user (or the contact) accepted: connecting.
    pub fn accepted(&self) {
        if self.transfer_state() == TransferState::Offered {
            self.set_transfer_state(TransferState::Connecting);
        }
    }

    /// Bytes start to flow.
    pub fn started(&self, now: Instant) {
        if matches!(
            self.transfer_state(),
            TransferState::Offered | TransferState::Connecting
        ) {
            self.imp().meter.borrow_mut().record(now, 0);
            self.set_transfer_state(TransferState::Transferring);
        }
    }

    /// `bytes` of `total` moved by `now`.
    pub fn progress(&self, bytes: u64, total: u64, now: Instant) {
        if self.transfer_state().is_final() {
            return;
        }
        if self.transfer_state() != TransferState::Transferring {
            self.started(now);
        }
        let imp = self.imp();
        imp.meter.borrow_mut().record(now, bytes);
        if total != self.size() {
            self.set_size(total);
        }
        imp.bytes.set(bytes);
        self.notify_bytes();
        self.refresh_status();
    }

    /// The file is complete (`path`: where it is); `confirmed` false when the receiver's
    /// confirmation never came.
    pub fn completed(&self, path: &str, confirmed: bool) {
        let imp = self.imp();
        if self.transfer_state().is_final() {
            return;
        }
        imp.confirmed.set(confirmed);
        imp.path.replace(path.to_string());
        imp.bytes.set(self.size());
        self.notify_bytes();
        self.notify_path();
        self.set_transfer_state(TransferState::Completed);
    }

    /// The receiver declined.
    pub fn declined(&self) {
        self.set_transfer_state(TransferState::Declined);
    }

    /// Cancelled by the contact (`by_peer`) or the user.
    pub fn cancelled(&self, by_peer: bool) {
        if !self.transfer_state().is_final() {
            self.imp().by_peer.set(by_peer);
            self.set_transfer_state(TransferState::Cancelled);
        }
    }

    /// Failed for `reason` (the contact's address in it is shown as their name).
    pub fn failed(&self, reason: &str) {
        if self.transfer_state().is_final() {
            return;
        }
        let reason = describe_failure(reason, &self.peer(), &self.peer_name());
        self.imp().reason.replace(reason);
        self.set_transfer_state(TransferState::Failed);
    }

    /// Asks for `response` (the line's buttons, a notification's buttons).
    pub fn respond(&self, response: Response) {
        self.emit_by_name::<()>("respond", &[&(response as u32)]);
    }

    /// Calls `f` when the user answers on this transfer.
    pub fn connect_respond<F: Fn(&Self, Response) + 'static>(&self, f: F) -> glib::SignalHandlerId {
        self.connect_local("respond", false, move |args| {
            let t = args[0].get::<Self>().ok()?;
            let r = args[1].get::<u32>().ok().and_then(Response::from_u32)?;
            f(&t, r);
            None
        })
    }

    /// The header line: "notes.txt (2.0 kB)".
    pub fn title(&self) -> String {
        gettext_f("{} ({})", &[&self.file_name(), &format_size(self.size())])
    }

    fn refresh_status(&self) {
        let text = self.compute_status(Instant::now());
        let imp = self.imp();
        if *imp.status.borrow() != text {
            imp.status.replace(text);
            self.notify_status();
        }
    }

    fn compute_status(&self, _now: Instant) -> String {
        let imp = self.imp();
        let name = self.peer_name();
        let send = self.dir() == Direction::Send;
        match self.transfer_state() {
            TransferState::Offered if send => {
                gettext_f("Waiting for {} to accept the file…", &[&name])
            }
            TransferState::Offered => gettext_f("{} wants to send you a file.", &[&name]),
            TransferState::Connecting => gettext("Connecting…"),
            TransferState::Transferring => {
                progress_text(self.bytes(), self.size(), &imp.meter.borrow())
            }
            TransferState::Completed if send && !imp.confirmed.get() => {
                gettext_f("Sent, but {} did not confirm receiving it.", &[&name])
            }
            TransferState::Completed if send => gettext("Sent."),
            TransferState::Completed => {
                let path = imp.path.borrow().clone();
                let shown = std::path::Path::new(&path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or(path);
                gettext_f("Received and saved as {}.", &[&shown])
            }
            TransferState::Declined if send => gettext_f("{} declined the file.", &[&name]),
            TransferState::Declined => gettext("You declined the file."),
            TransferState::Cancelled if imp.by_peer.get() => {
                gettext_f("{} cancelled the transfer.", &[&name])
            }
            TransferState::Cancelled => gettext("You cancelled the transfer."),
            TransferState::Failed => gettext_f(
                "The transfer failed: {}",
                &[imp.reason.borrow().trim_end_matches('.')],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(dir: Direction) -> MpTransfer {
        MpTransfer::new(7, dir, "bob@example.com", "Bob", "notes.txt", 10_000)
    }

    #[test]
    fn sizes_rates_and_durations_read_well() {
        assert_eq!(format_size(0), "0 bytes");
        assert_eq!(format_size(1), "1 byte");
        assert_eq!(format_size(999), "999 bytes");
        assert_eq!(format_size(2045), "2.0\u{a0}kB");
        assert_eq!(format_size(52_428_800), "52.4\u{a0}MB");
        assert_eq!(format_rate(800_000.0), "800.0\u{a0}kB/s");
        assert_eq!(format_duration(Duration::from_millis(4100)), "5 s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2 min 5 s");
        assert_eq!(
            format_duration(Duration::from_secs(3600 + 12 * 60 + 9)),
            "1 h 12 min"
        );
    }

    #[test]
    fn the_rate_is_a_moving_average_and_gives_the_time_left() {
        let t0 = Instant::now();
        let mut m = RateMeter::default();
        assert_eq!(m.rate(), None);
        m.record(t0, 0);
        m.record(t0 + Duration::from_millis(100), 100);
        assert_eq!(m.rate(), None, "too short a span");
        for s in 1..=10u64 {
            m.record(t0 + Duration::from_secs(s), s * 1000);
        }
        let rate = m.rate().unwrap();
        assert!((rate - 1000.0).abs() < 1e-6, "{rate}");
        assert_eq!(m.time_left(10_000, 15_000), Some(Duration::from_secs(5)));
        // The rate follows a slow-down within the window.
        for s in 11..=14u64 {
            m.record(t0 + Duration::from_secs(s), 10_000 + (s - 10) * 100);
        }
        let rate = m.rate().unwrap();
        assert!((rate - 100.0).abs() < 1e-6, "{rate}");
        let mut stalled = RateMeter::default();
        stalled.record(t0, 5);
        stalled.record(t0 + Duration::from_secs(1), 5);
        assert_eq!(stalled.time_left(5, 10), None);
        assert_eq!(
            progress_text(10_400, 15_000, &m),
            "10.4\u{a0}kB of 15.0\u{a0}kB — 100 bytes/s, 46 s left"
        );
    }

    #[test]
    fn a_sent_file_goes_from_offer_to_sent() {
        let x = t(Direction::Send);
        assert_eq!(x.transfer_state(), TransferState::Offered);
        assert_eq!(x.status(), "Waiting for Bob to accept the file…");
        assert_eq!(x.title(), "notes.txt (10.0\u{a0}kB)");
        let t0 = Instant::now();
        x.started(t0);
        assert_eq!(x.transfer_state(), TransferState::Transferring);
        x.progress(5000, 10_000, t0 + Duration::from_secs(1));
        assert_eq!(x.bytes(), 5000);
        assert_eq!(
            x.status(),
            "5.0\u{a0}kB of 10.0\u{a0}kB — 5.0\u{a0}kB/s, 1 s left"
        );
        x.completed("/tmp/notes.txt", true);
        assert_eq!(x.transfer_state(), TransferState::Completed);
        assert_eq!(x.bytes(), 10_000);
        assert_eq!(x.status(), "Sent.");
        // Nothing moves a finished transfer.
        x.failed("late");
        x.cancelled(true);
        x.progress(1, 10_000, t0);
        assert_eq!(x.transfer_state(), TransferState::Completed);
        assert_eq!(x.status(), "Sent.");
    }

    #[test]
    fn every_ending_is_worded() {
        let x = t(Direction::Send);
        x.declined();
        assert_eq!(x.status(), "Bob declined the file.");
        let x = t(Direction::Receive);
        assert_eq!(x.status(), "Bob wants to send you a file.");
        x.declined();
        assert_eq!(x.status(), "You declined the file.");
        let x = t(Direction::Receive);
        x.accepted();
        assert_eq!(x.transfer_state(), TransferState::Connecting);
        x.cancelled(true);
        assert_eq!(x.status(), "Bob cancelled the transfer.");
        let x = t(Direction::Send);
        x.cancelled(false);
        assert_eq!(x.status(), "You cancelled the transfer.");
        let x = t(Direction::Send);
        x.accepted();
        x.failed("bob@example.com's computer could not be reached");
        assert_eq!(x.transfer_state(), TransferState::Failed);
        assert_eq!(
            x.status(),
            "The transfer failed: Bob’s computer could not be reached"
        );
        let x = t(Direction::Send);
        x.completed("/tmp/notes.txt", false);
        assert_eq!(x.status(), "Sent, but Bob did not confirm receiving it.");
        let x = t(Direction::Receive);
        x.accepted();
        x.completed("/home/me/Downloads/notes (1).txt", true);
        assert_eq!(x.status(), "Received and saved as notes (1).txt.");
        assert_eq!(x.path(), "/home/me/Downloads/notes (1).txt");
    }

    #[test]
    fn engine_reasons_name_the_contact() {
        let d = |r: &str| describe_failure(r, "bob@example.com", "Bob");
        assert_eq!(d("bob@example.com stopped sending"), "Bob stopped sending");
        assert_eq!(
            d("The offer could not be delivered to bob@example.com (they may be offline)"),
            "The offer could not be delivered to Bob (they may be offline)"
        );
        assert_eq!(
            d("The file could not be saved: No space left on device (os error 28)"),
            "The file could not be saved: No space left on device (os error 28)"
        );
        // Not a known wording: as it is, with the name.
        assert_eq!(
            d("The connection from bob@example.com failed: reset"),
            "The connection from Bob failed: reset"
        );
        assert_eq!(describe_failure("x", "", "Bob"), "x");
    }

    #[test]
    fn the_known_wordings_are_the_engines() {
        let source = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/crates/msnp/src/client/transfer.rs"
        ))
        .expect("the engine's source");
        for wording in ENGINE_WITH_PEER {
            let found = ["{peer}", "{contact}", "{what}"].iter().any(|name| {
                source.contains(&wording.replace("{}", name))
                    || source.contains(
                        &wording
                            .replace("{}", "{peer}")
                            .replace("The offer could", "{what} could")
                            .replace("The answer could", "{what} could"),
                    )
            });
            assert!(found, "the engine no longer says {wording:?}");
        }
    }

    #[test]
    fn answers_leave_through_the_respond_signal() {
        let x = t(Direction::Receive);
        let got = std::rc::Rc::new(RefCell::new(Vec::new()));
        let g = got.clone();
        x.connect_respond(move |t, r| g.borrow_mut().push((t.id(), r)));
        x.respond(Response::Accept);
        x.respond(Response::Cancel);
        assert_eq!(
            *got.borrow(),
            [(7, Response::Accept), (7, Response::Cancel)]
        );
    }
}
