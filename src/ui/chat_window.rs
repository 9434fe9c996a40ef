//! `MpChatWindow`: the window of one conversation — the message list (newest pinned at the bottom
//! unless the user scrolled up), the input (Enter sends, Shift+Enter adds a line), typing
//! notices and nudges. It talks to the session only through its signals.

use std::cell::{Cell, RefCell};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gtk::glib::subclass::Signal;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::CompositeTemplate;
use gtk::{gdk, glib};

use super::message_row::MpMessageRow;
use crate::i18n::{gettext, gettext_f};
use crate::model::conversation::MpConversation;
use crate::model::message::{MessageKind, MpMessage};
use crate::store::history;

/// At most one outgoing typing notification per this time (messages.md §3.2).
pub const TYPING_SEND_INTERVAL: Duration = Duration::from_secs(5);
/// How long "… is typing" stays after a notification.
pub const TYPING_SHOW_TIME: Duration = Duration::from_secs(6);
/// At most one nudge sent, and one shake shown, per this time.
pub const NUDGE_INTERVAL: Duration = Duration::from_secs(5);

mod imp {
    use super::*;

    #[derive(Default, CompositeTemplate)]
    #[template(resource = "/io/github/mariposa/Mariposa/ui/chat_window.ui")]
    pub struct MpChatWindow {
        #[template_child]
        pub title_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub subtitle_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub content: TemplateChild<gtk::Box>,
        #[template_child]
        pub scroller: TemplateChild<gtk::ScrolledWindow>,
        #[template_child]
        pub message_list: TemplateChild<gtk::ListView>,
        #[template_child]
        pub typing_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub input_view: TemplateChild<gtk::TextView>,
        pub conversation: RefCell<Option<MpConversation>>,
        /// Whether the view follows new lines (the user has not scrolled up).
        pub pinned: Cell<bool>,
        pub last_typing_sent: Cell<Option<Instant>>,
        pub last_nudge_sent: Cell<Option<Instant>>,
        pub last_shake: Cell<Option<Instant>>,
        pub typing_timer: RefCell<Option<glib::SourceId>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpChatWindow {
        const NAME: &'static str = "MpChatWindow";
        type Type = super::MpChatWindow;
        type ParentType = gtk::Window;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.install_action("chat.send", None, |win, _, _| win.send_input());
            klass.install_action("chat.nudge", None, |win, _, _| win.send_nudge());
            klass.install_action("chat.send-file", None, |win, _, _| win.choose_files());
            klass.install_action(
                "chat.retry",
                Some(glib::VariantTy::UINT64),
                |win, _, param| {
                    if let Some(serial) = param.and_then(|p| p.get::<u64>()) {
                        win.emit_by_name::<()>("retry", &[&serial]);
                    }
                },
            );
            klass.add_binding_action(gdk::Key::g, gdk::ModifierType::CONTROL_MASK, "chat.nudge");
            klass.install_action("chat.history", None, |win, _, _| win.show_history());
            klass.add_binding_action(gdk::Key::h, gdk::ModifierType::CONTROL_MASK, "chat.history");
            klass.add_binding_action(gdk::Key::w, gdk::ModifierType::CONTROL_MASK, "window.close");
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for MpChatWindow {
        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| {
                vec![
                    Signal::builder("send")
                        .param_types([MpMessage::static_type()])
                        .build(),
                    Signal::builder("retry")
                        .param_types([u64::static_type()])
                        .build(),
                    Signal::builder("nudge").build(),
                    Signal::builder("typing").build(),
                    // A file to offer, chosen or dropped: see `transfers.rs`.
                    Signal::builder("send-file")
                        .param_types([gtk::gio::File::static_type()])
                        .build(),
                ]
            })
        }

        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            self.pinned.set(true);

