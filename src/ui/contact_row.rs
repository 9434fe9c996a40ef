//! `MpContactRow`: one contact in the list (status icon, name, status), bound to an
//! [`MpContact`]. Rows are recycled, so binding swaps the object and its notify handler.

use std::cell::RefCell;

use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::CompositeTemplate;
use msnp::proto::command::Status;

use super::a11y;
use crate::model::presence;
use crate::model::MpContact;

mod imp {
    use super::*;

    #[derive(Default, CompositeTemplate)]
    #[template(resource = "/io/github/mariposa/Mariposa/ui/contact_row.ui")]
    pub struct MpContactRow {
        #[template_child]
        pub icon: TemplateChild<gtk::Image>,
        #[template_child]
        pub name_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub status_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub blocked_label: TemplateChild<gtk::Label>,
        pub contact: RefCell<Option<(MpContact, glib::SignalHandlerId)>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpContactRow {
        const NAME: &'static str = "MpContactRow";
        type Type = super::MpContactRow;
        type ParentType = gtk::Widget;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.set_layout_manager_type::<gtk::BinLayout>();
            klass.set_css_name("contactrow");
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for MpContactRow {
        fn constructed(&self) {
            self.parent_constructed();
            self.obj().add_css_class("contact-row");
            self.name_label.add_css_class("contact-name");
        }

        fn dispose(&self) {
            self.obj().unbind();
            self.dispose_template();
            while let Some(child) = self.obj().first_child() {
                child.unparent();
            }
        }
    }

    impl WidgetImpl for MpContactRow {}
}

glib::wrapper! {
    /// A contact row.
    pub struct MpContactRow(ObjectSubclass<imp::MpContactRow>)
        @extends gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget;
}

impl Default for MpContactRow {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl MpContactRow {
    /// A new, unbound row.
    pub fn new() -> Self {
        Self::default()
    }

    /// Shows `contact` (and follows its changes until [`Self::unbind`]).
    pub fn bind(&self, contact: &MpContact) {
        self.unbind();
        let weak = self.downgrade();
        let handler = contact.connect_notify_local(None, move |c, _| {
            if let Some(row) = weak.upgrade() {
                row.refresh(c);
            }
        });
        self.refresh(contact);
        self.imp().contact.replace(Some((contact.clone(), handler)));
    }

    /// Stops following the bound contact.
    pub fn unbind(&self) {
        if let Some((contact, handler)) = self.imp().contact.take() {
            contact.disconnect(handler);
            // A pooled row must not keep answering to the old contact's name.
            a11y::set_label(self, "", None);
        }
    }

    /// The bound contact.
    pub fn contact(&self) -> Option<MpContact> {
        self.imp().contact.borrow().as_ref().map(|(c, _)| c.clone())
    }

    fn refresh(&self, c: &MpContact) {
        let imp = self.imp();
        let name = c.name();
        imp.icon.set_icon_name(Some(&c.icon_name()));
        imp.name_label.set_text(&name);
        let status = c.status_text();
        // "Online" goes without saying; every other status is written next to the name.
        let available = presence::label(&Status::Online);
        let shown_status = if status == available {
            String::new()
        } else {
            status.clone()
        };
        imp.status_label.set_text(&shown_status);
        imp.status_label.set_visible(!shown_status.is_empty());
        let account = c.account();
        self.set_tooltip_text(Some(&format!("{name}\n{account}\n{status}")));
        if c.online() {
            self.remove_css_class("offline");
        } else {
            self.add_css_class("offline");
        }
        imp.blocked_label.set_visible(c.blocked());
        let status = if c.blocked() {
            crate::i18n::gettext_f("{}, blocked", &[&status])
        } else {
            status
        };
        a11y::set_label(self, &name, Some(&format!("{account}, {status}")));
    }
}
