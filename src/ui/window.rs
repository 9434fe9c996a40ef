//! `MpWindow`: the main window. It shows the sign-in page or the contact list, owns the
//! session bridge of the signed-in account, turns the bridge's effects into UI (pages, banner,
//! toasts, notifications, conversation windows) and runs the automatic Idle status.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gtk::gio;
use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::CompositeTemplate;
use msnp::client::ClientConfig;
use msnp::proto::command::Status;
use msnp::proto::contacts::account_key;
use msnp::proto::msnp8::ProtocolChoice;
use msnp::proto::payload::TextFormat;

use super::sign_in_page::SignInRequest;
use super::{MpChatWindow, MpContactListPage, MpSignInPage};
use crate::application::MpApplication;
use crate::config;
use crate::i18n::{gettext, gettext_f};
use crate::idle::{self, IdleSource};
use crate::model::account::{Effect, FailureKind, Phase};
use crate::model::conversation::MpConversation;
use crate::model::idle::AutoIdle;
use crate::model::message::MpMessage;
use crate::session::SessionBridge;
use crate::store::settings::Writer;
use crate::store::{cache, history, secret};

/// How often the idle time is checked.
const IDLE_POLL: Duration = Duration::from_secs(3);
/// How long a toast stays.
const TOAST_TIME: Duration = Duration::from_secs(6);
/// Logged lines shown when a conversation window opens.
const HISTORY_LINES: usize = 20;

