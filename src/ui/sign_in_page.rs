//! `MpSignInPage`: e-mail, password, server, initial status, "Remember password", "Sign in
//! automatically", and under "Advanced" the protocol (Automatic / MSNP8 only / MSNP7 only);
//! progress with Cancel while signing in; clear errors when it fails.

use std::path::PathBuf;
use std::sync::OnceLock;

use gtk::glib;
use gtk::glib::subclass::Signal;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::CompositeTemplate;
use msnp::proto::command::Status;
use msnp::proto::msnp8::ProtocolChoice;
use msnp::proto::names::is_valid_account;

use crate::config::DEFAULT_SERVER;
use crate::i18n::gettext;
use crate::model::presence;
use crate::store::settings::AccountSettings;

/// What the user asked to sign in with.
#[derive(Debug, Clone)]
pub struct SignInRequest {
    /// E-mail address, trimmed.
    pub email: String,
    /// Password as typed.
    pub password: String,
    /// `host:port`.
    pub server: String,
    /// Initial status.
    pub status: Status,
    /// Remember the password in the Secret Service.
    pub remember_password: bool,
    /// Sign in at start-up next time.
    pub auto_sign_in: bool,
    /// Which protocol versions to offer.
    pub protocol: ProtocolChoice,
    /// MSNP8: the Passport nexus to ask (demo and test servers; `None`: the server's host).
    pub nexus_url: Option<String>,
    /// MSNP8: a CA certificate trusted besides the system's (demo and test servers only).
    pub extra_ca_file: Option<PathBuf>,
}

/// The protocol choices in the order of the "Protocol" drop-down.
pub const PROTOCOL_CHOICES: [ProtocolChoice; 3] = [
    ProtocolChoice::Auto,
    ProtocolChoice::Msnp8Only,
    ProtocolChoice::Msnp7Only,
];

/// The label of a protocol choice.
pub fn protocol_label(choice: ProtocolChoice) -> String {
    match choice {
        ProtocolChoice::Auto => gettext("Automatic"),
        ProtocolChoice::Msnp8Only => gettext("MSNP8 only"),
        ProtocolChoice::Msnp7Only => gettext("MSNP7 only"),
    }
}

/// The test-only endpoints from the environment: `MARIPOSA_NEXUS_URL` (the Passport nexus of a
/// test server) and `MARIPOSA_EXTRA_CA` (a PEM file of its CA, trusted besides the system's;
/// certificate verification stays on). Not in the interface: real servers never need them.
pub fn test_endpoints_from_env() -> (Option<String>, Option<PathBuf>) {
    let nexus = std::env::var("MARIPOSA_NEXUS_URL")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let ca = std::env::var_os("MARIPOSA_EXTRA_CA")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    (nexus, ca)
}

impl SignInRequest {
    /// The account settings to remember (no password).
    pub fn account_settings(&self) -> AccountSettings {
        AccountSettings {
            email: self.email.clone(),
            server: self.server.clone(),
            status: self.status.code().to_string(),
            remember_password: self.remember_password,
            auto_sign_in: self.auto_sign_in,
            protocol: self.protocol,
        }
    }
}

/// Normalises a server address: trimmed, `:1863` added when no port is given.
pub fn normalise_server(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() || t.contains(char::is_whitespace) {
        return None;
    }
    let has_port = match t.rsplit_once(':') {
        Some((host, port)) => {
            if host.is_empty() || port.parse::<u16>().is_err() {
                return None;
            }
            true
        }
        None => false,
    };
    Some(if has_port {
        t.to_string()
    } else {
        format!("{t}:1863")
    })
}

mod imp {
    use super::*;

    #[derive(Default, CompositeTemplate)]
    #[template(resource = "/io/github/mariposa/Mariposa/ui/sign_in_page.ui")]
    pub struct MpSignInPage {
        #[template_child]
        pub fields: TemplateChild<gtk::Box>,
        #[template_child]
        pub email_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub password_entry: TemplateChild<gtk::PasswordEntry>,
        #[template_child]
        pub server_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub status_dropdown: TemplateChild<gtk::DropDown>,
        #[template_child]
        pub remember_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub auto_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub advanced_expander: TemplateChild<gtk::Expander>,
        #[template_child]
        pub protocol_dropdown: TemplateChild<gtk::DropDown>,
        #[template_child]
        pub error_revealer: TemplateChild<gtk::Revealer>,
        #[template_child]
        pub error_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub action_stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub sign_in_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub spinner: TemplateChild<gtk::Spinner>,
        #[template_child]
        pub progress_label: TemplateChild<gtk::Label>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpSignInPage {
        const NAME: &'static str = "MpSignInPage";
        type Type = super::MpSignInPage;
        type ParentType = gtk::Widget;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.bind_template_callbacks();
            klass.set_layout_manager_type::<gtk::BinLayout>();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    #[gtk::template_callbacks]
    impl MpSignInPage {
        #[template_callback]
        fn on_sign_in_clicked(&self) {
            self.obj().emit_by_name::<()>("sign-in", &[]);
        }

        #[template_callback]
        fn on_cancel_clicked(&self) {
            self.obj().emit_by_name::<()>("cancel", &[]);
        }
    }

    impl ObjectImpl for MpSignInPage {
        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| {
                vec![
                    Signal::builder("sign-in").build(),
                    Signal::builder("cancel").build(),
                ]
            })
        }

