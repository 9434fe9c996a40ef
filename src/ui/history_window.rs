//! `MpHistoryWindow`: the chat logs of one account — the list of conversations, one log shown
//! through a `GtkListView` that pages lazily backwards (older lines are read on a worker thread
//! as the user scrolls up, so logs of any size open at once), a search across every log, and
//! export of one conversation to plain text or HTML (written off the main thread).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::CompositeTemplate;
use gtk::{gio, glib};

use super::message_row;
use crate::i18n::{gettext, gettext_f, ngettext_f};
use crate::model::message::{MessageKind, MpMessage};
use crate::store::history::{self, ExportFormat};

/// Lines read per page.
pub const PAGE_LINES: usize = 1000;
/// Lines read for the first page: few, so the newest lines show at once.
pub const FIRST_PAGE_LINES: usize = 200;
/// Search hits kept (the newest).
pub const SEARCH_LIMIT: usize = 500;
/// Longest text shown for one line (a longer one is cut, the log keeps it whole).
const MAX_SHOWN_CHARS: usize = 10_000;

mod hit {
    use super::*;

    mod imp {
        use super::*;

        #[derive(Default, glib::Properties)]
        #[properties(wrapper_type = super::MpHistoryHit)]
        pub struct MpHistoryHit {
            /// The contact whose log holds the line.
            #[property(get, set)]
            pub contact: RefCell<String>,
            /// The contact as shown.
            #[property(get, set)]
            pub title: RefCell<String>,
            /// The sender.
            #[property(get, set)]
            pub sender: RefCell<String>,
            /// Date and time.
            #[property(get, set)]
            pub time: RefCell<String>,
            /// The text (plain).
            #[property(get, set)]
            pub text: RefCell<String>,
            /// Where the line starts in its log.
            #[property(get, set)]
            pub offset: Cell<u64>,
        }

        #[glib::object_subclass]
        impl ObjectSubclass for MpHistoryHit {
            const NAME: &'static str = "MpHistoryHit";
            type Type = super::MpHistoryHit;
        }

        #[glib::derived_properties]
        impl ObjectImpl for MpHistoryHit {}
    }

    glib::wrapper! {
        /// One search result.
        pub struct MpHistoryHit(ObjectSubclass<imp::MpHistoryHit>);
    }
}

pub use hit::MpHistoryHit;

/// A line prepared on the worker thread (times formatted there too).
struct Prepared {
    offset: u64,
    own: bool,
    name: String,
    text: String,
    format: String,
    time: String,
}

/// A log entry made ready for the view (long texts cut for display).
fn prepared(offset: u64, entry: history::Entry) -> Prepared {
    let mut text = entry.text;
    if text.chars().count() > MAX_SHOWN_CHARS {
        text = text.chars().take(MAX_SHOWN_CHARS).collect::<String>() + "…";
    }
    Prepared {
        offset,
        own: entry.own,
        name: entry.name,
        text,
        format: entry.format,
        time: history::format_time(entry.time),
    }
}

/// The list item of a prepared line.
fn line_object(l: Prepared) -> glib::Object {
    let kind = if l.own {
        MessageKind::Own
    } else {
        MessageKind::Received
    };
    glib::Object::builder::<MpMessage>()
        .property("serial", l.offset)
        .property("kind", kind as u32)
        .property("sender", l.name)
        .property("text", l.text)
        .property("format", l.format)
        .property("time", l.time)
        .build()
        .upcast()
}

fn prepare(page: history::Page) -> (Vec<Prepared>, u64, usize) {
    let lines = page
        .lines
        .into_iter()
        .map(|l| prepared(l.offset, l.entry))
        .collect();
    (lines, page.start, page.skipped)
}

mod imp {
    use super::*;

