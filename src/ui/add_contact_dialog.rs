//! `MpAddContactDialog`: asks for the e-mail address of a new contact and, optionally, the group
//! to put them in; the address is checked before "Add" becomes available.

use std::cell::RefCell;

use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::CompositeTemplate;
use msnp::proto::names::is_valid_account;

use crate::i18n::gettext;

/// What the user asked for: the address and the group id (`0` is Other Contacts).
pub type AddCallback = Box<dyn Fn(String, u32)>;

mod imp {
    use super::*;

    #[derive(Default, CompositeTemplate)]
    #[template(resource = "/io/github/mariposa/Mariposa/ui/add_contact_dialog.ui")]
    pub struct MpAddContactDialog {
        #[template_child]
        pub email_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub error_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub group_dropdown: TemplateChild<gtk::DropDown>,
        #[template_child]
        pub add_button: TemplateChild<gtk::Button>,
        pub group_ids: RefCell<Vec<u32>>,
        pub on_add: RefCell<Option<AddCallback>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpAddContactDialog {
        const NAME: &'static str = "MpAddContactDialog";
        type Type = super::MpAddContactDialog;
        type ParentType = gtk::Window;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.bind_template_callbacks();
            klass.add_binding_action(
                gtk::gdk::Key::Escape,
                gtk::gdk::ModifierType::empty(),
                "window.close",
            );
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    #[gtk::template_callbacks]
    impl MpAddContactDialog {
        #[template_callback]
        fn on_cancel(&self) {
            self.obj().close();
        }

        #[template_callback]
        fn on_add(&self) {
            self.obj().submit();
        }

        #[template_callback]
        fn on_email_changed(&self) {
            self.obj().validate();
        }
    }

    impl ObjectImpl for MpAddContactDialog {
        fn constructed(&self) {
            self.parent_constructed();
            self.obj().set_default_widget(Some(&*self.add_button));
        }
    }
    impl WidgetImpl for MpAddContactDialog {}
    impl WindowImpl for MpAddContactDialog {}
}

glib::wrapper! {
    /// The "Add a Contact" dialog.
    pub struct MpAddContactDialog(ObjectSubclass<imp::MpAddContactDialog>)
        @extends gtk::Widget, gtk::Window,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native, gtk::Root, gtk::ShortcutManager;
}

impl Default for MpAddContactDialog {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl MpAddContactDialog {
    /// A dialog offering `groups` (id, name; the first is preselected) that calls `on_add`.
    pub fn new(groups: &[(u32, String)], on_add: impl Fn(String, u32) + 'static) -> Self {
        let d = Self::default();
        let imp = d.imp();
        let names: Vec<&str> = groups.iter().map(|(_, n)| n.as_str()).collect();
        imp.group_dropdown
            .set_model(Some(&gtk::StringList::new(&names)));
        imp.group_ids
            .replace(groups.iter().map(|(id, _)| *id).collect());
        // Other Contacts (group 0) unless the caller put another group first on purpose.
        if let Some(pos) = groups.iter().position(|(id, _)| *id == 0) {
            imp.group_dropdown.set_selected(pos as u32);
        }
        imp.on_add.replace(Some(Box::new(on_add)));
        d
    }

    /// Fills in the address (tests, "add back" from a request).
    pub fn set_email(&self, email: &str) {
        self.imp().email_entry.set_text(email);
    }

    /// The address if it is valid (trimmed), else `None`; shows why not.
    pub fn validate(&self) -> Option<String> {
        let imp = self.imp();
        let text = imp.email_entry.text().trim().to_string();
        let valid = is_valid_account(&text);
        imp.add_button.set_sensitive(valid);
        let show_error = !text.is_empty() && !valid && (text.contains('@') || text.len() > 3);
        if show_error {
            imp.error_label.set_text(&gettext(
                "Enter a full e-mail address, such as name@example.com.",
            ));
            imp.email_entry.add_css_class("error");
        } else {
            imp.email_entry.remove_css_class("error");
        }
        imp.error_label.set_visible(show_error);
        valid.then_some(text)
    }

    /// The chosen group id.
    pub fn group(&self) -> u32 {
        let imp = self.imp();
        let pos = imp.group_dropdown.selected() as usize;
        imp.group_ids.borrow().get(pos).copied().unwrap_or(0)
    }

    /// Adds the contact (if the address is valid) and closes.
    pub fn submit(&self) {
        let Some(email) = self.validate() else {
            return;
        };
        let group = self.group();
        if let Some(f) = self.imp().on_add.borrow().as_ref() {
            f(email, group);
        }
        self.close();
    }
}
