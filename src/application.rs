//! `MpApplication`: command-line options (`--demo`), application actions and accelerators,
//! settings, notifications, the About dialog, and the in-process demo server.

use std::cell::{Cell, RefCell};

use gtk::gio;
use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;

use crate::config::{self, APP_ID, VERSION};
use crate::i18n::gettext;
use crate::model::transfer::Response;
use crate::store::secret;
use crate::store::settings::{self, Settings, Writer};
use crate::ui::preferences::ListAction;
use crate::ui::{MpPreferencesWindow, MpWindow};

mod imp {
    use super::*;

    #[derive(Default)]
    pub struct MpApplication {
        pub demo: Cell<bool>,
        pub server: RefCell<Option<msnp_server::ServerHandle>>,
        pub settings: RefCell<Settings>,
        pub settings_problem: RefCell<Option<String>>,
        pub writer: RefCell<Option<Writer>>,
        /// The demo server's CA certificate file (removed at shutdown).
        pub demo_ca: RefCell<Option<std::path::PathBuf>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpApplication {
        const NAME: &'static str = "MpApplication";
        type Type = super::MpApplication;
        type ParentType = gtk::Application;
    }

    impl ObjectImpl for MpApplication {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            obj.add_main_option(
                "demo",
                glib::Char::from(b'd'),
                glib::OptionFlags::NONE,
                glib::OptionArg::None,
                &gettext("Start a demo server in the app and sign in to it"),
                None,
            );
            obj.add_main_option(
                "version",
                glib::Char::from(b'v'),
                glib::OptionFlags::NONE,
                glib::OptionArg::None,
                &gettext("Print the version and exit"),
                None,
            );
        }
    }

    impl ApplicationImpl for MpApplication {
        fn handle_local_options(
            &self,
            options: &glib::VariantDict,
        ) -> std::ops::ControlFlow<glib::ExitCode> {
            if options.contains("version") {
                println!("mariposa {VERSION}");
                return std::ops::ControlFlow::Break(glib::ExitCode::SUCCESS);
            }
            if options.contains("demo") {
                self.demo.set(true);
                // A demo always runs its own instance (with its own server).
                let obj = self.obj();
                obj.set_flags(obj.flags() | gio::ApplicationFlags::NON_UNIQUE);
            }
            // Continue with the default handling.
            std::ops::ControlFlow::Continue(())
        }

        fn startup(&self) {
            self.parent_startup();
            let obj = self.obj();
            obj.load_settings();
            obj.install_actions();
            let provider = gtk::CssProvider::new();
            provider.load_from_resource(&format!("{}/style.css", config::RESOURCE_PREFIX));
            if let Some(display) = gtk::gdk::Display::default() {
                gtk::style_context_add_provider_for_display(
                    &display,
                    &provider,
                    gtk::STYLE_PROVIDER_PRIORITY_APPLICATION,
                );
            }
        }

        fn activate(&self) {
            self.parent_activate();
            let obj = self.obj();
            if let Some(win) = obj.main_window() {
                win.present();
                return;
            }
            let win = MpWindow::new(&obj);
            win.present();
            if let Some(problem) = self.settings_problem.take() {
                win.show_toast(&crate::i18n::gettext_f(
                    "Your settings could not be read and were reset: {}",
                    &[&problem],
                ));
            }
            obj.check_secret_service(&win);
            if self.demo.get() {
                obj.start_demo(&win);
            } else {
                obj.auto_sign_in(&win);
            }
        }

        fn shutdown(&self) {
            let obj = self.obj();
            for win in obj.windows() {
                if let Ok(win) = win.downcast::<MpWindow>() {
                    win.shutdown_session_blocking();
                }
            }
            obj.save_settings_now();
            if let Some(server) = self.server.take() {
                server.shutdown();
            }
            if let Some(path) = self.demo_ca.take() {
                let _ = std::fs::remove_file(path);
            }
            self.parent_shutdown();
        }
    }

    impl GtkApplicationImpl for MpApplication {}
}

glib::wrapper! {
    /// The application.
    pub struct MpApplication(ObjectSubclass<imp::MpApplication>)
        @extends gio::Application, gtk::Application,
        @implements gio::ActionGroup, gio::ActionMap;
}

impl Default for MpApplication {
    fn default() -> Self {
        Self::new()
    }
}

