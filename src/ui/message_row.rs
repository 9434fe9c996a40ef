//! `MpMessageRow`: the widget a conversation's `GtkListView` shows for one `MpMessage`. Rows are
//! recycled, so everything shown comes from the bound message; message text reaches Pango only
//! through `rich_text::to_markup`, which escapes it.

use std::cell::RefCell;

use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;

use super::transfer_row::MpTransferRow;
use crate::i18n::{gettext, gettext_f};
use crate::model::message::{DeliveryState, MessageKind, MpMessage};
use crate::model::rich_text;
use msnp::proto::payload::TextFormat;

mod imp {
    use super::*;

    #[derive(Default)]
    pub struct MpMessageRow {
        pub sender: gtk::Label,
        pub time: gtk::Label,
        pub status: gtk::Label,
        pub text: gtk::Label,
        pub retry: gtk::Button,
        /// A file transfer's line (shown instead of the text for transfer lines).
        pub transfer: MpTransferRow,
        pub failure: gtk::Label,
        pub message: RefCell<Option<MpMessage>>,
        pub handler: RefCell<Option<glib::SignalHandlerId>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpMessageRow {
        const NAME: &'static str = "MpMessageRow";
        type Type = super::MpMessageRow;
        type ParentType = gtk::Box;
    }

    impl ObjectImpl for MpMessageRow {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            obj.set_orientation(gtk::Orientation::Vertical);
            obj.set_spacing(2);
            obj.add_css_class("message-row");
            let header = gtk::Box::new(gtk::Orientation::Horizontal, 6);
            self.sender.add_css_class("heading");
            self.sender.set_xalign(0.0);
            self.sender.set_ellipsize(gtk::pango::EllipsizeMode::End);
            self.time.add_css_class("dim-label");
            self.time.add_css_class("caption");
            self.status.add_css_class("caption");
            self.status.set_hexpand(true);
            self.status.set_xalign(1.0);
            header.append(&self.sender);
            header.append(&self.time);
            header.append(&self.status);
            obj.append(&header);
            self.text.set_xalign(0.0);
            self.text.set_wrap(true);
            self.text.set_wrap_mode(gtk::pango::WrapMode::WordChar);
            self.text.set_selectable(true);
            self.text.set_use_markup(false);
            obj.append(&self.text);
            self.retry.set_label(&gettext("Retry"));
            self.retry.set_halign(gtk::Align::End);
            self.retry.set_visible(false);
            let weak = obj.downgrade();
            self.retry.connect_clicked(move |b| {
                let Some(row) = weak.upgrade() else { return };
                let serial = row.imp().message.borrow().as_ref().map(|m| m.serial());
                if let Some(serial) = serial {
                    let _ = b.activate_action("chat.retry", Some(&serial.to_variant()));
                }
            });
            // The failure reason goes under the text, beside Retry, so a long reason never
            // squeezes the sender's name in the header.
            let footer = gtk::Box::new(gtk::Orientation::Horizontal, 6);
            self.failure.add_css_class("error");
            self.failure.add_css_class("caption");
            self.failure.set_xalign(0.0);
            self.failure.set_hexpand(true);
            self.failure.set_wrap(true);
            self.failure.set_wrap_mode(gtk::pango::WrapMode::WordChar);
            self.failure.set_visible(false);
            self.retry.set_valign(gtk::Align::Center);
            footer.append(&self.failure);
            footer.append(&self.retry);
            obj.append(&footer);
            self.transfer.set_visible(false);
            obj.append(&self.transfer);
        }
    }

    impl WidgetImpl for MpMessageRow {}
    impl BoxImpl for MpMessageRow {}
}

glib::wrapper! {
    /// One line of a conversation.
    pub struct MpMessageRow(ObjectSubclass<imp::MpMessageRow>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl Default for MpMessageRow {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl MpMessageRow {
    /// Shows `message` (and follows its delivery state).
    pub fn bind(&self, message: &MpMessage) {
        self.unbind();
        let imp = self.imp();
        let kind = message.message_kind();
        let is_transfer = message.transfer().is_some();
        for (class, on) in [
            ("own", kind == MessageKind::Own),
            ("system", kind == MessageKind::System && !is_transfer),
            ("transfer", is_transfer),
            ("history", message.history()),
        ] {
            if on {
                self.add_css_class(class);
            } else {
                self.remove_css_class(class);
            }
        }
        imp.sender.set_text(&message.sender());
        imp.sender.set_visible(kind != MessageKind::System);
        imp.time.set_text(&message.time());
        if kind == MessageKind::System {
            imp.text.set_text(&message.text());
        } else {
            let format = message.format();
            let format = (!format.is_empty()).then(|| TextFormat::parse(&format));
            imp.text
                .set_markup(&rich_text::to_markup(&message.text(), format.as_ref()));
        }
        let transfer = message.transfer();
        imp.text.set_visible(transfer.is_none());
        imp.transfer.set_visible(transfer.is_some());
        if let Some(t) = &transfer {
            imp.transfer.bind(t);
        }
        let weak = self.downgrade();
        let id = message.connect_notify_local(Some("state"), move |m, _| {
            if let Some(row) = weak.upgrade() {
                row.update_state(m);
            }
        });
        imp.handler.replace(Some(id));
        imp.message.replace(Some(message.clone()));
        self.update_state(message);
    }

    /// Forgets the message (the row is recycled).
    pub fn unbind(&self) {
        let imp = self.imp();
        let old = imp.message.take();
        imp.transfer.unbind();
        if let (Some(m), Some(id)) = (old, imp.handler.take()) {
            m.disconnect(id);
        }
    }

    fn update_state(&self, m: &MpMessage) {
        let imp = self.imp();
        let (text, failed) = match m.delivery() {
            DeliveryState::None => (String::new(), false),
            DeliveryState::Pending => (gettext("Sending…"), false),
            DeliveryState::Delivered => (gettext("Delivered"), false),
            DeliveryState::Failed => (gettext("Not delivered"), true),
        };
        imp.failure.set_text(&if failed {
            gettext_f("Message could not be delivered: {}", &[&m.reason()])
        } else {
            String::new()
        });
        imp.failure.set_visible(failed);
        imp.status.set_text(&text);
        imp.status.set_visible(!text.is_empty());
        if failed {
            imp.status.add_css_class("error");
        } else {
            imp.status.remove_css_class("error");
        }
        imp.retry.set_visible(failed);
    }
}

/// The list item factory of a conversation's lines (chat and history windows): one
/// [`MpMessageRow`] per item, bound to its [`MpMessage`]. `selectable`: whether the list's
/// selection model may select the rows.
pub fn factory(selectable: bool) -> gtk::SignalListItemFactory {
    let factory = gtk::SignalListItemFactory::new();
    factory.connect_setup(move |_, item| {
        if let Some(item) = item.downcast_ref::<gtk::ListItem>() {
            item.set_activatable(false);
            item.set_selectable(selectable);
            item.set_child(Some(&MpMessageRow::default()));
        }
    });
    factory.connect_bind(|_, item| {
        let Some(item) = item.downcast_ref::<gtk::ListItem>() else {
            return;
        };
        let row = item.child().and_downcast::<MpMessageRow>();
        let msg = item.item().and_downcast::<MpMessage>();
        if let (Some(row), Some(msg)) = (row, msg) {
            row.bind(&msg);
        }
    });
    factory.connect_unbind(|_, item| {
        let Some(item) = item.downcast_ref::<gtk::ListItem>() else {
            return;
        };
        if let Some(row) = item.child().and_downcast::<MpMessageRow>() {
            row.unbind();
        }
    });
    factory
}
