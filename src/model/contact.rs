//! `MpContact`: one contact as a GObject, whose properties rows bind to. Rows are recycled, so
//! all state lives here.

use std::cell::{Cell, RefCell};

use gtk::glib;
use gtk::glib::prelude::*;
use gtk::glib::subclass::prelude::*;

use super::presence;
use super::roster::ContactData;

mod imp {
    use super::*;

    #[derive(Default, glib::Properties)]
    #[properties(wrapper_type = super::MpContact)]
    pub struct MpContact {
        /// The account (e-mail address).
        #[property(get, set)]
        pub account: RefCell<String>,
        /// The name shown (plain text, never markup).
        #[property(get, set)]
        pub name: RefCell<String>,
        /// The translated status name.
        #[property(get, set)]
        pub status_text: RefCell<String>,
        /// The status icon name.
        #[property(get, set)]
        pub icon_name: RefCell<String>,
        /// Whether the contact is online.
        #[property(get, set)]
        pub online: Cell<bool>,
        /// Whether the contact is blocked.
        #[property(get, set)]
        pub blocked: Cell<bool>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpContact {
        const NAME: &'static str = "MpContact";
        type Type = super::MpContact;
    }

    #[glib::derived_properties]
    impl ObjectImpl for MpContact {}
}

glib::wrapper! {
    /// A contact of the list.
    pub struct MpContact(ObjectSubclass<imp::MpContact>);
}

impl MpContact {
    /// A contact object showing `data`.
    pub fn new(data: &ContactData) -> Self {
        let c: Self = glib::Object::new();
        c.set_account(data.account.clone());
        c.update(data);
        c
    }

    /// Updates the properties that differ (so bound rows redraw only on real changes).
    pub fn update(&self, data: &ContactData) {
        if self.name() != data.display_name() {
            self.set_name(data.display_name());
        }
        let text = presence::label(&data.status);
        if self.status_text() != text {
            self.set_status_text(text);
        }
        let icon = presence::icon_name(&data.status);
        if self.icon_name() != icon {
            self.set_icon_name(icon);
        }
        if self.blocked() != data.blocked {
            self.set_blocked(data.blocked);
        }
        if self.online() != data.is_online() {
            self.set_online(data.is_online());
        }
    }
}