impl MpApplication {
    /// The application object.
    pub fn new() -> Self {
        glib::Object::builder()
            .property("application-id", APP_ID)
            .property("resource-base-path", config::RESOURCE_PREFIX)
            .build()
    }

    /// The main window, if one exists.
    pub fn main_window(&self) -> Option<MpWindow> {
        self.windows()
            .into_iter()
            .find_map(|w| w.downcast::<MpWindow>().ok())
    }

    fn install_actions(&self) {
        let quit = gio::ActionEntry::builder("quit")
            .activate(|app: &Self, _, _| {
                // Closing every window ends the application once the sessions have signed
                // out (each main window holds it until then).
                for win in app.windows() {
                    win.close();
                }
            })
            .build();
        let about = gio::ActionEntry::builder("about")
            .activate(|app: &Self, _, _| app.show_about())
            .build();
        let preferences = gio::ActionEntry::builder("preferences")
            .activate(|app: &Self, _, _| app.show_preferences())
            .build();
        let show_window = gio::ActionEntry::builder("show-window")
            .activate(|app: &Self, _, _| app.activate())
            .build();
        let open_chat = gio::ActionEntry::builder("open-chat")
            .parameter_type(Some(glib::VariantTy::STRING))
            .activate(|app: &Self, _, param| {
                app.activate();
                let account = param.and_then(|p| p.str().map(str::to_string));
                if let (Some(win), Some(account)) = (app.main_window(), account) {
                    if win.is_signed_in() {
                        win.open_chat(&account);
                    }
                }
            })
            .build();
        let answer_request = gio::ActionEntry::builder("answer-request")
            .parameter_type(Some(glib::VariantTy::new("(ss)").expect("valid type")))
            .activate(|app: &Self, _, param| {
                let Some((account, answer)) = param.and_then(|p| p.get::<(String, String)>())
                else {
                    return;
                };
                if let Some(win) = app.main_window() {
                    win.answer_request(&account, &answer);
                }
            })
            .build();
        let transfer_action = |name: &str, response: Response| {
            gio::ActionEntry::builder(name)
                .parameter_type(Some(glib::VariantTy::UINT64))
                .activate(move |app: &Self, _, param| {
                    let id = param.and_then(|p| p.get::<u64>());
                    if let (Some(win), Some(id)) = (app.main_window(), id) {
                        win.respond_to_transfer(id, response);
                    }
                })
                .build()
        };
        let accept_file = transfer_action("accept-file", Response::Accept);
        let decline_file = transfer_action("decline-file", Response::Decline);
        self.add_action_entries([
            accept_file,
            decline_file,
            quit,
            about,
            preferences,
            show_window,
            open_chat,
            answer_request,
        ]);
        self.set_accels_for_action("app.quit", &["<Primary>q"]);
        self.set_accels_for_action("app.preferences", &["<Primary>comma"]);
        self.set_accels_for_action("win.search", &["<Primary>f"]);
        self.set_accels_for_action("win.add-contact", &["<Primary>n"]);
        self.set_accels_for_action("win.show-offline", &["<Primary><Shift>h"]);
        self.set_accels_for_action("window.close", &["<Primary>w"]);
    }

    // ----- settings -----------------------------------------------------------------------------

    fn load_settings(&self) {
        let path = config::config_dir().join("settings.json");
        // Read once before the first window: a small file, and the window needs it to open.
        let loaded = settings::load(&path);
        if let Some(problem) = &loaded.problem {
            eprintln!("mariposa: settings: {problem}");
        }
        let imp = self.imp();
        imp.settings.replace(loaded.settings);
        imp.settings_problem.replace(loaded.problem);
        imp.writer.replace(Some(Writer::new(path)));
    }

    /// A copy of the settings.
    pub fn settings(&self) -> Settings {
        self.imp().settings.borrow().clone()
    }

    /// Changes the settings and saves them (off the main thread) if anything changed.
    pub fn update_settings(&self, f: impl FnOnce(&mut Settings)) {
        let imp = self.imp();
        let bytes = {
            let mut s = imp.settings.borrow_mut();
            let before = s.clone();
            f(&mut s);
            if *s == before {
                return;
            }
            serde_json::to_vec_pretty(&*s)
        };
        if let (Ok(bytes), Some(writer)) = (bytes, imp.writer.borrow().as_ref()) {
            writer.write(bytes);
        }
    }