    #[derive(Default, CompositeTemplate)]
    #[template(resource = "/io/github/mariposa/Mariposa/ui/history_window.ui")]
    pub struct MpHistoryWindow {
        #[template_child]
        pub title_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub subtitle_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub export_button: TemplateChild<gtk::MenuButton>,
        #[template_child]
        pub search_entry: TemplateChild<gtk::SearchEntry>,
        #[template_child]
        pub side_stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub log_list: TemplateChild<gtk::ListView>,
        #[template_child]
        pub results_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub result_list: TemplateChild<gtk::ListView>,
        #[template_child]
        pub lines_stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub empty_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub lines_scroller: TemplateChild<gtk::ScrolledWindow>,
        #[template_child]
        pub line_list: TemplateChild<gtk::ListView>,
        #[template_child]
        pub status_label: TemplateChild<gtk::Label>,
        pub data_dir: RefCell<PathBuf>,
        pub own: RefCell<String>,
        pub names: RefCell<HashMap<String, String>>,
        /// Contact → its log.
        pub logs: RefCell<HashMap<String, history::LogInfo>>,
        pub log_model: RefCell<Option<gtk::StringList>>,
        pub log_selection: RefCell<Option<gtk::SingleSelection>>,
        pub lines: RefCell<Option<gio::ListStore>>,
        pub line_selection: RefCell<Option<gtk::SingleSelection>>,
        pub results: RefCell<Option<gio::ListStore>>,
        /// The contact shown and its log.
        pub current: RefCell<Option<(String, PathBuf)>>,
        /// Where the oldest loaded line starts (the end of the next older page).
        pub loaded_from: Cell<u64>,
        pub at_start: Cell<bool>,
        pub loading: Cell<bool>,
        pub skipped: Cell<usize>,
        /// Bumped when another log is shown: late pages of the old one are dropped.
        pub generation: Cell<u64>,
        pub search_generation: Cell<u64>,
        /// A line to select once loaded (a search hit).
        pub pending_hit: Cell<Option<u64>>,
        pub chooser: RefCell<Option<gtk::FileChooserNative>>,
        /// The view follows the bottom (a log just opened) until the user scrolls.
        pub pinned: Cell<bool>,
        pub stick_queued: Cell<bool>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpHistoryWindow {
        const NAME: &'static str = "MpHistoryWindow";
        type Type = super::MpHistoryWindow;
        type ParentType = gtk::Window;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.install_action("history.export-text", None, |win, _, _| {
                win.choose_export(ExportFormat::Text)
            });
            klass.install_action("history.export-html", None, |win, _, _| {
                win.choose_export(ExportFormat::Html)
            });
            klass.install_action("history.search", None, |win, _, _| {
                win.imp().search_entry.grab_focus();
            });
            klass.add_binding_action(
                gtk::gdk::Key::f,
                gtk::gdk::ModifierType::CONTROL_MASK,
                "history.search",
            );
            klass.add_binding_action(
                gtk::gdk::Key::w,
                gtk::gdk::ModifierType::CONTROL_MASK,
                "window.close",
            );
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

    impl ObjectImpl for MpHistoryWindow {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            obj.setup_logs();
            obj.setup_lines();
            obj.setup_search();
            obj.set_export_enabled(false);
        }
    }

    impl WidgetImpl for MpHistoryWindow {}
    impl WindowImpl for MpHistoryWindow {}
}

glib::wrapper! {
    /// The history window of one account.
    pub struct MpHistoryWindow(ObjectSubclass<imp::MpHistoryWindow>)
        @extends gtk::Widget, gtk::Window,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native, gtk::Root, gtk::ShortcutManager;
}

impl MpHistoryWindow {
    /// A history window for the logs of `own` under `data_dir`; `names` gives contacts' shown
    /// names (contacts not in it are shown by their address).
    pub fn new(
        app: Option<&gtk::Application>,
        data_dir: &Path,
        own: &str,
        names: HashMap<String, String>,
    ) -> Self {
        let w: Self = glib::Object::new();
        w.set_application(app);
        let imp = w.imp();
        imp.data_dir.replace(data_dir.to_path_buf());
        imp.own.replace(own.to_string());
        imp.names.replace(
            names
                .into_iter()
                .map(|(k, v)| (k.to_lowercase(), v))
                .collect(),
        );
        imp.subtitle_label.set_text(own);
        w.set_title(Some(&gettext_f("History — {}", &[own])));
        w.reload_logs();
        w
    }

    /// The account whose logs are shown.
    pub fn own(&self) -> String {
        self.imp().own.borrow().clone()
    }