            let factory = gtk::SignalListItemFactory::new();
            factory.connect_setup(|_, item| {
                if let Some(item) = item.downcast_ref::<gtk::ListItem>() {
                    item.set_activatable(false);
                    item.set_selectable(false);
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
            self.message_list.set_factory(Some(&factory));

            // Follow the bottom while pinned; the user scrolling up unpins.
            let adj = self.scroller.vadjustment();
            let weak = obj.downgrade();
            adj.connect_value_changed(move |a| {
                if let Some(win) = weak.upgrade() {
                    let bottom = a.upper() - a.page_size();
                    win.imp().pinned.set(a.value() >= bottom - 24.0);
                }
            });
            let weak = obj.downgrade();
            adj.connect_changed(move |a| {
                if let Some(win) = weak.upgrade() {
                    if win.imp().pinned.get() {
                        a.set_value(a.upper() - a.page_size());
                        // During a layout the list view keeps its own position: follow the
                        // bottom again once the layout is over (lines measured or grown).
                        let a = a.clone();
                        glib::idle_add_local_once(move || {
                            if win.imp().pinned.get() {
                                // A value it already has would not move the view.
                                let bottom = a.upper() - a.page_size();
                                a.set_value(bottom - 1.0);
                                a.set_value(bottom);
                            }
                        });
                    }
                }
            });

            // Enter sends, Shift+Enter inserts a line break.
            let keys = gtk::EventControllerKey::new();
            keys.set_propagation_phase(gtk::PropagationPhase::Capture);
            let weak = obj.downgrade();
            keys.connect_key_pressed(move |_, key, _, mods| {
                let enter = matches!(key, gdk::Key::Return | gdk::Key::KP_Enter);
                if enter && !mods.contains(gdk::ModifierType::SHIFT_MASK) {
                    if let Some(win) = weak.upgrade() {
                        win.send_input();
                    }
                    return glib::Propagation::Stop;
                }
                glib::Propagation::Proceed
            });
            self.input_view.add_controller(keys);

            let weak = obj.downgrade();
            self.input_view.buffer().connect_changed(move |b| {
                if b.char_count() == 0 {
                    return;
                }
                let Some(win) = weak.upgrade() else { return };
                let imp = win.imp();
                let due = imp
                    .last_typing_sent
                    .get()
                    .is_none_or(|t| t.elapsed() >= TYPING_SEND_INTERVAL);
                if due {
                    imp.last_typing_sent.set(Some(Instant::now()));
                    win.emit_by_name::<()>("typing", &[]);
                }
            });
            self.typing_label.set_visible(false);
            obj.setup_file_drop();
        }

        fn dispose(&self) {
            if let Some(id) = self.typing_timer.take() {
                id.remove();
            }
        }
    }

    impl WidgetImpl for MpChatWindow {}
    impl WindowImpl for MpChatWindow {}
}

glib::wrapper! {
    /// The window of one conversation.
    pub struct MpChatWindow(ObjectSubclass<imp::MpChatWindow>)
        @extends gtk::Widget, gtk::Window,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native, gtk::Root, gtk::ShortcutManager;
}

impl MpChatWindow {
    /// A window for `conversation`.
    pub fn new(app: Option<&gtk::Application>, conversation: &MpConversation) -> Self {
        let w: Self = glib::Object::new();
        w.set_application(app);
        let imp = w.imp();
        imp.subtitle_label.set_text(&conversation.account());
        let model = gtk::NoSelection::new(Some(conversation.messages()));
        imp.message_list.set_model(Some(&model));
        imp.conversation.replace(Some(conversation.clone()));
        w.set_contact_name(&conversation.name());
        imp.input_view.grab_focus();
        w
    }

    /// The conversation shown.
    pub fn conversation(&self) -> MpConversation {
        self.imp()
            .conversation
            .borrow()
            .clone()
            .expect("set in new")
    }

    /// The contact's account.
    pub fn account(&self) -> String {
        self.conversation().account()
    }

    /// Updates the shown name.
    pub fn set_contact_name(&self, name: &str) {
        self.conversation().set_name(name);
        self.imp().title_label.set_text(name);
        self.set_title(Some(&gettext_f("{} — Conversation", &[name])));
    }

    /// The text typed so far.
    pub fn input_text(&self) -> String {
        let b = self.imp().input_view.buffer();
        b.text(&b.start_iter(), &b.end_iter(), false).to_string()
    }

    /// Replaces the typed text.
    pub fn set_input_text(&self, text: &str) {
        self.imp().input_view.buffer().set_text(text);
    }

    /// Sends what was typed (as the "send" signal with the new own line).
    pub fn send_input(&self) {
        let text = self.input_text();
        if text.trim().is_empty() {
            return;
        }
        self.set_input_text("");
        // A new message restarts the typing notifications.
        self.imp().last_typing_sent.set(None);
        self.imp().pinned.set(true);
        let msg = self
            .conversation()
            .push(MessageKind::Own, &gettext("Me"), &text);
        self.emit_by_name::<()>("send", &[&msg]);
    }

    fn send_nudge(&self) {
        let imp = self.imp();
        if imp
            .last_nudge_sent
            .get()
            .is_some_and(|t| t.elapsed() < NUDGE_INTERVAL)
        {
            return;
        }
        imp.last_nudge_sent.set(Some(Instant::now()));
        self.add_notice(&gettext("You sent a nudge."));
        self.emit_by_name::<()>("nudge", &[]);
    }

    /// Shows a received message; it ends the sender's typing notice.
    pub fn add_received(&self, name: &str, text: &str) {
        self.add_received_formatted(name, text, "");
    }

