//! `MpTransferRow`: a file transfer's line in a conversation — file name and size, what is
//! happening in words (progress with rate and time left, or how it ended), a progress bar, and
//! the buttons of the moment: Accept / Decline for an offer, Cancel while it runs, Open and
//! Show in Folder once a file has arrived. Rows are recycled, so everything comes from the bound
//! [`MpTransfer`]; answers go back through its `respond` signal. Opening never blocks.

use std::cell::RefCell;

use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::CompositeTemplate;
use gtk::{gio, glib};

use super::a11y;
use crate::i18n::gettext_f;
use crate::model::transfer::{Direction, MpTransfer, Response, TransferState};

/// How long "Show in Folder" waits for the file manager's D-Bus answer before opening the folder.
const FILE_MANAGER_TIMEOUT_MS: i32 = 3000;

mod imp {
    use super::*;

    #[derive(Default, CompositeTemplate)]
    #[template(resource = "/io/github/mariposa/Mariposa/ui/transfer_row.ui")]
    pub struct MpTransferRow {
        #[template_child]
        pub icon: TemplateChild<gtk::Image>,
        #[template_child]
        pub title_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub status_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub progress: TemplateChild<gtk::ProgressBar>,
        #[template_child]
        pub accept_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub decline_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub cancel_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub open_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub folder_button: TemplateChild<gtk::Button>,
        pub transfer: RefCell<Option<MpTransfer>>,
        pub handlers: RefCell<Vec<glib::SignalHandlerId>>,
        /// A problem opening the file, shown instead of the status until the next change.
        pub open_error: RefCell<Option<String>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpTransferRow {
        const NAME: &'static str = "MpTransferRow";
        type Type = super::MpTransferRow;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for MpTransferRow {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            for (button, response) in [
                (&*self.accept_button, Response::Accept),
                (&*self.decline_button, Response::Decline),
                (&*self.cancel_button, Response::Cancel),
            ] {
                let weak = obj.downgrade();
                button.connect_clicked(move |_| {
                    if let Some(t) = weak.upgrade().and_then(|r| r.transfer()) {
                        t.respond(response);
                    }
                });
            }
            let weak = obj.downgrade();
            self.open_button.connect_clicked(move |_| {
                if let Some(row) = weak.upgrade() {
                    row.open_file();
                }
            });
            let weak = obj.downgrade();
            self.folder_button.connect_clicked(move |_| {
                if let Some(row) = weak.upgrade() {
                    row.show_in_folder();
                }
            });
        }

        fn dispose(&self) {
            self.obj().unbind();
        }
    }