    fn save_settings_now(&self) {
        let imp = self.imp();
        if let (Ok(bytes), Some(writer)) = (
            serde_json::to_vec_pretty(&*imp.settings.borrow()),
            imp.writer.borrow().as_ref(),
        ) {
            // At shutdown: a last synchronous write of a small file so nothing is lost.
            if let Err(e) = writer.write_now(&bytes) {
                eprintln!("mariposa: cannot write {}: {e}", writer.path().display());
            }
        }
    }

    // ----- notifications ------------------------------------------------------------------------

    /// Sends a desktop notification whose click activates `action` (with `target`).
    pub fn notify(
        &self,
        id: &str,
        title: &str,
        body: &str,
        action: &str,
        target: Option<&glib::Variant>,
    ) {
        if !self.imp().settings.borrow().notifications {
            return;
        }
        let n = gio::Notification::new(title);
        n.set_body(Some(body));
        n.set_default_action_and_target_value(action, target);
        self.send_notification(Some(id), &n);
    }

    /// Notifies a line from `account` (a message or a nudge): a click, or its "Reply" button,
    /// opens the conversation with them.
    pub fn notify_message(&self, id: &str, title: &str, body: &str, account: &str) {
        if !self.imp().settings.borrow().notifications {
            return;
        }
        let target = account.to_variant();
        let n = gio::Notification::new(title);
        n.set_body(Some(body));
        n.set_default_action_and_target_value("app.open-chat", Some(&target));
        n.add_button_with_target_value(&gettext("Reply"), "app.open-chat", Some(&target));
        self.send_notification(Some(id), &n);
    }

    /// Sends a notification with `buttons` (label, action, target) besides the default action.
    pub fn notify_with_buttons(
        &self,
        id: &str,
        title: &str,
        body: &str,
        buttons: &[(String, &str, glib::Variant)],
    ) {
        if !self.imp().settings.borrow().notifications {
            return;
        }
        let n = gio::Notification::new(title);
        n.set_body(Some(body));
        n.set_default_action("app.show-window");
        for (label, action, target) in buttons {
            n.add_button_with_target_value(label, action, Some(target));
        }
        self.send_notification(Some(id), &n);
    }

    // ----- start-up paths -----------------------------------------------------------------------

    fn check_secret_service(&self, win: &MpWindow) {
        let page = win.sign_in_page();
        page.set_secret_available(false);
        let account = self.settings().last_account();
        let weak = page.downgrade();
        glib::spawn_future_local(async move {
            let available = secret::is_available().await;
            let Some(page) = weak.upgrade() else { return };
            page.set_secret_available(available);
            if available {
                page.set_account(&account);
            }
        });
    }

    fn auto_sign_in(&self, win: &MpWindow) {
        let account = self.settings().last_account();
        if std::env::var_os("MARIPOSA_DEBUG").is_some() {
            eprintln!(
                "mariposa: last account {:?}, remember {}, automatic {}",
                account.email, account.remember_password, account.auto_sign_in
            );
        }
        if !account.remember_password || account.email.is_empty() {
            return;
        }
        let weak = win.downgrade();
        glib::spawn_future_local(async move {
            if !secret::is_available().await {
                return;
            }
            match secret::lookup(&account.email).await {
                Ok(Some(password)) => {
                    let Some(win) = weak.upgrade() else { return };
                    win.sign_in_page().set_password(&password);
                    if account.auto_sign_in && !win.is_signed_in() {
                        win.sign_in_from_page();
                    }
                }
                Ok(None) => eprintln!("mariposa: no remembered password for {}", account.email),
                Err(e) => eprintln!("mariposa: cannot read the remembered password: {e}"),
            }
        });
    }