        fn constructed(&self) {
            self.parent_constructed();
            let labels: Vec<String> = presence::CHOOSABLE.iter().map(presence::label).collect();
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            self.status_dropdown
                .set_model(Some(&gtk::StringList::new(&labels)));
            let protocols: Vec<String> = PROTOCOL_CHOICES.into_iter().map(protocol_label).collect();
            let protocols: Vec<&str> = protocols.iter().map(String::as_str).collect();
            self.protocol_dropdown
                .set_model(Some(&gtk::StringList::new(&protocols)));
            self.server_entry.set_text(DEFAULT_SERVER);
            self.server_entry.connect_icon_press(|entry, pos| {
                if pos == gtk::EntryIconPosition::Secondary {
                    entry.set_text(DEFAULT_SERVER);
                }
            });
            // "Sign in automatically" needs a remembered password.
            let auto = self.auto_check.get();
            self.remember_check
                .bind_property("active", &auto, "sensitive")
                .sync_create()
                .build();
            self.remember_check.connect_active_notify(move |r| {
                if !r.is_active() {
                    auto.set_active(false);
                }
            });
            let obj = self.obj();
            for entry in [
                self.email_entry.upcast_ref::<gtk::Editable>(),
                self.password_entry.upcast_ref(),
                self.server_entry.upcast_ref(),
            ] {
                let weak = obj.downgrade();
                entry.connect_changed(move |_| {
                    if let Some(page) = weak.upgrade() {
                        page.clear_error_marks();
                    }
                });
            }
        }

        fn dispose(&self) {
            self.dispose_template();
            while let Some(child) = self.obj().first_child() {
                child.unparent();
            }
        }
    }

    impl WidgetImpl for MpSignInPage {
        fn map(&self) {
            self.parent_map();
            if let Some(root) = self.obj().root().and_downcast::<gtk::Window>() {
                root.set_default_widget(Some(&*self.sign_in_button));
            }
        }
    }
}

glib::wrapper! {
    /// The sign-in page.
    pub struct MpSignInPage(ObjectSubclass<imp::MpSignInPage>)
        @extends gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget;
}

impl Default for MpSignInPage {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl MpSignInPage {
    /// Fills the fields from a remembered account.
    pub fn set_account(&self, account: &AccountSettings) {
        let imp = self.imp();
        imp.email_entry.set_text(&account.email);
        imp.server_entry
            .set_text(if account.server.trim().is_empty() {
                DEFAULT_SERVER
            } else {
                &account.server
            });
        let status = Status::from_code(&account.status);
        let index = presence::CHOOSABLE
            .iter()
            .position(|s| *s == status)
            .unwrap_or(0);
        imp.status_dropdown.set_selected(index as u32);
        if imp.remember_check.is_sensitive() {
            imp.remember_check.set_active(account.remember_password);
        }
        imp.auto_check
            .set_active(account.remember_password && account.auto_sign_in);
        self.set_protocol(account.protocol);
    }

    /// Selects a protocol choice; a choice other than Automatic opens "Advanced" so it is seen.
    pub fn set_protocol(&self, choice: ProtocolChoice) {
        let imp = self.imp();
        let index = PROTOCOL_CHOICES
            .iter()
            .position(|c| *c == choice)
            .unwrap_or(0);
        imp.protocol_dropdown.set_selected(index as u32);
        if choice != ProtocolChoice::Auto {
            imp.advanced_expander.set_expanded(true);
        }
    }

    /// The selected protocol choice.
    pub fn protocol(&self) -> ProtocolChoice {
        PROTOCOL_CHOICES
            .get(self.imp().protocol_dropdown.selected() as usize)
            .copied()
            .unwrap_or_default()
    }

    /// Opens "Advanced" and focuses the protocol choice (after a failure it may solve).
    pub fn reveal_protocol(&self) {
        let imp = self.imp();
        imp.advanced_expander.set_expanded(true);
    }

    /// Puts a remembered password into the password field.
    pub fn set_password(&self, password: &str) {
        self.imp().password_entry.set_text(password);
    }

    /// Empties the password field.
    pub fn clear_password(&self) {
        self.imp().password_entry.set_text("");
    }

    /// Whether "Remember password" is ticked.
    pub fn remember_password(&self) -> bool {
        self.imp().remember_check.is_active()
    }

