//! `MpChatWindow`: the window of one conversation — the message list (newest pinned at the bottom
//! unless the user scrolled up), the input (Enter sends, Shift+Enter adds a line), typing
//! notices, nudges, the own font and colour (Font / Text colour buttons, kept in the settings),
//! and with more than one other person the participant list (Invite adds someone). It talks to
//! the session only through its signals.

use std::cell::{Cell, RefCell};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gtk::glib::subclass::Signal;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::CompositeTemplate;
use gtk::{gdk, glib};

use super::message_row;
use crate::i18n::{gettext, gettext_f};
use crate::model::conversation::MpConversation;
use crate::model::message::{MessageKind, MpMessage};
use crate::model::own_format;
use crate::model::rich_text;
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
        /// Shown when lines arrive while the user has scrolled up.
        #[template_child]
        pub newest_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub message_list: TemplateChild<gtk::ListView>,
        #[template_child]
        pub typing_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub input_view: TemplateChild<gtk::TextView>,
        #[template_child]
        pub participants_box: TemplateChild<gtk::Box>,
        #[template_child]
        pub participants_list: TemplateChild<gtk::ListBox>,
        #[template_child]
        pub invite_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub emoticon_button: TemplateChild<gtk::MenuButton>,
        pub conversation: RefCell<Option<MpConversation>>,
        /// Whether the conversation has (had) more than one other person.
        pub multi: Cell<bool>,
        /// The other people in the conversation now: (account, shown name).
        pub participants: RefCell<Vec<(String, String)>>,
        pub invite_popover: RefCell<Option<gtk::Popover>>,
        /// Whether the view follows new lines (the user has not scrolled up).
        pub pinned: Cell<bool>,
        /// The content and page heights last seen (to tell the user's scrolling from layout
        /// changes).
        pub last_size: Cell<(f64, f64)>,
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
            klass.install_action("chat.to-newest", None, |win, _, _| win.show_newest());
            klass.install_action("chat.send-file", None, |win, _, _| win.choose_files());
            klass.install_action("chat.font", None, |win, _, _| win.choose_font());
            klass.install_action("chat.color", None, |win, _, _| win.choose_color());
            klass.install_action("chat.invite", None, |win, _, _| {
                win.emit_by_name::<()>("invite-menu", &[]);
            });
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
                    Signal::builder("invite-menu").build(),
                    Signal::builder("invite")
                        .param_types([String::static_type()])
                        .build(),
                ]
            })
        }

        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            self.pinned.set(true);

            self.message_list
                .set_factory(Some(&message_row::factory(false)));

            // Follow the bottom while pinned; the user scrolling up unpins. The list view moves
            // the value itself when rows come or change height: only a move while the content
            // keeps its size is the user's.
            let adj = self.scroller.vadjustment();
            let weak = obj.downgrade();
            adj.connect_value_changed(move |a| {
                if let Some(win) = weak.upgrade() {
                    let imp = win.imp();
                    let (upper, page) = imp.last_size.get();
                    if (a.upper() - upper).abs() > 0.5 || (a.page_size() - page).abs() > 0.5 {
                        return;
                    }
                    let bottom = a.upper() - a.page_size();
                    imp.pinned.set(a.value() >= bottom - 24.0);
                    if imp.pinned.get() {
                        imp.newest_button.set_visible(false);
                    }
                }
            });
            let weak = obj.downgrade();
            adj.connect_changed(move |a| {
                if let Some(win) = weak.upgrade() {
                    win.imp().last_size.set((a.upper(), a.page_size()));
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
            obj.build_emoticon_picker();
            // Focused: the urgency hint has done its job; the own format may have been
            // changed in another window.
            obj.connect_is_active_notify(|win| {
                if win.is_active() {
                    crate::ui::urgency::set_urgent(win, false);
                    win.apply_input_style();
                }
            });
            self.input_view.add_css_class("own-format");
        }

        fn dispose(&self) {
            if let Some(id) = self.typing_timer.take() {
                id.remove();
            }
            if let Some(p) = self.invite_popover.take() {
                p.popdown();
                p.unparent();
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
        // New lines while pinned, and lines that grow (a failure shows its reason and Retry):
        // to the bottom once they are laid out.
        let weak = w.downgrade();
        conversation
            .messages()
            .connect_items_changed(move |store, position, _, added| {
                let Some(win) = weak.upgrade() else { return };
                for i in position..position + added {
                    if let Some(m) = store.item(i).and_downcast::<MpMessage>() {
                        let weak = win.downgrade();
                        m.connect_notify_local(Some("state"), move |_, _| {
                            if let Some(win) = weak.upgrade() {
                                win.follow_bottom();
                            }
                        });
                    }
                }
                if added > 0 {
                    if !win.imp().pinned.get() {
                        // Scrolled up: offer the way down instead of moving the view (greyed
                        // history lines put in front do not count as new).
                        let fresh = (position..position + added).any(|i| {
                            store
                                .item(i)
                                .and_downcast::<MpMessage>()
                                .is_some_and(|m| !m.history())
                        });
                        if fresh {
                            win.imp().newest_button.set_visible(true);
                        }
                    }
                    win.follow_bottom();
                }
            });
        imp.conversation.replace(Some(conversation.clone()));
        w.set_contact_name(&conversation.name());
        w.apply_input_style();
        imp.input_view.grab_focus();
        w
    }

    /// While pinned, scrolls to the bottom after the next layout (and once more shortly after,
    /// as the list view measures new rows in steps).
    fn follow_bottom(&self) {
        if !self.imp().pinned.get() {
            return;
        }
        self.imp().newest_button.set_visible(false);
        for delay in [0u64, 120] {
            let weak = self.downgrade();
            glib::timeout_add_local_once(Duration::from_millis(delay), move || {
                if let Some(win) = weak.upgrade() {
                    let imp = win.imp();
                    if imp.pinned.get() && win.is_mapped() && imp.message_list.is_mapped() {
                        // GTK 4.8 has no ListView::scroll_to; its own action brings the last
                        // row in (and has it measured), then the adjustment goes to the end.
                        let n = win.conversation().messages().n_items();
                        if n > 0 {
                            let _ = imp.message_list.activate_action(
                                "list.scroll-to-item",
                                Some(&(n - 1).to_variant()),
                            );
                        }
                        let adj = imp.scroller.vadjustment();
                        adj.set_value(adj.upper() - adj.page_size());
                    }
                }
            });
        }
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

    /// Updates the shown name (of a one-to-one conversation; with more people the title
    /// follows the participants).
    pub fn set_contact_name(&self, name: &str) {
        if self.is_multi() {
            return;
        }
        self.conversation().set_name(name);
        self.show_title(name);
    }

    fn show_title(&self, name: &str) {
        self.imp().title_label.set_text(name);
        self.set_title(Some(&gettext_f("{} — Conversation", &[name])));
    }

    /// Whether the conversation has (had) more than one other person.
    pub fn is_multi(&self) -> bool {
        self.imp().multi.get()
    }

    /// The other people in the conversation now: (account, shown name).
    pub fn participants(&self) -> Vec<(String, String)> {
        self.imp().participants.borrow().clone()
    }

    /// Shows who is in the conversation; with more than one other person (once), the window
    /// becomes a group conversation: the title lists the names and the participant list shows.
    pub fn set_participants(&self, people: &[(String, String)]) {
        let imp = self.imp();
        if people.len() > 1 {
            imp.multi.set(true);
        }
        imp.participants.replace(people.to_vec());
        while let Some(row) = imp.participants_list.first_child() {
            imp.participants_list.remove(&row);
        }
        for (account, name) in people {
            let label = gtk::Label::new(None);
            label.set_text(name);
            label.set_tooltip_text(Some(account));
            label.set_xalign(0.0);
            label.set_ellipsize(gtk::pango::EllipsizeMode::End);
            imp.participants_list.append(&label);
        }
        if imp.multi.get() {
            imp.participants_box.set_visible(true);
            let title = people
                .iter()
                .map(|(_, n)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let title = if title.is_empty() {
                gettext("Nobody else is here")
            } else {
                title
            };
            imp.subtitle_label.set_text(&gettext_f(
                "{} people in this conversation",
                &[&(people.len() + 1).to_string()],
            ));
            self.show_title(&title);
        }
    }

    /// Shows the people who can be invited (online, not in the conversation) under the
    /// Invite button; picking one emits "invite" with the account.
    pub fn show_invite_choices(&self, candidates: &[(String, String)]) {
        let imp = self.imp();
        if let Some(old) = imp.invite_popover.take() {
            old.popdown();
            old.unparent();
        }
        let popover = gtk::Popover::new();
        let column = gtk::Box::new(gtk::Orientation::Vertical, 2);
        let heading = gtk::Label::new(Some(&gettext("Invite into this conversation")));
        heading.add_css_class("heading");
        heading.set_margin_bottom(4);
        column.append(&heading);
        if candidates.is_empty() {
            let none = gtk::Label::new(Some(&gettext("No other contact is online.")));
            none.add_css_class("dim-label");
            column.append(&none);
        }
        for (account, name) in candidates {
            let button = gtk::Button::new();
            let label = gtk::Label::new(None);
            label.set_text(name);
            label.set_xalign(0.0);
            button.set_child(Some(&label));
            button.add_css_class("flat");
            button.set_tooltip_text(Some(account));
            super::a11y::set_label(&button, name, Some(account));
            let weak = self.downgrade();
            let account = account.clone();
            let pop = popover.downgrade();
            button.connect_clicked(move |_| {
                if let Some(p) = pop.upgrade() {
                    p.popdown();
                }
                if let Some(win) = weak.upgrade() {
                    win.emit_by_name::<()>("invite", &[&account]);
                }
            });
            column.append(&button);
        }
        popover.set_child(Some(&column));
        popover.set_parent(&*imp.invite_button);
        imp.invite_popover.replace(Some(popover.clone()));
        popover.popup();
    }

    /// The Emoticons button's popover: one button per picture (the first code of each), which
    /// inserts the code at the cursor.
    fn build_emoticon_picker(&self) {
        let grid = gtk::FlowBox::new();
        grid.set_selection_mode(gtk::SelectionMode::None);
        grid.set_max_children_per_line(8);
        grid.set_min_children_per_line(8);
        grid.set_homogeneous(true);
        let mut seen = std::collections::HashSet::new();
        let popover = gtk::Popover::new();
        for (code, emoji) in rich_text::EMOTICONS {
            if !seen.insert(*emoji) {
                continue;
            }
            let button = gtk::Button::with_label(emoji);
            button.add_css_class("flat");
            button.add_css_class("emoticon");
            button.set_tooltip_text(Some(code));
            super::a11y::set_label(&button, code, None);
            let weak = self.downgrade();
            let pop = popover.downgrade();
            button.connect_clicked(move |_| {
                if let Some(p) = pop.upgrade() {
                    p.popdown();
                }
                if let Some(win) = weak.upgrade() {
                    let view = &win.imp().input_view;
                    view.buffer().insert_at_cursor(code);
                    view.grab_focus();
                }
            });
            grid.insert(&button, -1);
        }
        let scroller = gtk::ScrolledWindow::new();
        scroller.set_hscrollbar_policy(gtk::PolicyType::Never);
        scroller.set_propagate_natural_height(true);
        scroller.set_max_content_height(260);
        scroller.set_child(Some(&grid));
        popover.set_child(Some(&scroller));
        self.imp().emoticon_button.set_popover(Some(&popover));
    }

    fn app(&self) -> Option<crate::application::MpApplication> {
        self.application()
            .and_downcast::<crate::application::MpApplication>()
    }

    /// The format of own messages (from the settings), if the user chose one.
    pub fn own_format(&self) -> Option<msnp::proto::payload::TextFormat> {
        let s = self.app()?.settings();
        own_format::build(&s.chat_font, &s.chat_color)
    }

    /// Shows what is typed in the own font and colour (one style for every conversation
    /// window, as the choice is).
    fn apply_input_style(&self) {
        thread_local! {
            static INPUT_STYLE: RefCell<Option<gtk::CssProvider>> = const { RefCell::new(None) };
        }
        let css = own_format::input_css(self.own_format().as_ref());
        if std::env::var_os("MARIPOSA_DEBUG").is_some() {
            eprintln!("mariposa: input style {css:?}");
        }
        INPUT_STYLE.with(|cell| {
            let mut cell = cell.borrow_mut();
            if cell.is_none() {
                let provider = gtk::CssProvider::new();
                gtk::style_context_add_provider_for_display(
                    &WidgetExt::display(self),
                    &provider,
                    gtk::STYLE_PROVIDER_PRIORITY_APPLICATION,
                );
                *cell = Some(provider);
            }
            if let Some(provider) = cell.as_ref() {
                provider.load_from_data(&css);
            }
        });
    }

    fn choose_font(&self) {
        let dialog = gtk::FontChooserDialog::new(Some(&gettext("Message Font")), Some(self));
        dialog.set_modal(true);
        // Sizes are not sent over MSN; the preview shows the family and style.
        dialog.set_level(gtk::FontChooserLevel::FAMILY | gtk::FontChooserLevel::STYLE);
        if let Some(app) = self.app() {
            let font = app.settings().chat_font;
            if !font.is_empty() {
                dialog.set_font(&font);
            }
        }
        let weak = self.downgrade();
        dialog.connect_response(move |d, response| {
            if response == gtk::ResponseType::Ok {
                if let (Some(win), Some(font)) = (weak.upgrade(), d.font()) {
                    if let Some(app) = win.app() {
                        app.update_settings(|s| s.chat_font = font.to_string());
                    }
                    win.apply_input_style();
                }
            }
            d.destroy();
        });
        dialog.present();
    }

    fn choose_color(&self) {
        let dialog = gtk::ColorChooserDialog::new(Some(&gettext("Text Colour")), Some(self));
        dialog.set_modal(true);
        dialog.set_use_alpha(false);
        if let Some(rgb) = self
            .app()
            .and_then(|a| own_format::parse_hex_color(&a.settings().chat_color))
        {
            dialog.set_rgba(&gdk::RGBA::new(
                f32::from(rgb.r) / 255.0,
                f32::from(rgb.g) / 255.0,
                f32::from(rgb.b) / 255.0,
                1.0,
            ));
        }
        let weak = self.downgrade();
        dialog.connect_response(move |d, response| {
            if response == gtk::ResponseType::Ok {
                if let Some(win) = weak.upgrade() {
                    let c = d.rgba();
                    let hex = own_format::hex_color(c.red(), c.green(), c.blue());
                    if let Some(app) = win.app() {
                        app.update_settings(|s| s.chat_color = hex);
                    }
                    win.apply_input_style();
                }
            }
            d.destroy();
        });
        dialog.present();
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

    /// Whether the "New Messages" button is offered (lines came while scrolled up).
    pub fn offers_newest(&self) -> bool {
        self.imp().newest_button.is_visible()
    }

    /// Goes to the newest line and follows the bottom again (the "New Messages" button).
    pub fn show_newest(&self) {
        self.imp().pinned.set(true);
        self.follow_bottom();
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
        let msg = MpMessage::new(MessageKind::Own, &gettext("Me"), &text);
        if let Some(format) = self.own_format() {
            msg.set_format(format.to_header_value());
        }
        self.conversation().append(&msg);
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

    /// Puts logged lines (oldest first) above everything shown, greyed. The log is read while
    /// the first live lines may already be written to it: a tail of the log that repeats the
    /// window's first live lines is left out.
    pub fn prepend_history(&self, entries: &[history::Entry]) {
        let live: Vec<(bool, String)> = {
            let store = self.conversation().messages();
            (0..store.n_items())
                .filter_map(|i| store.item(i).and_downcast::<MpMessage>())
                .filter(|m| !m.history() && m.message_kind() != MessageKind::System)
                .map(|m| (m.message_kind() == MessageKind::Own, m.text()))
                .collect()
        };
        let overlap = (1..=live.len().min(entries.len()))
            .rev()
            .find(|&k| {
                entries[entries.len() - k..]
                    .iter()
                    .zip(&live[..k])
                    .all(|(e, (own, text))| e.own == *own && e.text == *text)
            })
            .unwrap_or(0);
        let entries = &entries[..entries.len() - overlap];
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

    /// Asks for the user's attention (the X11 urgency hint) until the window is focused.
    pub fn want_attention(&self) {
        if self.is_active() {
            return;
        }
        if !self.is_realized() {
            // A window mapped a moment ago: once it has its surface.
            let weak = self.downgrade();
            glib::idle_add_local_once(move || {
                if let Some(win) = weak.upgrade() {
                    if !win.is_active() {
                        super::urgency::set_urgent(&win, true);
                    }
                }
            });
            return;
        }
        super::urgency::set_urgent(self, true);
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

    /// Calls `f` when the user presses Invite (answer with `show_invite_choices`).
    pub fn connect_invite_menu<F: Fn(&Self) + 'static>(&self, f: F) {
        self.connect_local("invite-menu", false, move |args| {
            let w = args[0].get::<Self>().ok()?;
            f(&w);
            None
        });
    }

    /// Calls `f` with the account the user chose to invite.
    pub fn connect_invite<F: Fn(&Self, String) + 'static>(&self, f: F) {
        self.connect_local("invite", false, move |args| {
            let w = args[0].get::<Self>().ok()?;
            let account = args[1].get::<String>().ok()?;
            f(&w, account);
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