    fn start_demo(&self, win: &MpWindow) {
        let config = msnp_server::Config {
            demo: true,
            ..msnp_server::Config::loopback(vec![])
        };
        // Binding loopback listeners and starting the server thread takes milliseconds.
        let server = match msnp_server::Server::start(config) {
            Ok(server) => server,
            Err(e) => {
                win.sign_in_page().show_error(&crate::i18n::gettext_f(
                    "The demo server could not start: {}",
                    &[&e.to_string()],
                ));
                return;
            }
        };
        let addr = server.ns_addr().to_string();
        let nexus = server.nexus_url();
        let pem = server.ca_pem().map(str::to_string);
        self.imp().server.replace(Some(server));
        win.set_title(Some(&gettext("Mariposa (Demo)")));
        let Some(pem) = pem else {
            // No HTTPS endpoints: the demo signs in with MSNP7 (Automatic falls back).
            win.sign_in_demo(&addr, None, None);
            return;
        };
        // The demo server's Passport endpoints use a CA made at its start: the engine trusts it
        // (for this session only) through a file in the runtime directory.
        let path = demo_ca_path();
        self.imp().demo_ca.replace(Some(path.clone()));
        let weak = win.downgrade();
        glib::spawn_future_local(async move {
            let p = path.clone();
            let written = gio::spawn_blocking(move || {
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&p, pem)
            })
            .await;
            let Some(win) = weak.upgrade() else { return };
            match written {
                Ok(Ok(())) => win.sign_in_demo(&addr, nexus, Some(path)),
                Ok(Err(e)) => {
                    eprintln!("mariposa: cannot write {}: {e}", path.display());
                    win.sign_in_demo(&addr, None, None);
                }
                Err(_) => win.sign_in_demo(&addr, None, None),
            }
        });
    }

    // ----- dialogs ------------------------------------------------------------------------------

    fn show_about(&self) {
        let dialog = gtk::AboutDialog::builder()
            .program_name(gettext("Mariposa"))
            .logo_icon_name("mp-butterfly")
            .version(VERSION)
            .comments(gettext(
                "Chat with your contacts on the MSN Messenger network",
            ))
            .license_type(gtk::License::Gpl30)
            .authors(vec![gettext("The Mariposa developers")])
            .translator_credits(gettext("translator-credits"))
            .modal(true)
            .build();
        if let Some(win) = self.main_window() {
            dialog.set_transient_for(Some(&win));
        }
        dialog.present();
    }

    fn show_preferences(&self) {
        let s = self.settings();
        let weak = self.downgrade();
        let prefs =
            MpPreferencesWindow::new(s.idle_minutes, s.notifications, move |idle, notify| {
                if let Some(app) = weak.upgrade() {
                    app.update_settings(|s| {
                        s.idle_minutes = idle;
                        s.notifications = notify;
                    });
                    if let Some(win) = app.main_window() {
                        win.set_idle_minutes(idle);
                    }
                }
            });
        let weak = self.downgrade();
        prefs.set_download_folder(&s.download_folder(), move |path| {
            if let Some(app) = weak.upgrade() {
                app.update_settings(|s| s.download_dir = path.to_string_lossy().into_owned());
            }
        });
        if let Some(bridge) = self.main_window().and_then(|w| w.bridge()) {
            let settings = bridge
                .state()
                .borrow()
                .list
                .as_ref()
                .map(|l| (l.privacy, l.add_prompt));
            if let Some((privacy, add_prompt)) = settings {
                let weak = std::rc::Rc::downgrade(&bridge);
                prefs.set_privacy(privacy, add_prompt, move |privacy, add_prompt| {
                    if let Some(bridge) = weak.upgrade() {
                        bridge.set_privacy(privacy, add_prompt);
                    }
                });
                let weak = std::rc::Rc::downgrade(&bridge);
                let app = self.downgrade();
                prefs.set_lists(
                    move || {
                        let bridge = weak.upgrade()?;
                        let state = bridge.state().borrow();
                        let list = state.list.as_ref()?;
                        // Named as in the contact list (the presence name when known).
                        Some(
                            list.contacts
                                .values()
                                .map(|e| {
                                    let mut e = e.clone();
                                    if let Some(c) = state.roster.get(&e.account) {
                                        e.name = c.display_name().to_string();
                                    }
                                    e
                                })
                                .collect(),
                        )
                    },
                    move |action, account| {
                        let Some(win) = app.upgrade().and_then(|a| a.main_window()) else {
                            return;
                        };
                        let name = match action {
                            ListAction::Block => "block-contact",
                            ListAction::Allow => "unblock-contact",
                            ListAction::Remove => "remove-contact",
                        };
                        ActionGroupExt::activate_action(&win, name, Some(&account.to_variant()));
                    },
                );
            }
        }
        if let Some(win) = self.main_window() {
            prefs.set_transient_for(Some(&win));
        }
        prefs.set_application(Some(self));
        prefs.present();
    }
}

/// Where the demo server's CA certificate is written: the user's runtime directory (private to
/// the user), one file per process.
fn demo_ca_path() -> std::path::PathBuf {
    glib::user_runtime_dir()
        .join("mariposa")
        .join(format!("demo-ca-{}.pem", std::process::id()))
}
