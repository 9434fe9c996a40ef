//! `MpConversation`: what the user sees of a chat with one contact — the list of lines, the
//! delivery state of sent ones and who is typing. Transport (switchboards) stays in the engine.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use gtk::gio::prelude::*;
use gtk::glib::subclass::prelude::*;
use gtk::{gio, glib};

use super::message::{MessageKind, MpMessage};

mod imp {
    use super::*;

    #[derive(Default, glib::Properties)]
    #[properties(wrapper_type = super::MpConversation)]
    pub struct MpConversation {
        /// The contact's account.
        #[property(get, set)]
        pub account: RefCell<String>,
        /// The contact's shown name (plain text).
        #[property(get, set)]
        pub name: RefCell<String>,
        /// "Bob is typing…" or empty.
        #[property(get, set)]
        pub typing_text: RefCell<String>,
        /// The lines, oldest first.
        pub messages: RefCell<Option<gio::ListStore>>,
        /// Engine message id → the line it belongs to.
        pub pending: RefCell<HashMap<u64, MpMessage>>,
        /// The next line serial.
        pub next_serial: Cell<u64>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpConversation {
        const NAME: &'static str = "MpConversation";
        type Type = super::MpConversation;
    }

    #[glib::derived_properties]
    impl ObjectImpl for MpConversation {
        fn constructed(&self) {
            self.parent_constructed();
            self.messages
                .replace(Some(gio::ListStore::new::<MpMessage>()));
        }
    }
}

glib::wrapper! {
    /// The conversation with one contact.
    pub struct MpConversation(ObjectSubclass<imp::MpConversation>);
}

impl MpConversation {
    /// A conversation with `account`, shown as `name`.
    pub fn new(account: &str, name: &str) -> Self {
        glib::Object::builder()
            .property("account", account)
            .property("name", name)
            .build()
    }

    /// The lines, oldest first.
    pub fn messages(&self) -> gio::ListStore {
        self.imp()
            .messages
            .borrow()
            .clone()
            .expect("created in constructed")
    }

    /// Appends a line and returns it.
    pub fn push(&self, kind: MessageKind, sender: &str, text: &str) -> MpMessage {
        let m = MpMessage::new(kind, sender, text);
        self.append(&m);
        m
    }

    /// Appends an existing line object (gives it a serial).
    pub fn append(&self, m: &MpMessage) {
        let serial = self.imp().next_serial.get() + 1;
        self.imp().next_serial.set(serial);
        m.set_serial(serial);
        self.messages().append(m);
    }

    /// The line with `serial`.
    pub fn find(&self, serial: u64) -> Option<MpMessage> {
        let store = self.messages();
        (0..store.n_items())
            .rev()
            .filter_map(|i| store.item(i).and_downcast::<MpMessage>())
            .find(|m| m.serial() == serial)
    }

    /// Remembers that `ids` carry `message`.
    pub fn track(&self, message: &MpMessage, ids: &[u64]) {
        message.set_pending(ids.len() as u32);
        let mut pending = self.imp().pending.borrow_mut();
        for id in ids {
            pending.insert(*id, message.clone());
        }
    }

    /// Resolves `id` as delivered; false if it is not ours.
    pub fn delivered(&self, id: u64) -> bool {
        let m = self.imp().pending.borrow_mut().remove(&id);
        match m {
            Some(m) => {
                m.piece_delivered();
                true
            }
            None => false,
        }
    }

    /// Resolves `id` as failed; false if it is not ours.
    pub fn failed(&self, id: u64, reason: &str) -> bool {
        let m = self.imp().pending.borrow_mut().remove(&id);
        match m {
            Some(m) => {
                m.piece_failed(reason);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::message::DeliveryState;

    #[test]
    fn delivery_of_split_messages() {
        let c = MpConversation::new("bob@example.com", "Bob");
        let m = c.push(MessageKind::Own, "Me", "long");
        c.track(&m, &[1, 2]);
        assert_eq!(m.delivery(), DeliveryState::Pending);
        assert!(c.delivered(1));
        assert_eq!(m.delivery(), DeliveryState::Pending);
        assert!(c.delivered(2));
        assert_eq!(m.delivery(), DeliveryState::Delivered);
        assert!(!c.delivered(2));
        let m2 = c.push(MessageKind::Own, "Me", "lost");
        c.track(&m2, &[3]);
        assert!(c.failed(3, "closed"));
        assert_eq!(m2.delivery(), DeliveryState::Failed);
        assert_eq!(m2.reason(), "closed");
        assert_eq!(c.find(m2.serial()), Some(m2));
        assert_eq!(c.messages().n_items(), 2);
    }
}