    fn shown_name(&self, contact: &str) -> String {
        self.imp()
            .names
            .borrow()
            .get(contact)
            .filter(|n| !n.is_empty() && n.as_str() != contact)
            .cloned()
            .unwrap_or_else(|| contact.to_string())
    }

    // ----- the list of logs ---------------------------------------------------------------------

    fn setup_logs(&self) {
        let imp = self.imp();
        let model = gtk::StringList::new(&[]);
        let selection = gtk::SingleSelection::new(Some(model.clone()));
        selection.set_autoselect(false);
        selection.set_can_unselect(true);
        let factory = gtk::SignalListItemFactory::new();
        factory.connect_setup(|_, item| {
            let Some(item) = item.downcast_ref::<gtk::ListItem>() else {
                return;
            };
            let row = gtk::Box::new(gtk::Orientation::Vertical, 2);
            row.set_margin_top(4);
            row.set_margin_bottom(4);
            let name = gtk::Label::new(None);
            name.set_xalign(0.0);
            name.set_ellipsize(gtk::pango::EllipsizeMode::End);
            name.add_css_class("heading");
            let detail = gtk::Label::new(None);
            detail.set_xalign(0.0);
            detail.set_ellipsize(gtk::pango::EllipsizeMode::End);
            detail.add_css_class("dim-label");
            detail.add_css_class("caption");
            row.append(&name);
            row.append(&detail);
            item.set_child(Some(&row));
        });
        let weak = self.downgrade();
        factory.connect_bind(move |_, item| {
            let Some(item) = item.downcast_ref::<gtk::ListItem>() else {
                return;
            };
            let (Some(win), Some(contact)) = (
                weak.upgrade(),
                item.item()
                    .and_downcast::<gtk::StringObject>()
                    .map(|s| s.string().to_string()),
            ) else {
                return;
            };
            let Some(row) = item.child() else { return };
            let name = row.first_child().and_downcast::<gtk::Label>();
            let detail = name
                .as_ref()
                .and_then(|n| n.next_sibling())
                .and_downcast::<gtk::Label>();
            let (Some(name), Some(detail)) = (name, detail) else {
                return;
            };
            name.set_text(&win.shown_name(&contact));
            let modified = win
                .imp()
                .logs
                .borrow()
                .get(&contact)
                .map(|l| l.modified)
                .unwrap_or(0);
            let when = history::format_time(modified);
            let when = when.get(..16).unwrap_or(&when);
            detail.set_text(&format!("{contact} · {when}"));
        });
        imp.log_list.set_factory(Some(&factory));
        imp.log_list.set_model(Some(&selection));
        let weak = self.downgrade();
        selection.connect_selected_item_notify(move |s| {
            let (Some(win), Some(contact)) = (
                weak.upgrade(),
                s.selected_item()
                    .and_downcast::<gtk::StringObject>()
                    .map(|s| s.string().to_string()),
            ) else {
                return;
            };
            let same = win
                .imp()
                .current
                .borrow()
                .as_ref()
                .is_some_and(|(c, _)| *c == contact);
            if !same {
                win.open_log(&contact);
            }
        });
        imp.log_model.replace(Some(model));
        imp.log_selection.replace(Some(selection));
    }

    /// Reads the list of logs again (on a worker thread).
    pub fn reload_logs(&self) {
        let dir = self.imp().data_dir.borrow().clone();
        let own = self.own();
        let weak = self.downgrade();
        glib::spawn_future_local(async move {
            let read = gio::spawn_blocking(move || history::list_logs(&dir, &own)).await;
            let Some(win) = weak.upgrade() else { return };
            let logs = match read {
                Ok(Ok(logs)) => logs,
                Ok(Err(e)) => {
                    win.set_status(&gettext_f(
                        "Could not read the history: {}",
                        &[&e.to_string()],
                    ));
                    Vec::new()
                }
                Err(_) => Vec::new(),
            };
            win.set_logs(logs);
        });
    }