    /// Shows a received message with its `X-MMS-IM-Format` value (empty: none).
    pub fn add_received_formatted(&self, name: &str, text: &str, format: &str) {
        self.clear_typing();
        let m = MpMessage::new(MessageKind::Received, name, text);
        m.set_format(format);
        self.conversation().append(&m);
    }

    /// Puts logged lines (oldest first) above everything shown, greyed.
    pub fn prepend_history(&self, entries: &[history::Entry]) {
        let me = gettext("Me");
        let items: Vec<glib::Object> = entries
            .iter()
            .map(|e| {
                let kind = if e.own {
                    MessageKind::Own
                } else {
                    MessageKind::Received
                };
                let name = if e.own { me.as_str() } else { e.name.as_str() };
                let m = MpMessage::new(kind, name, &e.text);
                m.set_history(true);
                m.set_format(e.format.as_str());
                let time = glib::DateTime::from_unix_local(e.time)
                    .and_then(|t| t.format("%H:%M"))
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                m.set_time(time);
                m.upcast()
            })
            .collect();
        self.conversation().messages().splice(0, 0, &items);
    }

    /// Shows a system line.
    pub fn add_notice(&self, text: &str) {
        self.conversation().push(MessageKind::System, "", text);
    }

    /// A nudge arrived: a history line and (rate-limited) a short shake.
    pub fn nudged(&self, name: &str) {
        self.add_notice(&gettext_f("{} sent you a nudge.", &[name]));
        let imp = self.imp();
        if imp
            .last_shake
            .get()
            .is_some_and(|t| t.elapsed() < NUDGE_INTERVAL)
        {
            return;
        }
        imp.last_shake.set(Some(Instant::now()));
        self.shake();
    }

    fn shake(&self) {
        const OFFSETS: [i32; 10] = [8, -8, 6, -6, 4, -4, 2, -2, 1, 0];
        let step = Cell::new(0usize);
        let content = self.imp().content.get();
        glib::timeout_add_local(Duration::from_millis(40), move || {
            let i = step.get();
            let off = OFFSETS.get(i).copied().unwrap_or(0);
            content.set_margin_start(off.max(0));
            content.set_margin_end((-off).max(0));
            step.set(i + 1);
            if i + 1 >= OFFSETS.len() {
                glib::ControlFlow::Break
            } else {
                glib::ControlFlow::Continue
            }
        });
    }

    /// Shows "name is typing…" for a few seconds.
    pub fn show_typing(&self, name: &str) {
        let imp = self.imp();
        let text = gettext_f("{} is typing…", &[name]);
        imp.typing_label.set_text(&text);
        imp.typing_label.set_visible(true);
        self.conversation().set_typing_text(text);
        if let Some(id) = imp.typing_timer.take() {
            id.remove();
        }
        let weak = self.downgrade();
        let id = glib::timeout_add_local_once(TYPING_SHOW_TIME, move || {
            if let Some(win) = weak.upgrade() {
                win.imp().typing_timer.replace(None);
                win.clear_typing();
            }
        });
        imp.typing_timer.replace(Some(id));
    }

    fn clear_typing(&self) {
        let imp = self.imp();
        if let Some(id) = imp.typing_timer.take() {
            id.remove();
        }
        imp.typing_label.set_visible(false);
        imp.typing_label.set_text("");
        self.conversation().set_typing_text("");
    }

    /// The shown "… is typing" text (empty when hidden).
    pub fn typing_text(&self) -> String {
        self.conversation().typing_text()
    }

    /// Calls `f` with the new own line when the user sends a message.
    pub fn connect_send<F: Fn(&Self, MpMessage) + 'static>(&self, f: F) {
        self.connect_local("send", false, move |args| {
            let w = args[0].get::<Self>().ok()?;
            let m = args[1].get::<MpMessage>().ok()?;
            f(&w, m);
            None
        });
    }

    /// Calls `f` with the line's serial when the user asks to resend a failed line.
    pub fn connect_retry<F: Fn(&Self, u64) + 'static>(&self, f: F) {
        self.connect_local("retry", false, move |args| {
            let w = args[0].get::<Self>().ok()?;
            let serial = args[1].get::<u64>().ok()?;
            f(&w, serial);
            None
        });
    }

    /// Calls `f` when the user sends a nudge (already rate-limited).
    pub fn connect_nudge<F: Fn(&Self) + 'static>(&self, f: F) {
        self.connect_local("nudge", false, move |args| {
            let w = args[0].get::<Self>().ok()?;
            f(&w);
            None
        });
    }

    /// Calls `f` when a typing notification is due (at most every 5 s while typing).
    pub fn connect_typing<F: Fn(&Self) + 'static>(&self, f: F) {
        self.connect_local("typing", false, move |args| {
            let w = args[0].get::<Self>().ok()?;
            f(&w);
            None
        });
    }
}
