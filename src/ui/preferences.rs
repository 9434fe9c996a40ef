//! `MpPreferencesWindow`: minutes before Idle, notifications and the download folder, saved to
//! `settings.json`; while signed in, the account's privacy settings (BLP, GTC), which are stored
//! on the server, and a view of the four lists (who I have, allow, block, who has me) with
//! Block / Allow / Remove.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::CompositeTemplate;
use msnp::proto::command::{AddPrompt, List, Privacy};
use msnp::proto::contacts::ContactEntry;

use super::a11y;
use crate::i18n::gettext_f;

/// What a row of the lists view offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListAction {
    /// Move to the block list.
    Block,
    /// Move back to the allow list.
    Allow,
    /// Remove from the contact list (asks first).
    Remove,
}

/// What a lists-view button calls: (action, account).
type ActFn = std::rc::Rc<dyn Fn(ListAction, &str)>;

/// The pages of the lists view: list, page name, title.
fn list_pages() -> [(List, &'static str, String); 4] {
    [
        (List::Forward, "fl", gettext("Contacts")),
        (List::Allow, "al", gettext("Allowed")),
        (List::Block, "bl", gettext("Blocked")),
        (List::Reverse, "rl", gettext("Have You")),
    ]
}

/// The members of `list`, sorted by name, with the actions each row offers (pure).
pub fn members(entries: &[ContactEntry], list: List) -> Vec<(ContactEntry, Vec<ListAction>)> {
    let mut out: Vec<_> = entries
        .iter()
        .filter(|e| e.on(list))
        .map(|e| {
            let mut actions = vec![if e.block {
                ListAction::Allow
            } else {
                ListAction::Block
            }];
            if list == List::Forward {
                actions.push(ListAction::Remove);
            }
            (e.clone(), actions)
        })
        .collect();
    out.sort_by_key(|(e, _)| (e.name.to_lowercase(), e.account.to_lowercase()));
    out
}

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
        pub lists_box: TemplateChild<gtk::Box>,
        #[template_child]
        pub lists_stack: TemplateChild<gtk::Stack>,
        /// The entries shown last (rebuilt only when they change).
        pub shown: std::cell::RefCell<Vec<ContactEntry>>,
        /// Reads the lists again and rebuilds the view if they changed.
        pub refresh: std::cell::RefCell<Option<std::rc::Rc<dyn Fn()>>>,
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

    /// Shows the four lists from `entries` (asked again by [`Self::refresh_lists`], which the
    /// main window calls when the lists change) and calls `act` for a row's button.
    pub fn set_lists(
        &self,
        entries: impl Fn() -> Option<Vec<ContactEntry>> + 'static,
        act: impl Fn(ListAction, &str) + 'static,
    ) {
        let imp = self.imp();
        imp.lists_box.set_visible(true);
        let act: ActFn = std::rc::Rc::new(act);
        let weak = self.downgrade();
        let refresh = move || {
            let Some(w) = weak.upgrade() else { return };
            if let Some(now) = entries() {
                if *w.imp().shown.borrow() != now {
                    w.show_lists(&now, &act);
                    w.imp().shown.replace(now);
                }
            }
        };
        refresh();
        imp.refresh.replace(Some(std::rc::Rc::new(refresh)));
    }

    /// Reads the lists again; the view is rebuilt only if they changed.
    pub fn refresh_lists(&self) {
        let refresh = self.imp().refresh.borrow().clone();
        if let Some(refresh) = refresh {
            refresh();
        }
    }

    fn show_lists(&self, entries: &[ContactEntry], act: &ActFn) {
        let stack = &self.imp().lists_stack;
        for (list, page, title) in list_pages() {
            let listbox = gtk::ListBox::builder()
                .selection_mode(gtk::SelectionMode::None)
                .css_classes(["boxed-list"])
                .build();
            a11y::set_label(&listbox, &title, None);
            let rows = members(entries, list);
            if rows.is_empty() {
                let empty = gtk::Label::builder()
                    .margin_top(12)
                    .margin_bottom(12)
                    .css_classes(["dim-label"])
                    .build();
                empty.set_text(&gettext("Nobody"));
                listbox.append(&empty);
            }
            for (entry, actions) in rows {
                listbox.append(&list_row(&entry, &actions, act));
            }
            let scroller = gtk::ScrolledWindow::builder()
                .hscrollbar_policy(gtk::PolicyType::Never)
                .min_content_height(160)
                .max_content_height(260)
                .propagate_natural_height(true)
                .child(&listbox)
                .build();
            let visible = stack.visible_child_name();
            if let Some(old) = stack.child_by_name(page) {
                stack.remove(&old);
            }
            stack.add_titled(&scroller, Some(page), &title);
            if let Some(v) = visible {
                stack.set_visible_child_name(&v);
            }
        }
    }
}