    impl WidgetImpl for MpTransferRow {}
    impl BoxImpl for MpTransferRow {}
}

glib::wrapper! {
    /// A file transfer's line.
    pub struct MpTransferRow(ObjectSubclass<imp::MpTransferRow>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl Default for MpTransferRow {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl MpTransferRow {
    /// The transfer shown.
    pub fn transfer(&self) -> Option<MpTransfer> {
        self.imp().transfer.borrow().clone()
    }

    /// Shows `transfer` and follows it.
    pub fn bind(&self, transfer: &MpTransfer) {
        self.unbind();
        let imp = self.imp();
        imp.open_error.replace(None);
        let mut handlers = Vec::new();
        for prop in ["state", "status", "bytes", "size"] {
            let weak = self.downgrade();
            handlers.push(transfer.connect_notify_local(Some(prop), move |t, _| {
                if let Some(row) = weak.upgrade() {
                    row.imp().open_error.replace(None);
                    row.update(t);
                }
            }));
        }
        imp.handlers.replace(handlers);
        imp.transfer.replace(Some(transfer.clone()));
        let name = transfer.file_name();
        imp.icon.set_icon_name(Some(match transfer.dir() {
            Direction::Send => "document-send-symbolic",
            Direction::Receive => "folder-download-symbolic",
        }));
        for (button, label) in [
            (&*imp.accept_button, gettext_f("Accept {}", &[&name])),
            (&*imp.decline_button, gettext_f("Decline {}", &[&name])),
            (&*imp.cancel_button, gettext_f("Cancel {}", &[&name])),
            (&*imp.open_button, gettext_f("Open {}", &[&name])),
            (
                &*imp.folder_button,
                gettext_f("Show {} in Folder", &[&name]),
            ),
        ] {
            a11y::set_label(button, &label, None);
        }
        a11y::set_label(&*imp.progress, &gettext_f("Progress of {}", &[&name]), None);
        self.update(transfer);
    }

    /// Forgets the transfer (the row is recycled).
    pub fn unbind(&self) {
        let imp = self.imp();
        let old = imp.transfer.take();
        let handlers = imp.handlers.take();
        if let Some(t) = old {
            for id in handlers {
                t.disconnect(id);
            }
        }
    }

    fn update(&self, t: &MpTransfer) {
        let imp = self.imp();
        let state = t.transfer_state();
        let receive = t.dir() == Direction::Receive;
        imp.title_label.set_text(&t.title());
        let status = imp
            .open_error
            .borrow()
            .clone()
            .unwrap_or_else(|| t.status());
        imp.status_label.set_text(&status);
        for (class, on) in [
            (
                "error",
                matches!(state, TransferState::Failed) || imp.open_error.borrow().is_some(),
            ),
            (
                "dim-label",
                matches!(state, TransferState::Declined | TransferState::Cancelled),
            ),
        ] {
            if on {
                imp.status_label.add_css_class(class);
            } else {
                imp.status_label.remove_css_class(class);
            }
        }
        let running = matches!(
            state,
            TransferState::Connecting | TransferState::Transferring
        );
        imp.progress.set_visible(running);
        if state == TransferState::Connecting {
            imp.progress.pulse();
        } else if t.size() > 0 {
            imp.progress
                .set_fraction((t.bytes() as f64 / t.size() as f64).clamp(0.0, 1.0));
        } else {
            imp.progress.set_fraction(0.0);
        }
        let offered = state == TransferState::Offered;
        imp.accept_button.set_visible(receive && offered);
        imp.decline_button.set_visible(receive && offered);
        imp.cancel_button
            .set_visible(running || (offered && !receive));
        let done = receive && state == TransferState::Completed && !t.path().is_empty();
        imp.open_button.set_visible(done);
        imp.folder_button.set_visible(done);
    }

    fn show_error(&self, text: String) {
        self.imp().open_error.replace(Some(text));
        if let Some(t) = self.transfer() {
            self.update(&t);
        }
    }

    fn launch_context(&self) -> gio::AppLaunchContext {
        self.display().app_launch_context().upcast()
    }

    /// Opens the received file with its default application (asynchronously).
    fn open_file(&self) {
        let Some(t) = self.transfer() else { return };
        let uri = gio::File::for_path(t.path()).uri();
        let ctx = self.launch_context();
        let weak = self.downgrade();
        glib::spawn_future_local(async move {
            let result = gio::AppInfo::launch_default_for_uri_future(&uri, Some(&ctx)).await;
            if let (Err(e), Some(row)) = (result, weak.upgrade()) {
                row.show_error(gettext_f(
                    "The file could not be opened: {}",
                    &[e.message()],
                ));
            }
        });
    }

    /// Shows the received file in the file manager (`org.freedesktop.FileManager1.ShowItems`),
    /// or opens its folder when no file manager answers.
    fn show_in_folder(&self) {
        let Some(t) = self.transfer() else { return };
        let file = gio::File::for_path(t.path());
        let uri = file.uri().to_string();
        let folder_uri = file.parent().map(|p| p.uri().to_string());
        let ctx = self.launch_context();
        let weak = self.downgrade();
        glib::spawn_future_local(async move {
            let shown = match gio::bus_get_future(gio::BusType::Session).await {
                Ok(bus) => bus
                    .call_future(
                        Some("org.freedesktop.FileManager1"),
                        "/org/freedesktop/FileManager1",
                        "org.freedesktop.FileManager1",
                        "ShowItems",
                        Some(&(vec![uri], String::new()).to_variant()),
                        None,
                        gio::DBusCallFlags::NONE,
                        FILE_MANAGER_TIMEOUT_MS,
                    )
                    .await
                    .is_ok(),
                Err(_) => false,
            };
            if shown {
                return;
            }
            let Some(folder_uri) = folder_uri else { return };
            let result = gio::AppInfo::launch_default_for_uri_future(&folder_uri, Some(&ctx)).await;
            if let (Err(e), Some(row)) = (result, weak.upgrade()) {
                row.show_error(gettext_f(
                    "The folder could not be opened: {}",
                    &[e.message()],
                ));
            }
        });
    }
}