    fn set_logs(&self, logs: Vec<history::LogInfo>) {
        let imp = self.imp();
        let contacts: Vec<String> = logs.iter().map(|l| l.contact.clone()).collect();
        imp.logs
            .replace(logs.into_iter().map(|l| (l.contact.clone(), l)).collect());
        let refs: Vec<&str> = contacts.iter().map(String::as_str).collect();
        if let Some(model) = imp.log_model.borrow().as_ref() {
            model.splice(0, model.n_items(), &refs);
        }
        if contacts.is_empty() {
            imp.empty_label.set_text(&gettext(
                "There is no conversation history for this account yet.",
            ));
        }
        let current = imp.current.borrow().as_ref().map(|(c, _)| c.clone());
        if let Some(contact) = current {
            self.select_log_row(&contact);
        }
    }

    fn select_log_row(&self, contact: &str) {
        let imp = self.imp();
        let (Some(model), Some(selection)) = (
            imp.log_model.borrow().clone(),
            imp.log_selection.borrow().clone(),
        ) else {
            return;
        };
        let position = (0..model.n_items()).find(|i| model.string(*i).as_deref() == Some(contact));
        match position {
            Some(p) => {
                selection.set_selected(p);
                let _ = imp
                    .log_list
                    .activate_action("list.scroll-to-item", Some(&p.to_variant()));
            }
            None => selection.set_selected(gtk::INVALID_LIST_POSITION),
        }
    }

    // ----- one log ------------------------------------------------------------------------------

    fn setup_lines(&self) {
        let imp = self.imp();
        let store = gio::ListStore::new::<MpMessage>();
        let selection = gtk::SingleSelection::new(Some(store.clone()));
        selection.set_autoselect(false);
        selection.set_can_unselect(true);
        imp.line_list.set_factory(Some(&message_row::factory(true)));
        imp.line_list.set_model(Some(&selection));
        imp.lines.replace(Some(store));
        imp.line_selection.replace(Some(selection));
        // Near the top: read the page before. A log opens at its newest line and stays there
        // while the rows are measured, until the user scrolls.
        let adj = imp.lines_scroller.vadjustment();
        let weak = self.downgrade();
        adj.connect_value_changed(move |a| {
            if let Some(win) = weak.upgrade() {
                let bottom = a.upper() - a.page_size();
                if a.value() < bottom - 24.0 {
                    win.imp().pinned.set(false);
                }
                win.maybe_load_older();
            }
        });
        let weak = self.downgrade();
        adj.connect_changed(move |_| {
            if let Some(win) = weak.upgrade() {
                win.stick_to_bottom();
            }
        });
        imp.lines_stack.set_visible_child_name("empty");
    }

    /// The lines shown, oldest first (tests and benches).
    pub fn lines(&self) -> gio::ListStore {
        self.imp().lines.borrow().clone().expect("set up")
    }

    /// The list view of the lines (tests and benches).
    pub fn line_list(&self) -> gtk::ListView {
        self.imp().line_list.get()
    }

    /// The scrolled window of the lines (tests and benches).
    pub fn lines_scroller(&self) -> gtk::ScrolledWindow {
        self.imp().lines_scroller.get()
    }

    /// Whether a page is being read.
    pub fn is_loading(&self) -> bool {
        self.imp().loading.get()
    }

    /// Whether the first line of the log is loaded.
    pub fn reached_start(&self) -> bool {
        self.imp().at_start.get()
    }

    /// The contact whose log is shown.
    pub fn contact(&self) -> Option<String> {
        self.imp().current.borrow().as_ref().map(|(c, _)| c.clone())
    }

    /// The line selected (a search hit that was opened), as its offset in the log.
    pub fn selected_offset(&self) -> Option<u64> {
        self.imp()
            .line_selection
            .borrow()
            .as_ref()?
            .selected_item()
            .and_downcast::<MpMessage>()
            .map(|m| m.serial())
    }

    fn set_status(&self, text: &str) {
        self.imp().status_label.set_text(text);
    }

    fn set_export_enabled(&self, enabled: bool) {
        self.action_set_enabled("history.export-text", enabled);
        self.action_set_enabled("history.export-html", enabled);
        self.imp().export_button.set_sensitive(enabled);
    }