/// One member of a list: name and address, and its buttons.
fn list_row(entry: &ContactEntry, actions: &[ListAction], act: &ActFn) -> gtk::Widget {
    let row = gtk::Box::builder()
        .spacing(8)
        .margin_top(6)
        .margin_bottom(6)
        .margin_start(10)
        .margin_end(6)
        .build();
    let text = gtk::Box::builder()
        .orientation(gtk::Orientation::Vertical)
        .hexpand(true)
        .build();
    let name = gtk::Label::builder()
        .xalign(0.0)
        .ellipsize(gtk::pango::EllipsizeMode::End)
        .build();
    name.set_text(if entry.name.trim().is_empty() {
        &entry.account
    } else {
        &entry.name
    });
    let account = gtk::Label::builder()
        .xalign(0.0)
        .ellipsize(gtk::pango::EllipsizeMode::End)
        .css_classes(["dim-label", "caption"])
        .build();
    account.set_text(&entry.account);
    text.append(&name);
    text.append(&account);
    row.append(&text);
    for action in actions {
        let (label, name_f) = match action {
            ListAction::Block => (gettext("Block"), gettext_f("Block {}", &[&entry.account])),
            ListAction::Allow => (gettext("Allow"), gettext_f("Allow {}", &[&entry.account])),
            ListAction::Remove => (
                gettext("Remove…"),
                gettext_f("Remove {} from your contacts", &[&entry.account]),
            ),
        };
        let button = gtk::Button::builder()
            .child(&gtk::Label::new(Some(&label)))
            .valign(gtk::Align::Center)
            .build();
        if *action == ListAction::Remove {
            button.add_css_class("destructive-action");
        }
        a11y::set_label(&button, &name_f, None);
        button.set_tooltip_text(Some(&name_f));
        let act = act.clone();
        let action = *action;
        let account = entry.account.clone();
        button.connect_clicked(move |_| act(action, &account));
        row.append(&button);
    }
    row.upcast()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(account: &str, name: &str, lists: &[List]) -> ContactEntry {
        ContactEntry {
            account: account.into(),
            name: name.into(),
            forward: lists.contains(&List::Forward),
            allow: lists.contains(&List::Allow),
            block: lists.contains(&List::Block),
            reverse: lists.contains(&List::Reverse),
            groups: vec![],
            phones: Default::default(),
        }
    }

    #[test]
    fn members_are_sorted_with_the_actions_of_their_list() {
        let entries = vec![
            entry(
                "zed@x.com",
                "Zed",
                &[List::Forward, List::Allow, List::Reverse],
            ),
            entry("amy@x.com", "amy", &[List::Forward, List::Block]),
            entry("rob@x.com", "Rob", &[List::Reverse, List::Block]),
        ];
        let fl = members(&entries, List::Forward);
        let names: Vec<_> = fl.iter().map(|(e, _)| e.account.as_str()).collect();
        assert_eq!(names, ["amy@x.com", "zed@x.com"]);
        assert_eq!(fl[0].1, [ListAction::Allow, ListAction::Remove]);
        assert_eq!(fl[1].1, [ListAction::Block, ListAction::Remove]);
        let rl = members(&entries, List::Reverse);
        assert_eq!(rl.len(), 2);
        assert_eq!(rl[0].1, [ListAction::Allow], "Rob is blocked: Allow");
        assert_eq!(rl[1].1, [ListAction::Block]);
        assert_eq!(members(&entries, List::Block).len(), 2);
        assert_eq!(members(&entries, List::Allow).len(), 1);
    }
}
