//! `MpMessage`: one line of a conversation (received, own or a system line) as a GObject that
//! message rows bind to. Its text is plain text and is never interpreted as markup.

use std::cell::{Cell, RefCell};

use gtk::glib;
use gtk::glib::prelude::*;
use gtk::glib::subclass::prelude::*;

use super::transfer::MpTransfer;

/// Who wrote a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum MessageKind {
    /// From the contact.
    Received = 0,
    /// From the user.
    Own = 1,
    /// A notice ("Bob has joined", nudges, failures).
    System = 2,
}

/// Delivery state of an own line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum DeliveryState {
    /// Not an own line, or nothing to track.
    None = 0,
    /// Sent, not yet confirmed.
    Pending = 1,
    /// Every piece was delivered.
    Delivered = 2,
    /// At least one piece failed.
    Failed = 3,
}

impl DeliveryState {
    fn from_u32(v: u32) -> Self {
        match v {
            1 => DeliveryState::Pending,
            2 => DeliveryState::Delivered,
            3 => DeliveryState::Failed,
            _ => DeliveryState::None,
        }
    }
}

mod imp {
    use super::*;

    #[derive(Default, glib::Properties)]
    #[properties(wrapper_type = super::MpMessage)]
    pub struct MpMessage {
        /// A number unique in the conversation (names the line for "Retry").
        #[property(get, set)]
        pub serial: Cell<u64>,
        /// `MessageKind` as a number.
        #[property(get, set)]
        pub kind: Cell<u32>,
        /// The sender's shown name (plain text).
        #[property(get, set)]
        pub sender: RefCell<String>,
        /// The text (plain text).
        #[property(get, set)]
        pub text: RefCell<String>,
        /// Local time "HH:MM".
        #[property(get, set)]
        pub time: RefCell<String>,
        /// `DeliveryState` as a number.
        #[property(get, set)]
        pub state: Cell<u32>,
        /// Why delivery failed.
        #[property(get, set)]
        pub reason: RefCell<String>,
        /// A line from the log, shown greyed.
        #[property(get, set)]
        pub history: Cell<bool>,
        /// Pieces still unconfirmed.
        pub outstanding: Cell<u32>,
        /// Opaque formatting (`X-MMS-IM-Format` value), empty for none.
        #[property(get, set)]
        pub format: RefCell<String>,
        /// The file transfer this line shows (its invitation line), if any.
        #[property(get, set, nullable)]
        pub transfer: RefCell<Option<MpTransfer>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpMessage {
        const NAME: &'static str = "MpMessage";
        type Type = super::MpMessage;
    }

    #[glib::derived_properties]
    impl ObjectImpl for MpMessage {}
}

glib::wrapper! {
    /// One line of a conversation.
    pub struct MpMessage(ObjectSubclass<imp::MpMessage>);
}

/// The local time as "HH:MM".
pub fn now_hhmm() -> String {
    glib::DateTime::now_local()
        .and_then(|t| t.format("%H:%M"))
        .map(|s| s.to_string())
        .unwrap_or_default()
}

impl MpMessage {
    /// A new line.
    pub fn new(kind: MessageKind, sender: &str, text: &str) -> Self {
        glib::Object::builder()
            .property("kind", kind as u32)
            .property("sender", sender)
            .property("text", text)
            .property("time", now_hhmm())
            .build()
    }

    /// A system line showing the file transfer `transfer`.
    pub fn for_transfer(transfer: &MpTransfer) -> Self {
        glib::Object::builder()
            .property("kind", MessageKind::System as u32)
            .property("text", transfer.title())
            .property("time", now_hhmm())
            .property("transfer", transfer)
            .build()
    }

    /// Who wrote it.
    pub fn message_kind(&self) -> MessageKind {
        match self.kind() {
            1 => MessageKind::Own,
            2 => MessageKind::System,
            _ => MessageKind::Received,
        }
    }

    /// The delivery state.
    pub fn delivery(&self) -> DeliveryState {
        DeliveryState::from_u32(self.state())
    }

    /// Marks the line as sent in `pieces` messages.
    pub fn set_pending(&self, pieces: u32) {
        self.imp().outstanding.set(pieces);
        self.set_reason("");
        self.set_state(if pieces == 0 {
            DeliveryState::Failed as u32
        } else {
            DeliveryState::Pending as u32
        });
    }

    /// One piece was delivered.
    pub fn piece_delivered(&self) {
        let left = self.imp().outstanding.get().saturating_sub(1);
        self.imp().outstanding.set(left);
        if left == 0 && self.delivery() == DeliveryState::Pending {
            self.set_state(DeliveryState::Delivered as u32);
        }
    }

    /// A piece failed.
    pub fn piece_failed(&self, reason: &str) {
        self.set_reason(reason);
        self.set_state(DeliveryState::Failed as u32);
    }
}