    /// A line just written to `contact`'s log: shown at once when that log is open and its
    /// newest page is in (before that, reading the page brings it). It has no offset yet
    /// (`u64::MAX`), so it is not a search target until the log is read again.
    pub fn line_logged(&self, contact: &str, entry: &history::Entry) {
        let imp = self.imp();
        let open = imp
            .current
            .borrow()
            .as_ref()
            .is_some_and(|(c, _)| c.eq_ignore_ascii_case(contact));
        if !open || imp.loaded_from.get() == u64::MAX {
            return;
        }
        self.lines()
            .append(&line_object(prepared(u64::MAX, entry.clone())));
        self.stick_to_bottom();
    }

    /// Shows the log of `contact` from its newest lines, read afresh (lines written since it
    /// was last shown included).
    pub fn open_log(&self, contact: &str) {
        self.imp().current.replace(None);
        self.show_log(contact, None);
    }

    fn show_log(&self, contact: &str, hit: Option<u64>) {
        let imp = self.imp();
        let contact = contact.to_lowercase();
        let path = history::log_path(&imp.data_dir.borrow(), &imp.own.borrow(), &contact);
        let same = imp
            .current
            .borrow()
            .as_ref()
            .is_some_and(|(c, _)| *c == contact);
        if same {
            if let Some(offset) = hit {
                self.go_to_line(offset);
            }
            return;
        }
        imp.generation.set(imp.generation.get() + 1);
        imp.current.replace(Some((contact.clone(), path)));
        imp.loaded_from.set(u64::MAX);
        imp.at_start.set(false);
        imp.loading.set(false);
        imp.skipped.set(0);
        imp.pending_hit.set(hit);
        imp.pinned.set(false);
        self.lines().remove_all();
        let name = self.shown_name(&contact);
        imp.title_label.set_text(&name);
        self.set_title(Some(&gettext_f("History — {}", &[&name])));
        imp.lines_stack.set_visible_child_name("lines");
        self.set_export_enabled(true);
        self.select_log_row(&contact);
        self.load_page(hit);
    }

    /// Selects the line starting at `offset`, reading older pages down to it first.
    fn go_to_line(&self, offset: u64) {
        let imp = self.imp();
        if offset >= imp.loaded_from.get() {
            self.select_line(offset);
        } else {
            imp.pending_hit.set(Some(offset));
            self.load_page(Some(offset));
        }
    }

    fn select_line(&self, offset: u64) {
        let imp = self.imp();
        let store = self.lines();
        let position = (0..store.n_items()).find(|i| {
            store
                .item(*i)
                .and_downcast::<MpMessage>()
                .is_some_and(|m| m.serial() == offset)
        });
        let Some(position) = position else { return };
        if let Some(selection) = imp.line_selection.borrow().as_ref() {
            selection.set_selected(position);
        }
        imp.pinned.set(false);
        let _ = imp
            .line_list
            .activate_action("list.scroll-to-item", Some(&position.to_variant()));
    }

    /// While pinned, moves the view to the bottom — after the list view's own layout pass (a
    /// value set from inside it is not taken into account by GTK 4.8's list view).
    fn stick_to_bottom(&self) {
        let imp = self.imp();
        if !imp.pinned.get() || imp.stick_queued.replace(true) {
            return;
        }
        let weak = self.downgrade();
        glib::idle_add_local_once(move || {
            let Some(win) = weak.upgrade() else { return };
            let imp = win.imp();
            imp.stick_queued.set(false);
            if imp.pinned.get() {
                let adj = imp.lines_scroller.vadjustment();
                adj.set_value(adj.upper() - adj.page_size());
            }
        });
    }

    fn maybe_load_older(&self) {
        let imp = self.imp();
        if imp.loading.get() || imp.at_start.get() || imp.current.borrow().is_none() {
            return;
        }
        let adj = imp.lines_scroller.vadjustment();
        if !imp.pinned.get()
            && self.lines().n_items() > 0
            && adj.value() < adj.page_size().max(200.0)
        {
            self.load_page(None);
        }
    }

