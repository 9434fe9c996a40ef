//! `MpPreferencesWindow`: minutes before Idle, notifications and the download folder, saved to
//! `settings.json`; while signed in, the account's privacy settings (BLP, GTC), which are stored on the server.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::CompositeTemplate;
use msnp::proto::command::{AddPrompt, Privacy};

use crate::i18n::gettext;

mod imp {
    use super::*;

    #[derive(Default, CompositeTemplate)]
    #[template(resource = "/io/github/mariposa/Mariposa/ui/preferences.ui")]
    pub struct MpPreferencesWindow {
        #[template_child]
        pub idle_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub notify_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub privacy_box: TemplateChild<gtk::Box>,
        #[template_child]
        pub allow_all_radio: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub allow_list_radio: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub prompt_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub download_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub download_button: TemplateChild<gtk::Button>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpPreferencesWindow {
        const NAME: &'static str = "MpPreferencesWindow";
        type Type = super::MpPreferencesWindow;
        type ParentType = gtk::Window;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for MpPreferencesWindow {}
    impl WidgetImpl for MpPreferencesWindow {}
    impl WindowImpl for MpPreferencesWindow {}
}

glib::wrapper! {
    /// The preferences window.
    pub struct MpPreferencesWindow(ObjectSubclass<imp::MpPreferencesWindow>)
        @extends gtk::Widget, gtk::Window,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native, gtk::Root, gtk::ShortcutManager;
}

impl Default for MpPreferencesWindow {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl MpPreferencesWindow {
    /// Shows `idle_minutes` and `notifications`; calls `changed` with the new values.
    pub fn new(
        idle_minutes: u32,
        notifications: bool,
        changed: impl Fn(u32, bool) + Clone + 'static,
    ) -> Self {
        let w = Self::default();
        let imp = w.imp();
        imp.idle_spin.set_value(f64::from(idle_minutes));
        imp.notify_switch.set_active(notifications);
        let weak = w.downgrade();
        let report = move || {
            if let Some(w) = weak.upgrade() {
                let imp = w.imp();
                changed(
                    imp.idle_spin.value().max(0.0) as u32,
                    imp.notify_switch.is_active(),
                );
            }
        };
        let r = report.clone();
        imp.idle_spin.connect_value_changed(move |_| r());
        imp.notify_switch.connect_active_notify(move |_| report());
        w
    }

    /// Shows the account's privacy settings and calls `changed` with what the user picks (only
    /// while signed in; the section is hidden otherwise).
    pub fn set_privacy(
        &self,
        privacy: Privacy,
        add_prompt: AddPrompt,
        changed: impl Fn(Option<Privacy>, Option<AddPrompt>) + Clone + 'static,
    ) {
        let imp = self.imp();
        imp.privacy_box.set_visible(true);
        imp.allow_all_radio.set_active(privacy == Privacy::AllowAll);
        imp.allow_list_radio
            .set_active(privacy == Privacy::BlockAll);
        imp.prompt_switch.set_active(add_prompt == AddPrompt::Ask);
        let c = changed.clone();
        imp.allow_all_radio.connect_toggled(move |b| {
            c(
                Some(if b.is_active() {
                    Privacy::AllowAll
                } else {
                    Privacy::BlockAll
                }),
                None,
            )
        });
        imp.prompt_switch.connect_active_notify(move |s| {
            changed(
                None,
                Some(if s.is_active() {
                    AddPrompt::Ask
                } else {
                    AddPrompt::DontAsk
                }),
            )
        });
    }

    /// Shows the download folder; the button picks another one (a folder chooser) and calls
    /// `changed` with it.
    pub fn set_download_folder(&self, current: &Path, changed: impl Fn(PathBuf) + 'static) {
        let imp = self.imp();
        imp.download_label.set_text(&current.display().to_string());
        let changed = Rc::new(changed);
        let weak = self.downgrade();
        imp.download_button.connect_clicked(move |_| {
            let Some(win) = weak.upgrade() else { return };
            let dialog = gtk::FileChooserNative::new(
                Some(&gettext("Download Folder")),
                Some(&win),
                gtk::FileChooserAction::SelectFolder,
                Some(&gettext("Select")),
                Some(&gettext("Cancel")),
            );
            dialog.set_modal(true);
            // GTK does not keep a native dialog alive: the handler holds it until the answer.
            let keep = RefCell::new(Some(dialog.clone()));
            let weak = win.downgrade();
            let changed = changed.clone();
            dialog.connect_response(move |d, response| {
                if response == gtk::ResponseType::Accept {
                    if let (Some(win), Some(path)) =
                        (weak.upgrade(), d.file().and_then(|f| f.path()))
                    {
                        win.imp()
                            .download_label
                            .set_text(&path.display().to_string());
                        changed(path);
                    }
                }
                keep.take();
            });
            dialog.show();
        });
    }

    /// The download folder shown.
    pub fn download_folder(&self) -> String {
        self.imp().download_label.text().to_string()
    }

    /// The privacy settings shown.
    pub fn privacy(&self) -> (Privacy, AddPrompt) {
        let imp = self.imp();
        (
            if imp.allow_all_radio.is_active() {
                Privacy::AllowAll
            } else {
                Privacy::BlockAll
            },
            if imp.prompt_switch.is_active() {
                AddPrompt::Ask
            } else {
                AddPrompt::DontAsk
            },
        )
    }
}
