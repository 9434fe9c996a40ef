//! `MpChatPlaceholder`: a minimal conversation window (plain messages in and out) until the
//! real conversation view lands. Kept separate so it can be replaced whole.

use std::cell::RefCell;
use std::sync::OnceLock;

use gtk::glib;
use gtk::glib::subclass::Signal;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::CompositeTemplate;

use crate::i18n::{gettext, gettext_f};

mod imp {
    use super::*;

    #[derive(Default, CompositeTemplate)]
    #[template(resource = "/io/github/mariposa/Mariposa/ui/chat_placeholder.ui")]
    pub struct MpChatPlaceholder {
        #[template_child]
        pub title_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub subtitle_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub scroller: TemplateChild<gtk::ScrolledWindow>,
        #[template_child]
        pub log_view: TemplateChild<gtk::TextView>,
        #[template_child]
        pub message_entry: TemplateChild<gtk::Entry>,
        pub account: RefCell<String>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpChatPlaceholder {
        const NAME: &'static str = "MpChatPlaceholder";
        type Type = super::MpChatPlaceholder;
        type ParentType = gtk::Window;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.bind_template_callbacks();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    #[gtk::template_callbacks]
    impl MpChatPlaceholder {
        #[template_callback]
        fn on_send(&self) {
            let text = self.message_entry.text().to_string();
            if text.trim().is_empty() {
                return;
            }
            self.message_entry.set_text("");
            self.obj().emit_by_name::<()>("send", &[&text]);
        }
    }

    impl ObjectImpl for MpChatPlaceholder {
        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| {
                vec![Signal::builder("send")
                    .param_types([String::static_type()])
                    .build()]
            })
        }

        fn constructed(&self) {
            self.parent_constructed();
            let buffer = self.log_view.buffer();
            buffer.create_tag(Some("sender"), &[("weight", &700i32)]);
            buffer.create_tag(
                Some("me"),
                &[("weight", &700i32), ("foreground", &"#1c71d8")],
            );
            buffer.create_tag(
                Some("notice"),
                &[
                    ("style", &gtk::pango::Style::Italic),
                    ("foreground", &"#9a9996"),
                ],
            );
            buffer.create_tag(Some("error"), &[("foreground", &"#c01c28")]);
            self.message_entry.grab_focus();
        }
    }

    impl WidgetImpl for MpChatPlaceholder {}
    impl WindowImpl for MpChatPlaceholder {}
}

glib::wrapper! {
    /// A placeholder conversation window.
    pub struct MpChatPlaceholder(ObjectSubclass<imp::MpChatPlaceholder>)
        @extends gtk::Widget, gtk::Window,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native, gtk::Root, gtk::ShortcutManager;
}

impl MpChatPlaceholder {
    /// A window for the conversation with `account`.
    pub fn new(app: Option<&gtk::Application>, account: &str, name: &str) -> Self {
        let w: Self = glib::Object::new();
        w.set_application(app);
        w.imp().account.replace(account.to_string());
        w.imp().subtitle_label.set_text(account);
        w.set_contact_name(name);
        w
    }

    /// The contact's account.
    pub fn account(&self) -> String {
        self.imp().account.borrow().clone()
    }

    /// Updates the shown name.
    pub fn set_contact_name(&self, name: &str) {
        self.imp().title_label.set_text(name);
        self.set_title(Some(&gettext_f("{} — Conversation", &[name])));
    }

    fn append(&self, tag: &str, prefix: &str, text: &str) {
        let imp = self.imp();
        let buffer = imp.log_view.buffer();
        let mut end = buffer.end_iter();
        if buffer.char_count() > 0 {
            buffer.insert(&mut end, "\n");
        }
        if !prefix.is_empty() {
            buffer.insert_with_tags_by_name(&mut end, prefix, &[tag]);
            buffer.insert(&mut end, " ");
            buffer.insert(&mut end, text);
        } else {
            buffer.insert_with_tags_by_name(&mut end, text, &[tag]);
        }
        let mark = buffer.create_mark(None, &buffer.end_iter(), false);
        imp.log_view.scroll_mark_onscreen(&mark);
        buffer.delete_mark(&mark);
    }

    /// Shows a received message (plain text).
    pub fn add_received(&self, name: &str, text: &str) {
        self.append("sender", &gettext_f("{}:", &[name]), text);
    }

    /// Shows a sent message.
    pub fn add_sent(&self, text: &str) {
        self.append("me", &gettext("You:"), text);
    }

    /// Shows a notice (nudge, …).
    pub fn add_notice(&self, text: &str) {
        self.append("notice", "", text);
    }

    /// Shows that a message was not delivered and gives its text back to the entry if empty.
    pub fn add_failure(&self, text: &str, reason: &str) {
        self.append(
            "error",
            "",
            &gettext_f("Not delivered: “{}” ({})", &[text, reason]),
        );
        let entry = &self.imp().message_entry;
        if entry.text().is_empty() {
            entry.set_text(text);
            entry.set_position(-1);
        }
    }

    /// Calls `f` with the text when the user sends a message.
    pub fn connect_send<F: Fn(&Self, String) + 'static>(&self, f: F) {
        self.connect_local("send", false, move |args| {
            let w = args[0].get::<Self>().ok()?;
            let text = args[1].get::<String>().ok()?;
            f(&w, text);
            None
        });
    }
}