    /// Reads the page before the oldest loaded line (down to `down_to` when given) on a worker
    /// thread and puts it above the lines shown.
    fn load_page(&self, down_to: Option<u64>) {
        let imp = self.imp();
        let Some((_, path)) = imp.current.borrow().clone() else {
            return;
        };
        if imp.loading.get() && down_to.is_none() {
            return;
        }
        imp.loading.set(true);
        let first = imp.loaded_from.get() == u64::MAX;
        let end = (!first).then(|| imp.loaded_from.get());
        if !first {
            self.set_status(&gettext("Loading older lines…"));
        }
        let generation = imp.generation.get();
        let count = if first { FIRST_PAGE_LINES } else { PAGE_LINES };
        let weak = self.downgrade();
        glib::spawn_future_local(async move {
            let read = gio::spawn_blocking(move || {
                history::read_before(&path, end, count, down_to).map(prepare)
            })
            .await;
            let Some(win) = weak.upgrade() else { return };
            let imp = win.imp();
            if imp.generation.get() != generation {
                return;
            }
            imp.loading.set(false);
            match read {
                Ok(Ok((lines, start, skipped))) => win.prepend_lines(lines, start, skipped, first),
                Ok(Err(e)) => win.set_status(&gettext_f(
                    "Could not read the history: {}",
                    &[&e.to_string()],
                )),
                Err(_) => {}
            }
        });
    }

    fn prepend_lines(&self, lines: Vec<Prepared>, start: u64, skipped: usize, first: bool) {
        let imp = self.imp();
        let t = std::time::Instant::now();
        imp.loaded_from.set(start);
        imp.at_start.set(start == 0);
        if first && imp.pending_hit.get().is_none() {
            imp.pinned.set(true);
        }
        imp.skipped.set(imp.skipped.get() + skipped);
        let items: Vec<glib::Object> = lines.into_iter().map(line_object).collect();
        let built = t.elapsed();
        let store = self.lines();
        store.splice(0, 0, &items);
        let n = store.n_items();
        if std::env::var_os("MARIPOSA_DEBUG").is_some() {
            eprintln!(
                "mariposa: history page of {} lines: objects {built:?}, in the view {:?}",
                items.len(),
                t.elapsed()
            );
        }
        let mut status = if imp.at_start.get() {
            ngettext_f(
                "{} line, the whole conversation",
                "{} lines, the whole conversation",
                n,
                &[&n.to_string()],
            )
        } else {
            ngettext_f(
                "{} line loaded; scroll up for older ones",
                "{} lines loaded; scroll up for older ones",
                n,
                &[&n.to_string()],
            )
        };
        if imp.skipped.get() > 0 {
            status.push_str(" · ");
            status.push_str(&ngettext_f(
                "{} damaged line skipped",
                "{} damaged lines skipped",
                imp.skipped.get() as u32,
                &[&imp.skipped.get().to_string()],
            ));
        }
        if n == 0 {
            status = gettext("No lines in this conversation.");
        }
        self.set_status(&status);
        if let Some(offset) = imp.pending_hit.take() {
            self.select_line(offset);
        } else if first && n > 0 {
            self.stick_to_bottom();
        }
        // Still near the top (a short page, or the user kept scrolling): read on.
        let weak = self.downgrade();
        glib::idle_add_local_once(move || {
            if let Some(win) = weak.upgrade() {
                win.maybe_load_older();
            }
        });
    }

    // ----- search -------------------------------------------------------------------------------

