//! `MpGroup`: a group header row as a GObject (name, online and total counts, expanded).

use std::cell::{Cell, RefCell};

use gtk::glib;
use gtk::glib::prelude::*;
use gtk::glib::subclass::prelude::*;

use super::roster::GroupSummary;

mod imp {
    use super::*;

    #[derive(Default, glib::Properties)]
    #[properties(wrapper_type = super::MpGroup)]
    pub struct MpGroup {
        /// The server's group id.
        #[property(get, set)]
        pub id: Cell<u32>,
        /// The group name (plain text).
        #[property(get, set)]
        pub name: RefCell<String>,
        /// Members online.
        #[property(get, set)]
        pub online: Cell<u32>,
        /// All members.
        #[property(get, set)]
        pub total: Cell<u32>,
        /// Whether the members are shown.
        #[property(get, set, default = true)]
        pub expanded: Cell<bool>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpGroup {
        const NAME: &'static str = "MpGroup";
        type Type = super::MpGroup;
    }

    #[glib::derived_properties]
    impl ObjectImpl for MpGroup {}
}

glib::wrapper! {
    /// A group header.
    pub struct MpGroup(ObjectSubclass<imp::MpGroup>);
}

impl MpGroup {
    /// A header for group `id`.
    pub fn new(id: u32) -> Self {
        glib::Object::builder()
            .property("id", id)
            .property("expanded", true)
            .build()
    }

    /// Updates the figures that differ.
    pub fn update(&self, s: &GroupSummary) {
        if self.name() != s.name {
            self.set_name(s.name.clone());
        }
        if self.online() != s.online {
            self.set_online(s.online);
        }
        if self.total() != s.total {
            self.set_total(s.total);
        }
    }
}