/// How long a line may wait for the server before it is marked failed (with Retry).
/// `MARIPOSA_SEND_TIMEOUT_SECS` overrides it (the end-to-end test cannot wait a minute).
fn send_timeout() -> Duration {
    std::env::var("MARIPOSA_SEND_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(msnp::client::DEFAULT_SEND_TIMEOUT)
}

mod imp {
    use super::*;

    #[derive(CompositeTemplate)]
    #[template(resource = "/io/github/mariposa/Mariposa/ui/window.ui")]
    pub struct MpWindow {
        #[template_child]
        pub stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub sign_in_page: TemplateChild<MpSignInPage>,
        #[template_child]
        pub contact_list_page: TemplateChild<MpContactListPage>,
        #[template_child]
        pub toast_revealer: TemplateChild<gtk::Revealer>,
        #[template_child]
        pub toast_label: TemplateChild<gtk::Label>,
        pub bridge: RefCell<Option<Rc<SessionBridge>>>,
        pub request: RefCell<Option<SignInRequest>>,
        pub generation: Cell<u64>,
        pub ephemeral: Cell<bool>,
        pub chats: RefCell<HashMap<String, MpChatWindow>>,
        /// Appends chat-log lines off the main thread (started on first use).
        pub history: RefCell<Option<history::Writer>>,
        /// Engine conversation → the key of its window (the contact's key for a one-to-one
        /// conversation, `conv:<id>` once more people are in it).
        pub conversations: RefCell<HashMap<u64, String>>,
        /// Engine conversation → the other people in it now (account, shown name).
        pub participants: RefCell<HashMap<u64, Vec<(String, String)>>>,
        /// Window key → accounts to invite once the engine names its conversation.
        pub pending_invites: RefCell<HashMap<String, Vec<String>>>,
        pub auto_idle: RefCell<AutoIdle>,
        pub reconnect_at: Cell<Option<Instant>>,
        pub banner_timer: RefCell<Option<glib::SourceId>>,
        pub toast_timer: RefCell<Option<glib::SourceId>>,
        pub outage_notified: Cell<bool>,
        /// Open "X has added you" dialogs by account key.
        pub requests: RefCell<HashMap<String, gtk::MessageDialog>>,
        /// The contact and group menu (created on first use, kept).
        pub menu_popover: RefCell<Option<gtk::PopoverMenu>>,
        /// Writes the contact cache (one write at a time, the newest wins).
        pub cache_writer: RefCell<Option<Writer>>,
        pub cache_save_pending: Cell<bool>,
    }

    impl Default for MpWindow {
        fn default() -> Self {
            MpWindow {
                stack: Default::default(),
                sign_in_page: Default::default(),
                contact_list_page: Default::default(),
                toast_revealer: Default::default(),
                toast_label: Default::default(),
                bridge: Default::default(),
                request: Default::default(),
                generation: Default::default(),
                ephemeral: Default::default(),
                chats: Default::default(),
                conversations: Default::default(),
                participants: Default::default(),
                pending_invites: Default::default(),
                history: Default::default(),
                auto_idle: RefCell::new(AutoIdle::new(Duration::from_secs(300))),
                reconnect_at: Default::default(),
                banner_timer: Default::default(),
                toast_timer: Default::default(),
                outage_notified: Default::default(),
                requests: Default::default(),
                menu_popover: Default::default(),
                cache_writer: Default::default(),
                cache_save_pending: Default::default(),
            }
        }
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpWindow {
        const NAME: &'static str = "MpWindow";
        type Type = super::MpWindow;
        type ParentType = gtk::ApplicationWindow;

        fn class_init(klass: &mut Self::Class) {
            MpSignInPage::ensure_type();
            MpContactListPage::ensure_type();
            klass.bind_template();
            klass.bind_template_callbacks();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    #[gtk::template_callbacks]
    impl MpWindow {
        #[template_callback]
        fn on_toast_dismissed(&self) {
            self.toast_revealer.set_reveal_child(false);
        }
    }

    impl ObjectImpl for MpWindow {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            obj.install_actions();
            obj.install_contact_actions();
            obj.connect_pages();
            idle::track(&*obj);
        }
    }

    impl WidgetImpl for MpWindow {}

    impl WindowImpl for MpWindow {
        fn close_request(&self) -> glib::Propagation {
            let obj = self.obj();
            obj.save_window_state();
            obj.sign_out_before_closing();
            for chat in self.chats.take().into_values() {
                chat.destroy();
            }
            self.parent_close_request()
        }
    }

    impl ApplicationWindowImpl for MpWindow {}
}

glib::wrapper! {
    /// The main window.
    pub struct MpWindow(ObjectSubclass<imp::MpWindow>)
        @extends gtk::Widget, gtk::Window, gtk::ApplicationWindow,
        @implements gio::ActionMap, gio::ActionGroup, gtk::Buildable, gtk::ConstraintTarget,
            gtk::Native, gtk::Root, gtk::ShortcutManager;
}

impl MpWindow {
    /// A main window for `app`, with the last account filled in.
    pub fn new(app: &MpApplication) -> Self {
        let w: Self = glib::Object::builder().property("application", app).build();
        w.setup(app);
        w
    }

    fn app(&self) -> Option<MpApplication> {
        self.application().and_downcast::<MpApplication>()
    }

    fn setup(&self, app: &MpApplication) {
        let settings = app.settings();
        self.set_default_size(settings.window_width, settings.window_height);
        if settings.window_maximized {
            self.maximize();
        }
        self.imp()
            .sign_in_page
            .set_account(&settings.last_account());
        // The password field when the address is known, else the address field.
        self.imp().sign_in_page.focus_field(false);
        if let Some(action) = self.lookup_action("show-offline") {
            action.change_state(&settings.show_offline.to_variant());
        }
        self.set_idle_minutes(settings.idle_minutes);
        self.set_signed_in_actions(false);
        self.start_idle_loop();
    }

    // ----- actions ------------------------------------------------------------------------------

    fn install_actions(&self) {
        let status = gio::SimpleAction::new_stateful(
            "status",
            Some(glib::VariantTy::STRING),
            &"NLN".to_variant(),
        );
        let weak = self.downgrade();
        status.connect_activate(move |action, param| {
            let (Some(win), Some(code)) = (weak.upgrade(), param.and_then(|p| p.str())) else {
                return;
            };
            let status = Status::from_code(code);
            if !status.is_settable() {
                return;
            }
            action.set_state(&code.to_variant());
            win.imp().auto_idle.borrow_mut().user_chose();
            if let Some(bridge) = win.bridge() {
                bridge.set_status(status);
            }
        });
        self.add_action(&status);

        let show_offline =
            gio::SimpleAction::new_stateful("show-offline", None, &true.to_variant());
        let weak = self.downgrade();
        show_offline.connect_activate(move |action, _| {
            let now = !action.state().and_then(|s| s.get::<bool>()).unwrap_or(true);
            action.change_state(&now.to_variant());
            if let Some(win) = weak.upgrade() {
                if let Some(app) = win.app() {
                    app.update_settings(|s| s.show_offline = now);
                }
            }
        });
        let weak = self.downgrade();
        show_offline.connect_change_state(move |action, value| {
            let Some(show) = value.and_then(|v| v.get::<bool>()) else {
                return;
            };
            action.set_state(&show.to_variant());
            if let Some(win) = weak.upgrade() {
                win.imp().contact_list_page.set_show_offline(show);
            }
        });
        self.add_action(&show_offline);

        let sign_out = gio::SimpleAction::new("sign-out", None);
        let weak = self.downgrade();
        sign_out.connect_activate(move |_, _| {
            if let Some(win) = weak.upgrade() {
                win.sign_out();
            }
        });
        self.add_action(&sign_out);

        let search = gio::SimpleAction::new("search", None);
        let weak = self.downgrade();
        search.connect_activate(move |_, _| {
            if let Some(win) = weak.upgrade() {
                if win.imp().stack.visible_child_name().as_deref() == Some("contacts") {
                    win.imp().contact_list_page.focus_search();
                }
            }
        });
        self.add_action(&search);
    }

    fn set_signed_in_actions(&self, signed_in: bool) {
        for name in ["sign-out", "show-offline", "search", "status"] {
            if let Some(a) = self.lookup_action(name).and_downcast::<gio::SimpleAction>() {
                a.set_enabled(signed_in);
            }
        }
        self.set_contact_actions_enabled(signed_in);
    }

    fn connect_pages(&self) {
        let imp = self.imp();
        let weak = self.downgrade();
        imp.sign_in_page.connect_sign_in(move |page| {
            if let (Some(win), Some(req)) = (weak.upgrade(), page.request()) {
                win.start_sign_in(req, false);
            }
        });
        let weak = self.downgrade();
        imp.sign_in_page.connect_cancel(move |_| {
            if let Some(win) = weak.upgrade() {
                win.cancel_sign_in();
            }
        });
        let weak = self.downgrade();
        imp.contact_list_page
            .connect_open_contact(move |_, account| {
                if let Some(win) = weak.upgrade() {
                    win.open_chat(&account);
                }
            });
        let weak = self.downgrade();
        imp.contact_list_page.connect_rename(move |_, name| {
            if let Some(bridge) = weak.upgrade().and_then(|w| w.bridge()) {
                bridge.set_display_name(&name);
            }
        });
        let weak = self.downgrade();
        imp.contact_list_page.connect_retry(move |_| {
            if let Some(win) = weak.upgrade() {
                if let Some(bridge) = win.bridge() {
                    bridge.retry_now();
                    win.imp()
                        .contact_list_page
                        .set_banner(Some(&gettext("Reconnecting…")), false);
                    win.imp().reconnect_at.set(None);
                }
            }
        });
        let weak = self.downgrade();
        imp.contact_list_page.connect_open_mail(move |_| {
            let Some(win) = weak.upgrade() else { return };
            let url = win
                .bridge()
                .map(|b| b.state().borrow().inbox_url.clone())
                .unwrap_or_default();
            // Only web addresses from the server are opened (never file: or other schemes).
            if url.starts_with("https://") || url.starts_with("http://") {
                #[allow(deprecated)]
                gtk::show_uri(Some(&win), &url, gtk::gdk::CURRENT_TIME);
            } else {
                win.show_toast(&gettext(
                    "Open your mailbox in a web browser to read your e-mail.",
                ));
            }
        });
    }

    // ----- sign-in ------------------------------------------------------------------------------

    /// The current session bridge, if any.
    pub fn bridge(&self) -> Option<Rc<SessionBridge>> {
        self.imp().bridge.borrow().clone()
    }

    /// Whether the window shows the contact list.
    pub fn is_signed_in(&self) -> bool {
        self.imp().stack.visible_child_name().as_deref() == Some("contacts")
    }

    /// The sign-in page (tests, auto sign-in).
    pub fn sign_in_page(&self) -> MpSignInPage {
        self.imp().sign_in_page.get()
    }

    /// The contact list page (tests).
    pub fn contact_list_page(&self) -> MpContactListPage {
        self.imp().contact_list_page.get()
    }

    /// Signs in with the demo account on `server` (nothing is remembered), with Automatic
    /// protocol choice: MSNP8 through the demo server's Passport `nexus_url`, whose test CA is
    /// the PEM file `extra_ca_file`.
    pub fn sign_in_demo(
        &self,
        server: &str,
        nexus_url: Option<String>,
        extra_ca_file: Option<std::path::PathBuf>,
    ) {
        let req = SignInRequest {
            email: msnp_server::DEMO_ACCOUNT.to_string(),
            password: msnp_server::DEMO_PASSWORD.to_string(),
            server: server.to_string(),
            status: Status::Online,
            remember_password: false,
            auto_sign_in: false,
            // Without the test CA the demo's Passport endpoints cannot be trusted: MSNP7.
            protocol: if extra_ca_file.is_some() {
                ProtocolChoice::Auto
            } else {
                ProtocolChoice::Msnp7Only
            },
            nexus_url,
            extra_ca_file,
        };
        let page = &self.imp().sign_in_page;
        page.set_account(&req.account_settings());
        page.set_password(&req.password);
        self.start_sign_in(req, true);
    }

    /// Signs in with what the page holds (auto sign-in).
    pub fn sign_in_from_page(&self) {
        if let Some(req) = self.imp().sign_in_page.request() {
            self.start_sign_in(req, false);
        }
    }

    fn start_sign_in(&self, req: SignInRequest, ephemeral: bool) {
        let imp = self.imp();
        if imp.bridge.borrow().is_some() {
            return;
        }
        let generation = imp.generation.get() + 1;
        imp.generation.set(generation);
        imp.sign_in_page.clear_error();
        imp.sign_in_page.set_busy(true);
        imp.request.replace(Some(req.clone()));
        imp.ephemeral.set(ephemeral);
        let weak = self.downgrade();
        glib::spawn_future_local(async move {
            let cache = if ephemeral {
                None
            } else {
                cache::load_async(&req.email).await
            };
            let Some(win) = weak.upgrade() else { return };
            if win.imp().generation.get() != generation {
                return; // cancelled meanwhile
            }
            let config = ClientConfig {
                server: req.server.clone(),
                account: req.email.clone(),
                password: req.password.clone(),
                initial_status: req.status.clone(),
                cache,
                protocol: req.protocol,
                nexus_url: req.nexus_url.clone(),
                extra_ca_file: req.extra_ca_file.clone(),
                send_timeout: send_timeout(),
                ..ClientConfig::default()
            };
            let weak = win.downgrade();
            match SessionBridge::start(config, move |bridge, effects| {
                if let Some(win) = weak.upgrade() {
                    win.handle_effects(bridge, effects);
                }
            }) {
                Ok(bridge) => {
                    win.imp().contact_list_page.set_model(Some(bridge.model()));
                    win.imp().bridge.replace(Some(bridge));
                }
                Err(e) => {
                    win.imp().sign_in_page.set_busy(false);
                    win.imp().sign_in_page.show_error(&gettext_f(
                        "Could not start the connection: {}",
                        &[&e.to_string()],
                    ));
                }
            }
        });
    }

    fn cancel_sign_in(&self) {
        let imp = self.imp();
        imp.generation.set(imp.generation.get() + 1);
        self.end_session(false);
        imp.sign_in_page.set_busy(false);
        imp.sign_in_page.focus_field(false);
    }

    /// Stops the session (if any), saving the contact cache.
    fn end_session(&self, keep_page: bool) {
        let imp = self.imp();
        if let Some(bridge) = imp.bridge.take() {
            self.save_cache(&bridge);
            bridge.shutdown();
        }
        self.stop_banner_timer();
        // The next engine numbers its conversations anew.
        imp.conversations.borrow_mut().clear();
        imp.participants.borrow_mut().clear();
        imp.pending_invites.borrow_mut().clear();
        imp.reconnect_at.set(None);
        imp.auto_idle.borrow_mut().user_chose();
        if !keep_page {
            imp.contact_list_page.set_model(None);
        }
    }

    fn save_cache(&self, bridge: &SessionBridge) {
        if self.imp().ephemeral.get() {
            return;
        }
        let state = bridge.state().borrow();
        let Some(list) = state.list.as_ref() else {
            return;
        };
        let path = cache::path_for(&state.account);
        let bytes = match serde_json::to_vec(list) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("mariposa: cannot save {}: {e}", path.display());
                return;
            }
        };
        drop(state);
        // One writer per file: writes never overlap and the newest list is the one kept.
        let writer = {
            let mut w = self.imp().cache_writer.borrow_mut();
            if w.as_ref().is_none_or(|w| w.path() != path) {
                *w = Some(Writer::new(path));
            }
            w.clone().expect("set above")
        };
        writer.write(bytes);
    }

    /// Saves the cache once after a burst of list changes (half a second after the first).
    fn save_cache_soon(&self) {
        let imp = self.imp();
        if imp.cache_save_pending.replace(true) {
            return;
        }
        let weak = self.downgrade();
        glib::timeout_add_local_once(Duration::from_millis(500), move || {
            let Some(win) = weak.upgrade() else { return };
            win.imp().cache_save_pending.set(false);
            if let Some(bridge) = win.bridge() {
                win.save_cache(&bridge);
            }
        });
    }

    /// Signs out and returns to the sign-in page.
    pub fn sign_out(&self) {
        let imp = self.imp();
        self.end_session(false);
        self.show_sign_in_page();
        if !imp.sign_in_page.remember_password() {
            imp.sign_in_page.clear_password();
        }
    }

    fn show_sign_in_page(&self) {
        let imp = self.imp();
        imp.sign_in_page.set_busy(false);
        imp.stack.set_visible_child_name("sign-in");
        imp.contact_list_page.reset();
        self.set_signed_in_actions(false);
        self.set_title(Some(&gettext("Mariposa")));
        imp.sign_in_page.focus_field(false);
    }

    // ----- effects ------------------------------------------------------------------------------

    fn handle_effects(&self, bridge: &Rc<SessionBridge>, effects: Vec<Effect>) {
        let current = self.bridge().is_some_and(|b| Rc::ptr_eq(&b, bridge));
        if !current {
            return; // a cancelled or replaced session still winding down
        }
        let debug = std::env::var_os("MARIPOSA_DEBUG").is_some();
        for effect in effects {
            if debug {
                eprintln!("mariposa: {effect:?}");
            }
            self.handle_effect(bridge, effect);
        }
    }

    fn handle_effect(&self, bridge: &Rc<SessionBridge>, effect: Effect) {
        let imp = self.imp();
        let page = &imp.contact_list_page;
        let app = self.app();
        match effect {
            Effect::Connecting { attempt } => {
                if bridge.state().borrow().phase == Phase::SigningIn {
                    imp.sign_in_page.set_progress(&if attempt > 1 {
                        gettext_f("Connecting (attempt {})…", &[&attempt.to_string()])
                    } else {
                        gettext("Connecting…")
                    });
                } else {
                    imp.reconnect_at.set(None);
                    page.set_banner(Some(&gettext("Connection lost — reconnecting…")), false);
                }
            }
            Effect::SignedIn { again: false } => self.on_signed_in(bridge),
            Effect::SignedIn { again: true } => {
                self.stop_banner_timer();
                page.set_protocol(bridge.state().borrow().dialect);
                page.set_banner(None, false);
                page.set_connected(true);
                if imp.outage_notified.replace(false) {
                    if let Some(app) = &app {
                        app.notify(
                            "connection",
                            &gettext("Connection restored"),
                            &gettext("You are signed in again."),
                            "app.show-window",
                            None,
                        );
                    }
                }
            }
            Effect::SignInFailed { kind, message } => {
                self.end_session(false);
                imp.sign_in_page.set_busy(false);
                let md5_only = imp
                    .request
                    .borrow()
                    .as_ref()
                    .is_some_and(|r| r.protocol == ProtocolChoice::Msnp7Only);
                if kind == FailureKind::Credentials && md5_only {
                    // MD5 (MSNP7) refused: on Escargot that is also what an account without
                    // "old MSN support" gets, and MSNP8 signs such accounts in.
                    imp.sign_in_page.show_error(&format!(
                        "{message} {}",
                        gettext(
                            "Or open Advanced and choose the protocol “Automatic”: MSNP8 signs in with Passport and needs no “old MSN support”."
                        )
                    ));
                    imp.sign_in_page.reveal_protocol();
                } else {
                    imp.sign_in_page.show_error(&message);
                }
                if kind == FailureKind::Credentials {
                    imp.sign_in_page.mark_password_wrong();
                }
            }
            Effect::Reconnecting {
                retry_in_secs,
                reason,
            } => {
                page.set_connected(false);
                page.set_own_status(&Status::Offline);
                imp.reconnect_at
                    .set(Some(Instant::now() + Duration::from_secs(retry_in_secs)));
                self.update_banner();
                self.start_banner_timer();
                if !imp.outage_notified.replace(true) {
                    if let Some(app) = &app {
                        app.notify(
                            "connection",
                            &gettext("Connection lost"),
                            &gettext_f("Mariposa keeps trying to reconnect. ({})", &[&reason]),
                            "app.show-window",
                            None,
                        );
                    }
                }
            }
            Effect::SignedOut { elsewhere, message } => {
                self.end_session(false);
                self.show_sign_in_page();
                imp.sign_in_page.show_error(&message);
                if elsewhere {
                    if let Some(app) = &app {
                        app.notify(
                            "signed-out",
                            &gettext("Signed out"),
                            &message,
                            "app.show-window",
                            None,
                        );
                    }
                }
            }
            Effect::ContactOnline { account, name } => {
                if let Some(app) = &app {
                    app.notify(
                        &format!("online-{}", account_key(&account)),
                        &gettext_f("{} is now online", &[&name]),
                        &account,
                        "app.open-chat",
                        Some(&account.to_variant()),
                    );
                }
            }
            Effect::NewMail { from, subject } => {
                if let Some(app) = &app {
                    let body = if subject.trim().is_empty() {
                        gettext("(no subject)")
                    } else {
                        subject
                    };
                    app.notify(
                        "mail",
                        &gettext_f("New e-mail from {}", &[&from]),
                        &body,
                        "app.show-window",
                        None,
                    );
                }
            }
            Effect::MailCount(n) => page.set_unread_mail(n),
            Effect::OwnStatus(status) => {
                page.set_own_status(&status);
                if let Some(a) = self.lookup_action("status") {
                    if status.is_settable() {
                        a.change_state(&status.code().to_variant());
                    }
                }
            }
            Effect::OwnName(name) => {
                page.set_own_name(&name);
            }
            Effect::ListSynced(_) => {
                self.save_cache(bridge);
                self.refresh_open_lists();
            }
            Effect::ListChanged => {
                self.save_cache_soon();
                self.refresh_open_lists();
            }
            Effect::ConversationOpened { conversation, with } => {
                if with.is_empty() {
                    return;
                }
                let key = account_key(&with);
                imp.conversations
                    .borrow_mut()
                    .insert(conversation, key.clone());
                let invites = imp.pending_invites.borrow_mut().remove(&key);
                for account in invites.unwrap_or_default() {
                    bridge.invite(conversation, &account);
                }
            }
            Effect::Joined {
                conversation,
                account,
                name,
            } => {
                let people = {
                    let mut all = imp.participants.borrow_mut();
                    let people = all.entry(conversation).or_default();
                    match people
                        .iter_mut()
                        .find(|(a, _)| account_key(a) == account_key(&account))
                    {
                        Some(p) => p.1 = name.clone(),
                        None => people.push((account.clone(), name.clone())),
                    }
                    people.clone()
                };
                if people.len() > 1 {
                    self.make_group(conversation);
                }
                if let Some(chat) = self.chat_of_conversation(conversation) {
                    if account_key(&chat.account()) != account_key(&account) {
                        chat.add_notice(&gettext_f("{} has joined the conversation.", &[&name]));
                    }
                    chat.set_participants(&people);
                }
            }
            Effect::Left {
                conversation,
                account,
            } => {
                let (name, people) = {
                    let mut all = imp.participants.borrow_mut();
                    let people = all.entry(conversation).or_default();
                    let name = people
                        .iter()
                        .find(|(a, _)| account_key(a) == account_key(&account))
                        .map(|(_, n)| n.clone())
                        .unwrap_or_else(|| account.clone());
                    people.retain(|(a, _)| account_key(a) != account_key(&account));
                    (name, people.clone())
                };
                if let Some(chat) = self.chat_of_conversation(conversation) {
                    // A one-to-one switchboard closing is no news; in a group it is.
                    if chat.is_multi() {
                        chat.add_notice(&gettext_f("{} has left the conversation.", &[&name]));
                        chat.set_participants(&people);
                    }
                }
            }
            Effect::Message {
                conversation,
                from,
                name,
                text,
                format,
            } => {
                let chat = self.chat_for_incoming(conversation, &from, &name);
                chat.add_received_formatted(&name, &text, &format);
                self.received_line(&chat, &from, &name, &text, &format);
            }
            Effect::Nudge {
                conversation,
                from,
                name,
            } => {
                let chat = self.chat_for_incoming(conversation, &from, &name);
                chat.nudged(&name);
                let line = gettext_f("{} sent you a nudge.", &[&name]);
                self.received_line(&chat, &from, &name, &line, "");
            }
            Effect::Typing {
                conversation,
                from,
                name,
            } => {
                let chat = self.chat_of_conversation(conversation).or_else(|| {
                    let chat = imp.chats.borrow().get(&account_key(&from)).cloned();
                    chat
                });
                if let Some(chat) = chat {
                    chat.show_typing(&name);
                }
            }
            Effect::Delivered { id } => {
                let chats: Vec<_> = imp.chats.borrow().values().cloned().collect();
                for chat in chats {
                    if chat.conversation().delivered(id) {
                        break;
                    }
                }
            }
            Effect::MessageFailed { id, reason } => {
                let chats: Vec<_> = imp.chats.borrow().values().cloned().collect();
                if !chats.iter().any(|c| c.conversation().failed(id, &reason)) {
                    // Nudges and typing notifications have no line to mark.
                    let _ = id;
                }
            }
            Effect::FileOffered {
                transfer,
                from,
                name,
                size,
            } => self.file_offered(bridge, transfer, &from, &name, size),
            Effect::Transfer { transfer, update } => self.transfer_update(bridge, transfer, update),
            Effect::AddRequest { account, name } => self.show_add_request(&account, &name),
            Effect::AddRequestAnswered { account } => self.close_add_request(&account),
            Effect::Error(text) => self.show_toast(&text),
            Effect::Stopped => {
                if imp.stack.visible_child_name().as_deref() == Some("contacts")
                    && bridge.state().borrow().phase == Phase::Ended
                {
                    // The engine ended on its own (not by our sign-out): back to sign-in.
                    imp.bridge.replace(None);
                    self.show_sign_in_page();
                }
            }
        }
    }

    fn on_signed_in(&self, bridge: &Rc<SessionBridge>) {
        let imp = self.imp();
        let Some(req) = imp.request.borrow().clone() else {
            return;
        };
        let page = &imp.contact_list_page;
        page.set_connected(true);
        page.set_banner(None, false);
        page.set_own_name(&bridge.state().borrow().display_name);
        page.set_protocol(bridge.state().borrow().dialect);
        imp.stack.set_visible_child_name("contacts");
        self.set_signed_in_actions(true);
        page.focus_list();
        imp.outage_notified.set(false);
        if let Some(a) = self.lookup_action("status") {
            a.change_state(&req.status.code().to_variant());
        }
        if let Some(app) = self.app() {
            app.withdraw_notification("signed-out");
            if !imp.ephemeral.get() {
                app.update_settings(|s| s.remember_account(req.account_settings()));
                let email = req.email.clone();
                if req.remember_password {
                    let password = req.password.clone();
                    glib::spawn_future_local(async move {
                        if let Err(e) = secret::store(&email, &password).await {
                            eprintln!("mariposa: cannot remember the password: {e}");
                        }
                    });
                } else {
                    glib::spawn_future_local(async move {
                        let _ = secret::clear(&email).await;
                    });
                }
            }
        }
    }

    // ----- banner, toast --------------------------------------------------------------------------

    fn update_banner(&self) {
        let imp = self.imp();
        let text = match imp.reconnect_at.get() {
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                let secs = left.as_secs() + u64::from(left.subsec_millis() > 0);
                if secs > 0 {
                    gettext_f("Connection lost — retrying in {} s", &[&secs.to_string()])
                } else {
                    gettext("Connection lost — reconnecting…")
                }
            }
            None => gettext("Connection lost — reconnecting…"),
        };
        imp.contact_list_page.set_banner(Some(&text), true);
    }

    fn start_banner_timer(&self) {
        let imp = self.imp();
        if imp.banner_timer.borrow().is_some() {
            return;
        }
        let weak = self.downgrade();
        let id = glib::timeout_add_seconds_local(1, move || {
            let Some(win) = weak.upgrade() else {
                return glib::ControlFlow::Break;
            };
            if win.imp().reconnect_at.get().is_some() {
                win.update_banner();
            }
            glib::ControlFlow::Continue
        });
        imp.banner_timer.replace(Some(id));
    }

    fn stop_banner_timer(&self) {
        if let Some(id) = self.imp().banner_timer.take() {
            id.remove();
        }
    }

    /// Shows a short message at the bottom of the window.
    pub fn show_toast(&self, text: &str) {
        let imp = self.imp();
        imp.toast_label.set_text(text);
        imp.toast_revealer.set_reveal_child(true);
        if let Some(id) = imp.toast_timer.take() {
            id.remove();
        }
        let weak = self.downgrade();
        let id = glib::timeout_add_local_once(TOAST_TIME, move || {
            if let Some(win) = weak.upgrade() {
                win.imp().toast_timer.replace(None);
                win.imp().toast_revealer.set_reveal_child(false);
            }
        });
        imp.toast_timer.replace(Some(id));
    }

    // ----- conversations --------------------------------------------------------------------------

    fn chat_of_conversation(&self, conversation: u64) -> Option<MpChatWindow> {
        let imp = self.imp();
        let key = imp.conversations.borrow().get(&conversation).cloned()?;
        let chat = imp.chats.borrow().get(&key).cloned();
        chat
    }

    /// The engine conversation a window sends into: the newest one mapped to its key.
    fn conversation_of_chat(&self, chat: &MpChatWindow) -> Option<u64> {
        let imp = self.imp();
        let key = imp
            .chats
            .borrow()
            .iter()
            .find(|(_, c)| *c == chat)
            .map(|(k, _)| k.clone())?;
        let conversations = imp.conversations.borrow();
        conversations
            .iter()
            .filter(|(_, k)| **k == key)
            .map(|(id, _)| *id)
            .max()
    }

    /// `conversation` has more than one other person: its window (if any) becomes a group
    /// window under the key `conv:<id>`, so a new one-to-one window can open for the contact.
    fn make_group(&self, conversation: u64) {
        let imp = self.imp();
        let group_key = format!("conv:{conversation}");
        let old = imp
            .conversations
            .borrow_mut()
            .insert(conversation, group_key.clone());
        if let Some(old) = old.filter(|k| *k != group_key) {
            let chat = imp.chats.borrow_mut().remove(&old);
            if let Some(chat) = chat {
                imp.chats.borrow_mut().insert(group_key, chat);
            }
        }
    }

    /// The window an incoming line of `conversation` from `from` goes to: the group window of
    /// a conversation with several people (created when needed), else the window with `from`.
    fn chat_for_incoming(&self, conversation: u64, from: &str, name: &str) -> MpChatWindow {
        let imp = self.imp();
        let key = imp.conversations.borrow().get(&conversation).cloned();
        match key {
            Some(key) if key.starts_with("conv:") => {
                let existing = imp.chats.borrow().get(&key).cloned();
                existing.unwrap_or_else(|| {
                    let people = imp
                        .participants
                        .borrow()
                        .get(&conversation)
                        .cloned()
                        .unwrap_or_default();
                    let chat = self.create_chat(key, from, name, false);
                    chat.set_participants(&people);
                    chat
                })
            }
            _ => self.chat_for(from, name, false),
        }
    }

    /// The window of the conversation with `account`, created when needed. `raise` presents it
    /// (the user asked for it); otherwise a new window is shown without taking the focus from
    /// what the user is doing, and an existing one is left where it is.
    pub(super) fn chat_for(&self, account: &str, name: &str, raise: bool) -> MpChatWindow {
        let key = account_key(account);
        let existing = self.imp().chats.borrow().get(&key).cloned();
        if let Some(chat) = existing {
            chat.set_contact_name(name);
            if raise {
                chat.present();
            }
            return chat;
        }
        self.create_chat(key, account, name, raise)
    }

    fn create_chat(&self, key: String, account: &str, name: &str, raise: bool) -> MpChatWindow {
        let app = self
            .application()
            .expect("the main window belongs to the application");
        let conversation = MpConversation::new(account, name);
        let chat = MpChatWindow::new(Some(&app), &conversation);
        idle::track(&chat);
        let weak = self.downgrade();
        chat.connect_send(move |chat, msg| {
            let Some(win) = weak.upgrade() else { return };
            win.log_line(
                &chat.account(),
                true,
                &msg.sender(),
                &msg.text(),
                &msg.format(),
            );
            win.send_line(chat, &msg);
        });
        let weak = self.downgrade();
        chat.connect_retry(move |chat, serial| {
            let Some(win) = weak.upgrade() else { return };
            if let Some(msg) = chat.conversation().find(serial) {
                win.send_line(chat, &msg);
            }
        });
        let weak = self.downgrade();
        chat.connect_nudge(move |chat| {
            let Some(win) = weak.upgrade() else { return };
            if let Some(bridge) = win.bridge() {
                bridge.send_nudge(&chat.account(), win.group_conversation(chat));
            }
            win.log_line(
                &chat.account(),
                true,
                &gettext("Me"),
                &gettext("You sent a nudge."),
                "",
            );
        });
        let weak = self.downgrade();
        chat.connect_typing(move |chat| {
            let Some(win) = weak.upgrade() else { return };
            if let Some(bridge) = win.bridge() {
                bridge.send_typing(&chat.account(), win.group_conversation(chat));
            }
        });
        let weak = self.downgrade();
        chat.connect_invite_menu(move |chat| {
            let Some(win) = weak.upgrade() else { return };
            chat.show_invite_choices(&win.invite_candidates(chat));
        });
        let weak = self.downgrade();
        chat.connect_invite(move |chat, account| {
            let Some(win) = weak.upgrade() else { return };
            win.invite(chat, &account);
        });
        let weak = self.downgrade();
        chat.connect_close_request(move |chat| {
            if let Some(win) = weak.upgrade() {
                win.imp().chats.borrow_mut().retain(|_, c| c != chat);
            }
            glib::Propagation::Proceed
        });
        self.imp().chats.borrow_mut().insert(key, chat.clone());
        self.connect_transfers(&chat);
        self.load_history(&chat);
        if raise {
            chat.present();
        } else {
            // Mapped without `present()`: no focus request, so typing elsewhere is not
            // interrupted; the desktop notification points at the window.
            chat.set_visible(true);
        }
        chat
    }

    /// The engine conversation to send into for a group window (one-to-one windows send to
    /// the contact, and the engine finds or opens their conversation).
    fn group_conversation(&self, chat: &MpChatWindow) -> Option<u64> {
        if chat.is_multi() {
            self.conversation_of_chat(chat)
        } else {
            None
        }
    }

    /// Online contacts not in the conversation of `chat` (account, shown name), by name.
    fn invite_candidates(&self, chat: &MpChatWindow) -> Vec<(String, String)> {
        let Some(bridge) = self.bridge() else {
            return Vec::new();
        };
        let mut inside: Vec<String> = chat
            .participants()
            .iter()
            .map(|(a, _)| account_key(a))
            .collect();
        inside.push(account_key(&chat.account()));
        let state = bridge.state().borrow();
        let mut out: Vec<(String, String)> = state
            .roster
            .contacts()
            .map(|(_, c)| c)
            .filter(|c| c.is_online() && !inside.contains(&account_key(&c.account)))
            .map(|c| (c.account.clone(), c.display_name().to_string()))
            .collect();
        out.sort_by_key(|(_, n)| n.to_lowercase());
        out
    }

    /// Invites `account` into the conversation of `chat`; a window without an engine
    /// conversation yet opens one first.
    fn invite(&self, chat: &MpChatWindow, account: &str) {
        let Some(bridge) = self.bridge() else { return };
        match self.conversation_of_chat(chat) {
            Some(conversation) => bridge.invite(conversation, account),
            None => {
                let key = account_key(&chat.account());
                self.imp()
                    .pending_invites
                    .borrow_mut()
                    .entry(key)
                    .or_default()
                    .push(account.to_string());
                bridge.open_conversation(&chat.account());
            }
        }
        let name = bridge
            .state()
            .borrow()
            .roster
            .get(account)
            .map(|c| c.display_name().to_string())
            .unwrap_or_else(|| account.to_string());
        chat.add_notice(&gettext_f("Inviting {}…", &[&name]));
    }

    /// A line received from `from` and shown in `chat`: logged, and, when the window is not
    /// focused, the window asks for attention and a notification (with Reply) goes out.
    fn received_line(&self, chat: &MpChatWindow, from: &str, name: &str, text: &str, format: &str) {
        self.log_line(from, false, name, text, format);
        if chat.is_active() {
            return;
        }
        chat.want_attention();
        if let Some(app) = self.app() {
            app.notify_message(&format!("message-{}", account_key(from)), name, text, from);
        }
    }

    /// An open Preferences window shows the lists as they are now.
    fn refresh_open_lists(&self) {
        let Some(app) = self.application() else {
            return;
        };
        for w in app.windows() {
            if let Ok(prefs) = w.downcast::<super::MpPreferencesWindow>() {
                prefs.refresh_lists();
            }
        }
    }

    fn history_path(&self, contact: &str) -> Option<std::path::PathBuf> {
        let own = self.bridge()?.account();
        Some(history::log_path(&config::data_dir(), &own, contact))
    }

    pub(super) fn log_line(&self, contact: &str, own: bool, name: &str, text: &str, format: &str) {
        let Some(path) = self.history_path(contact) else {
            return;
        };
        let writer = self
            .imp()
            .history
            .borrow_mut()
            .get_or_insert_with(history::Writer::start)
            .clone();
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let entry = history::Entry {
            time,
            own,
            name: name.to_string(),
            text: text.to_string(),
            format: format.to_string(),
        };
        // An open history window of this account shows the line at once.
        if let Some(app) = self.application() {
            let own_account = self.bridge().map(|b| b.account()).unwrap_or_default();
            for w in app.windows() {
                if let Ok(h) = w.downcast::<super::MpHistoryWindow>() {
                    if h.own().eq_ignore_ascii_case(&own_account) {
                        h.line_logged(contact, &entry);
                    }
                }
            }
        }
        writer.append(path, entry);
    }

    /// Shows the last lines of the log, read on the log writer's thread (in order with the
    /// lines being appended, so the line that opened the window is not also shown as history).
    fn load_history(&self, chat: &MpChatWindow) {
        let Some(path) = self.history_path(&chat.account()) else {
            return;
        };
        let writer = self
            .imp()
            .history
            .borrow_mut()
            .get_or_insert_with(history::Writer::start)
            .clone();
        // Queued now, before the line that opened the window is appended.
        let read = writer.read_last(path, HISTORY_LINES);
        let weak = chat.downgrade();
        glib::spawn_future_local(async move {
            let entries = read.await;
            if let Some(chat) = weak.upgrade() {
                chat.prepend_history(&entries);
            }
        });
    }

    fn send_line(&self, chat: &MpChatWindow, msg: &MpMessage) {
        match self.bridge() {
            Some(bridge) if bridge.is_running() => {
                let format = msg.format();
                let format = (!format.is_empty()).then(|| TextFormat::parse(&format));
                let ids = bridge.send_text(
                    &chat.account(),
                    self.group_conversation(chat),
                    &msg.text(),
                    &format,
                );
                chat.conversation().track(msg, &ids);
            }
            _ => {
                msg.set_pending(1);
                msg.piece_failed(&gettext("not signed in"));
            }
        }
    }

    /// Opens (or raises) the conversation window with `account`.
    pub fn open_chat(&self, account: &str) {
        let name = self
            .bridge()
            .and_then(|b| {
                b.state()
                    .borrow()
                    .roster
                    .get(account)
                    .map(|c| c.display_name().to_string())
            })
            .unwrap_or_else(|| account.to_string());
        self.chat_for(account, &name, true);
    }

    // ----- idle -----------------------------------------------------------------------------------

    /// Sets the minutes without input before Idle. `MARIPOSA_IDLE_SECONDS` overrides it in
    /// seconds (for the end-to-end test, which cannot wait minutes).
    pub fn set_idle_minutes(&self, minutes: u32) {
        let threshold = std::env::var("MARIPOSA_IDLE_SECONDS")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(u64::from(minutes) * 60));
        self.imp().auto_idle.borrow_mut().threshold = threshold;
    }

    fn start_idle_loop(&self) {
        let weak = self.downgrade();
        glib::spawn_future_local(async move {
            let source = IdleSource::detect().await;
            loop {
                glib::timeout_future(IDLE_POLL).await;
                let Some(win) = weak.upgrade() else { break };
                let Some(bridge) = win.bridge() else { continue };
                if bridge.state().borrow().phase != Phase::Online {
                    continue;
                }
                drop(win);
                let idle_for = source.idle_time().await;
                if std::env::var_os("MARIPOSA_DEBUG").is_some() {
                    eprintln!("mariposa: idle for {idle_for:?} ({source:?})");
                }
                let Some(win) = weak.upgrade() else { break };
                let current = bridge.state().borrow().status.clone();
                let change = win.imp().auto_idle.borrow_mut().update(idle_for, &current);
                if let Some(status) = change {
                    bridge.set_status(status);
                }
            }
        });
    }

    // ----- window state ---------------------------------------------------------------------------

    fn save_window_state(&self) {
        let Some(app) = self.app() else { return };
        let (w, h) = self.default_size();
        let maximized = self.is_maximized();
        app.update_settings(|s| {
            if !maximized && w > 0 && h > 0 {
                s.window_width = w;
                s.window_height = h;
            }
            s.window_maximized = maximized;
        });
    }

    /// Signs out while the window closes: the application is held (without blocking the main
    /// loop) until the engine has said goodbye, or a second has passed.
    fn sign_out_before_closing(&self) {
        let Some(bridge) = self.imp().bridge.take() else {
            return;
        };
        self.save_cache(&bridge);
        bridge.shutdown();
        let Some(app) = self.app() else { return };
        let guard = app.hold();
        glib::spawn_future_local(async move {
            let end = Instant::now() + Duration::from_secs(1);
            while bridge.is_running() && Instant::now() < end {
                glib::timeout_future(Duration::from_millis(20)).await;
            }
            drop(guard);
        });
    }

    /// Signs out and waits briefly so `OUT` reaches the server (quitting).
    pub fn shutdown_session_blocking(&self) {
        if let Some(bridge) = self.imp().bridge.take() {
            // Quitting: written at once (a small file), nothing would run a worker later.
            let state = bridge.state().borrow();
            if let (false, Some(list)) = (self.imp().ephemeral.get(), state.list.as_ref()) {
                let path = cache::path_for(&state.account);
                if let Err(e) = cache::save(&path, list) {
                    eprintln!("mariposa: cannot save {}: {e}", path.display());
                }
            }
            drop(state);
            bridge.shutdown_and_wait(Duration::from_millis(800));
        }
    }
}