    fn setup_search(&self) {
        let imp = self.imp();
        let store = gio::ListStore::new::<MpHistoryHit>();
        let selection = gtk::SingleSelection::new(Some(store.clone()));
        selection.set_autoselect(false);
        selection.set_can_unselect(true);
        let factory = gtk::SignalListItemFactory::new();
        factory.connect_setup(|_, item| {
            let Some(item) = item.downcast_ref::<gtk::ListItem>() else {
                return;
            };
            let row = gtk::Box::new(gtk::Orientation::Vertical, 2);
            row.set_margin_top(4);
            row.set_margin_bottom(4);
            let header = gtk::Label::new(None);
            header.set_xalign(0.0);
            header.set_ellipsize(gtk::pango::EllipsizeMode::End);
            header.add_css_class("dim-label");
            header.add_css_class("caption");
            let text = gtk::Label::new(None);
            text.set_xalign(0.0);
            text.set_ellipsize(gtk::pango::EllipsizeMode::End);
            text.set_lines(2);
            text.set_wrap(true);
            text.set_wrap_mode(gtk::pango::WrapMode::WordChar);
            row.append(&header);
            row.append(&text);
            item.set_child(Some(&row));
        });
        factory.connect_bind(|_, item| {
            let Some(item) = item.downcast_ref::<gtk::ListItem>() else {
                return;
            };
            let Some(hit) = item.item().and_downcast::<MpHistoryHit>() else {
                return;
            };
            let Some(row) = item.child() else { return };
            let header = row.first_child().and_downcast::<gtk::Label>();
            let text = header
                .as_ref()
                .and_then(|h| h.next_sibling())
                .and_downcast::<gtk::Label>();
            if let (Some(header), Some(text)) = (header, text) {
                header.set_text(&format!("{} · {}", hit.title(), hit.time()));
                text.set_text(&format!("{}: {}", hit.sender(), hit.text()));
            }
        });
        imp.result_list.set_factory(Some(&factory));
        imp.result_list.set_model(Some(&selection));
        let weak = self.downgrade();
        imp.result_list.connect_activate(move |list, position| {
            let (Some(win), Some(hit)) = (
                weak.upgrade(),
                list.model()
                    .and_then(|m| m.item(position))
                    .and_downcast::<MpHistoryHit>(),
            ) else {
                return;
            };
            win.show_hit(&hit);
        });
        imp.results.replace(Some(store));
        let weak = self.downgrade();
        imp.search_entry.connect_search_changed(move |e| {
            if let Some(win) = weak.upgrade() {
                win.search(&e.text());
            }
        });
        // Escape clears the search, then closes the window.
        let weak = self.downgrade();
        imp.search_entry.connect_stop_search(move |e| {
            if !e.text().is_empty() {
                e.set_text("");
            } else if let Some(win) = weak.upgrade() {
                win.close();
            }
        });
        // Enter opens the newest hit.
        let weak = self.downgrade();
        imp.search_entry.connect_activate(move |_| {
            let Some(win) = weak.upgrade() else { return };
            let first = win.results().item(0).and_downcast::<MpHistoryHit>();
            if let Some(hit) = first {
                win.show_hit(&hit);
            }
        });
        imp.side_stack.set_visible_child_name("logs");
    }

    /// The search results shown (tests).
    pub fn results(&self) -> gio::ListStore {
        self.imp().results.borrow().clone().expect("set up")
    }

    /// The search entry (tests).
    pub fn search_entry(&self) -> gtk::SearchEntry {
        self.imp().search_entry.get()
    }

    /// Searches every log of the account for `query` (on a worker thread); an empty query
    /// shows the list of conversations again.
    pub fn search(&self, query: &str) {
        let imp = self.imp();
        let generation = imp.search_generation.get() + 1;
        imp.search_generation.set(generation);
        let query = query.trim().to_string();
        if query.is_empty() {
            self.results().remove_all();
            imp.side_stack.set_visible_child_name("logs");
            return;
        }
        imp.side_stack.set_visible_child_name("results");
        imp.results_label.set_text(&gettext("Searching…"));
        let dir = imp.data_dir.borrow().clone();
        let own = self.own();
        let weak = self.downgrade();
        glib::spawn_future_local(async move {
            let q = query.clone();
            let found = gio::spawn_blocking(move || {
                history::search(&dir, &own, &q, SEARCH_LIMIT).map(|found| {
                    let hits: Vec<_> = found
                        .hits
                        .into_iter()
                        .map(|h| {
                            let time = history::format_time(h.entry.time);
                            let text: String = h
                                .entry
                                .text
                                .chars()
                                .take(300)
                                .map(|c| if c == '\n' { ' ' } else { c })
                                .collect();
                            (h.contact, h.offset, h.entry.name, time, text)
                        })
                        .collect();
                    (hits, found.total)
                })
            })
            .await;
            let Some(win) = weak.upgrade() else { return };
            let imp = win.imp();
            if imp.search_generation.get() != generation {
                return;
            }
            match found {
                Ok(Ok((hits, total))) => {
                    let items: Vec<glib::Object> = hits
                        .into_iter()
                        .map(|(contact, offset, sender, time, text)| {
                            glib::Object::builder::<MpHistoryHit>()
                                .property("title", win.shown_name(&contact))
                                .property("contact", contact)
                                .property("offset", offset)
                                .property("sender", sender)
                                .property("time", time)
                                .property("text", text)
                                .build()
                                .upcast()
                        })
                        .collect();
                    let store = win.results();
                    store.splice(0, store.n_items(), &items);
                    let text = if total == 0 {
                        gettext_f("Nothing found for “{}”.", &[&query])
                    } else if total > items.len() {
                        gettext_f(
                            "{} lines found; the newest {} are shown.",
                            &[&total.to_string(), &items.len().to_string()],
                        )
                    } else {
                        ngettext_f(
                            "{} line found.",
                            "{} lines found.",
                            total as u32,
                            &[&total.to_string()],
                        )
                    };
                    imp.results_label.set_text(&text);
                }
                Ok(Err(e)) => imp.results_label.set_text(&gettext_f(
                    "Could not read the history: {}",
                    &[&e.to_string()],
                )),
                Err(_) => {}
            }
        });
    }