    /// Enables or disables "Remember password" depending on the Secret Service.
    pub fn set_secret_available(&self, available: bool) {
        let imp = self.imp();
        imp.remember_check.set_sensitive(available);
        if available {
            imp.remember_check.set_tooltip_text(Some(&gettext(
                "The password is kept in your desktop's password keyring",
            )));
        } else {
            imp.remember_check.set_active(false);
            imp.remember_check.set_tooltip_text(Some(&gettext(
                "No password keyring (Secret Service) is running, so the password cannot be remembered",
            )));
        }
    }

    /// Reads and checks the fields; on a problem shows it and returns `None`.
    pub fn request(&self) -> Option<SignInRequest> {
        let imp = self.imp();
        let email = imp.email_entry.text().trim().to_string();
        if !is_valid_account(&email) {
            self.show_error(&gettext(
                "Enter your e-mail address, like name@example.com.",
            ));
            imp.email_entry.add_css_class("error");
            imp.email_entry.grab_focus();
            return None;
        }
        let password = imp.password_entry.text().to_string();
        if password.is_empty() {
            self.show_error(&gettext("Enter your password."));
            imp.password_entry.add_css_class("error");
            imp.password_entry.grab_focus();
            return None;
        }
        let Some(server) = normalise_server(&imp.server_entry.text()) else {
            self.show_error(&gettext(
                "Enter the server as host:port, like ds.escargot.nina.chat:1863.",
            ));
            imp.server_entry.add_css_class("error");
            imp.server_entry.grab_focus();
            return None;
        };
        let status = presence::CHOOSABLE
            .get(imp.status_dropdown.selected() as usize)
            .cloned()
            .unwrap_or(Status::Online);
        let (nexus_url, extra_ca_file) = test_endpoints_from_env();
        Some(SignInRequest {
            email,
            password,
            server,
            status,
            remember_password: imp.remember_check.is_active() && imp.remember_check.is_sensitive(),
            auto_sign_in: imp.auto_check.is_active(),
            protocol: self.protocol(),
            nexus_url,
            extra_ca_file,
        })
    }

    /// Shows the progress state (fields locked, spinner, Cancel) or the normal state.
    pub fn set_busy(&self, busy: bool) {
        let imp = self.imp();
        imp.fields.set_sensitive(!busy);
        imp.spinner.set_spinning(busy);
        imp.action_stack
            .set_visible_child_name(if busy { "busy" } else { "idle" });
        if busy {
            self.set_progress(&gettext("Signing in…"));
            imp.error_revealer.set_reveal_child(false);
        }
    }

    /// Updates the progress text.
    pub fn set_progress(&self, text: &str) {
        self.imp().progress_label.set_text(text);
    }

    /// Shows an error under the fields (plain text).
    pub fn show_error(&self, text: &str) {
        let imp = self.imp();
        imp.error_label.set_text(text);
        imp.error_revealer.set_reveal_child(true);
    }

    /// Hides the error.
    pub fn clear_error(&self) {
        self.imp().error_revealer.set_reveal_child(false);
        self.clear_error_marks();
    }

    fn clear_error_marks(&self) {
        let imp = self.imp();
        imp.email_entry.remove_css_class("error");
        imp.password_entry.remove_css_class("error");
        imp.server_entry.remove_css_class("error");
    }

    /// Moves the focus to the first empty field (or the password field with `password`).
    pub fn focus_field(&self, password: bool) {
        let imp = self.imp();
        if password || !imp.email_entry.text().is_empty() {
            imp.password_entry.grab_focus();
        } else {
            imp.email_entry.grab_focus();
        }
    }

    /// Marks the password as wrong and focuses it.
    pub fn mark_password_wrong(&self) {
        let imp = self.imp();
        imp.password_entry.add_css_class("error");
        imp.password_entry.grab_focus();
    }

    /// Calls `f` when the user asks to sign in.
    pub fn connect_sign_in<F: Fn(&Self) + 'static>(&self, f: F) -> glib::SignalHandlerId {
        self.connect_local("sign-in", false, move |args| {
            let page = args[0].get::<Self>().ok()?;
            f(&page);
            None
        })
    }

    /// Calls `f` when the user cancels signing in.
    pub fn connect_cancel<F: Fn(&Self) + 'static>(&self, f: F) -> glib::SignalHandlerId {
        self.connect_local("cancel", false, move |args| {
            let page = args[0].get::<Self>().ok()?;
            f(&page);
            None
        })
    }
}

#[cfg(test)]
mod tests {
    use super::normalise_server;

    #[test]
    fn server_addresses_get_the_default_port() {
        assert_eq!(
            normalise_server(" ds.escargot.nina.chat ").as_deref(),
            Some("ds.escargot.nina.chat:1863")
        );
        assert_eq!(
            normalise_server("127.0.0.1:4000").as_deref(),
            Some("127.0.0.1:4000")
        );
        assert_eq!(normalise_server("host:notaport"), None);
        assert_eq!(normalise_server(":1863"), None);
        assert_eq!(normalise_server("a b"), None);
        assert_eq!(normalise_server(""), None);
    }
}