    /// Shows a search hit in its log, selected.
    pub fn show_hit(&self, hit: &MpHistoryHit) {
        self.show_log(&hit.contact(), Some(hit.offset()));
    }

    // ----- export -------------------------------------------------------------------------------

    fn choose_export(&self, format: ExportFormat) {
        let Some(contact) = self.contact() else {
            return;
        };
        let (title, ext) = match format {
            ExportFormat::Text => (gettext("Export as Text"), "txt"),
            ExportFormat::Html => (gettext("Export as HTML"), "html"),
        };
        let chooser = gtk::FileChooserNative::new(
            Some(&title),
            Some(self),
            gtk::FileChooserAction::Save,
            Some(&gettext("_Export")),
            Some(&gettext("_Cancel")),
        );
        chooser.set_modal(true);
        chooser.set_current_name(&format!("{contact}.{ext}"));
        let weak = self.downgrade();
        chooser.connect_response(move |chooser, response| {
            let path = chooser.file().and_then(|f| f.path());
            let Some(win) = weak.upgrade() else { return };
            win.imp().chooser.replace(None);
            if response == gtk::ResponseType::Accept {
                if let Some(path) = path {
                    win.export_to(format, &path);
                }
            }
        });
        chooser.show();
        self.imp().chooser.replace(Some(chooser));
    }

    /// Writes the shown conversation to `out` (on a worker thread); the status line tells the
    /// outcome.
    pub fn export_to(&self, format: ExportFormat, out: &Path) {
        let Some((contact, path)) = self.imp().current.borrow().clone() else {
            return;
        };
        let name = self.shown_name(&contact);
        let who = if name == contact {
            contact.clone()
        } else {
            format!("{name} ({contact})")
        };
        let title = gettext_f("Conversation with {}", &[&who]);
        let out = out.to_path_buf();
        self.set_status(&gettext("Exporting…"));
        let weak = self.downgrade();
        glib::spawn_future_local(async move {
            let target = out.clone();
            let written =
                gio::spawn_blocking(move || history::export(&path, &title, format, &target)).await;
            let Some(win) = weak.upgrade() else { return };
            let shown = out.display().to_string();
            match written {
                Ok(Ok(n)) => win.set_status(&ngettext_f(
                    "Exported {} line to {}",
                    "Exported {} lines to {}",
                    n as u32,
                    &[&n.to_string(), &shown],
                )),
                Ok(Err(e)) => win.set_status(&gettext_f(
                    "Could not export to {}: {}",
                    &[&shown, &e.to_string()],
                )),
                Err(_) => {}
            }
        });
    }

    /// The status line's text (tests).
    pub fn status_text(&self) -> String {
        self.imp().status_label.text().to_string()
    }
}

impl super::MpChatWindow {
    /// Opens the history of this conversation's contact (Ctrl+H in the chat window).
    pub(super) fn show_history(&self) {
        let main = self
            .application()
            .and_downcast::<crate::application::MpApplication>()
            .and_then(|app| app.main_window());
        if let Some(main) = main {
            main.show_history(Some(&self.account()));
        }
    }
}
