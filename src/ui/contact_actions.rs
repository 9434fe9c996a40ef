//! The main window's contact-list actions: add a contact (Ctrl+N), and a contact's menu
//! (details, remove, block / unblock, move / copy to a group). Each turns into the request sequence of
//! [`crate::model::list_ops`]; the list changes when the server confirms.

use gtk::gio;
use gtk::glib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;

use super::{MpAddContactDialog, MpWindow};
use crate::i18n::{gettext, gettext_f};
use crate::model::list_ops::{self, Answer};

impl MpWindow {
    /// Installs `win.add-contact`, `win.remove-contact`, `win.block-contact`,
    /// `win.unblock-contact` (target: the account), `win.move-contact` (account, from, to) and
    /// `win.copy-contact` (account, to).
    pub(super) fn install_contact_actions(&self) {
        let add = gio::SimpleAction::new("add-contact", None);
        let weak = self.downgrade();
        add.connect_activate(move |_, _| {
            if let Some(win) = weak.upgrade() {
                win.show_add_contact();
            }
        });
        self.add_action(&add);

        let account_action = |name: &str, f: fn(&MpWindow, &str)| {
            let action = gio::SimpleAction::new(name, Some(glib::VariantTy::STRING));
            let weak = self.downgrade();
            action.connect_activate(move |_, param| {
                if let (Some(win), Some(account)) = (weak.upgrade(), param.and_then(|p| p.str())) {
                    f(&win, account);
                }
            });
            self.add_action(&action);
        };
        account_action("remove-contact", |win, account| win.confirm_remove(account));
        // "" is the selected contact (Ctrl+H, a shortcut of this window only: an application
        // accelerator would also fire in conversation windows, which have their own).
        account_action("view-history", |win, account| {
            win.show_history(Some(account).filter(|a| !a.is_empty()));
        });
        let shortcuts = gtk::ShortcutController::new();
        shortcuts.set_scope(gtk::ShortcutScope::Managed);
        let ctrl_h = gtk::Shortcut::new(
            gtk::ShortcutTrigger::parse_string("<Primary>h"),
            Some(gtk::NamedAction::new("win.view-history").upcast::<gtk::ShortcutAction>()),
        );
        ctrl_h.set_arguments(Some(&"".to_variant()));
        shortcuts.add_shortcut(ctrl_h);
        self.add_controller(shortcuts);
        account_action("contact-details", |win, account| {
            win.show_contact_details(account);
        });
        account_action("block-contact", |win, account| {
            win.run_on_entry(account, list_ops::block)
        });
        account_action("unblock-contact", |win, account| {
            win.run_on_entry(account, list_ops::unblock)
        });

        let move_to =
            gio::SimpleAction::new("move-contact", Some(glib::VariantTy::new("(suu)").unwrap()));
        let weak = self.downgrade();
        move_to.connect_activate(move |_, param| {
            let (Some(win), Some((account, from, to))) = (
                weak.upgrade(),
                param.and_then(|p| p.get::<(String, u32, u32)>()),
            ) else {
                return;
            };
            win.run_on_entry(&account, |e| list_ops::move_to_group(e, from, to));
        });
        self.add_action(&move_to);

        let copy_to =
            gio::SimpleAction::new("copy-contact", Some(glib::VariantTy::new("(su)").unwrap()));
        let weak = self.downgrade();
        copy_to.connect_activate(move |_, param| {
            let (Some(win), Some((account, to))) =
                (weak.upgrade(), param.and_then(|p| p.get::<(String, u32)>()))
            else {
                return;
            };
            win.run_on_entry(&account, |e| list_ops::copy_to_group(e, to));
        });
        self.add_action(&copy_to);

        let new_group = gio::SimpleAction::new("new-group", None);
        let weak = self.downgrade();
        new_group.connect_activate(move |_, _| {
            if let Some(win) = weak.upgrade() {
                win.ask_group_name(None);
            }
        });
        self.add_action(&new_group);
        let group_action = |name: &str, f: fn(&MpWindow, u32)| {
            let action = gio::SimpleAction::new(name, Some(glib::VariantTy::UINT32));
            let weak = self.downgrade();
            action.connect_activate(move |_, param| {
                if let (Some(win), Some(id)) = (weak.upgrade(), param.and_then(|p| p.get::<u32>()))
                {
                    f(&win, id);
                }
            });
            self.add_action(&action);
        };
        group_action("rename-group", |win, id| win.ask_group_name(Some(id)));
        group_action("remove-group", |win, id| win.confirm_remove_group(id));

        let weak = self.downgrade();
        self.contact_list_page()
            .connect_group_menu(move |_, group, row, x, y| {
                if let Some(win) = weak.upgrade() {
                    win.popup_menu(&group_menu(group), &row, x, y);
                }
            });

        let weak = self.downgrade();
        self.contact_list_page()
            .connect_contact_menu(move |_, account, group, row, x, y| {
                if let Some(win) = weak.upgrade() {
                    win.popup_contact_menu(&account, group, &row, x, y);
                }
            });
    }

    /// Enables the actions that need a connection.
    pub(super) fn set_contact_actions_enabled(&self, enabled: bool) {
        for name in [
            "add-contact",
            "remove-contact",
            "contact-details",
            "block-contact",
            "unblock-contact",
            "move-contact",
            "copy-contact",
            "new-group",
            "rename-group",
            "remove-group",
        ] {
            if let Some(a) = self.lookup_action(name).and_downcast::<gio::SimpleAction>() {
                a.set_enabled(enabled);
            }
        }
    }

    fn run_on_entry(
        &self,
        account: &str,
        ops: impl FnOnce(&msnp::proto::contacts::ContactEntry) -> Vec<msnp::proto::ns::NsRequest>,
    ) {
        let Some(bridge) = self.bridge() else { return };
        match bridge.entry(account) {
            Some(entry) => bridge.send_ns(ops(&entry)),
            None => self.show_toast(&gettext_f("{} is not on your lists any more.", &[account])),
        }
    }

    /// Opens the details window of `account`.
    pub fn show_contact_details(&self, account: &str) -> Option<gtk::Window> {
        let bridge = self.bridge()?;
        let Some(entry) = bridge.entry(account) else {
            self.show_toast(&gettext_f("{} is not on your lists any more.", &[account]));
            return None;
        };
        let details = {
            let state = bridge.state().borrow();
            let data = state.roster.get(account);
            super::contact_details::Details {
                groups: entry
                    .groups
                    .iter()
                    .map(|id| state.roster.group_name(*id))
                    .collect(),
                presence_name: data.and_then(|d| d.presence_name.clone()),
                status: data
                    .map(|d| d.status.clone())
                    .unwrap_or(msnp::proto::command::Status::Offline),
                entry,
            }
        };
        let win = super::contact_details::window(Some(self.upcast_ref()), &details);
        win.present();
        Some(win)
    }

    /// Opens the "Add a Contact" dialog.
    pub fn show_add_contact(&self) -> Option<MpAddContactDialog> {
        let bridge = self.bridge()?;
        let weak = self.downgrade();
        let dialog = MpAddContactDialog::new(&bridge.groups(), move |email, group| {
            let Some(win) = weak.upgrade() else { return };
            let Some(bridge) = win.bridge() else { return };
            let known = bridge.entry(&email);
            if known.as_ref().is_some_and(|e| e.forward) {
                win.show_toast(&gettext_f("{} is already on your contact list.", &[&email]));
                return;
            }
            bridge.send_ns(list_ops::add_contact(&email, Some(group), known.as_ref()));
            win.show_toast(&gettext_f("Adding {}…", &[&email]));
        });
        dialog.set_transient_for(Some(self));
        dialog.present();
        Some(dialog)
    }

    /// Opens (or raises) the history window of the signed-in account (else the last one) on
    /// the log of `contact`, or of the contact selected in the list when `None`.
    pub fn show_history(&self, contact: Option<&str>) -> Option<super::MpHistoryWindow> {
        let app = self
            .application()
            .and_downcast::<crate::application::MpApplication>()?;
        let bridge = self.bridge();
        let own = match &bridge {
            Some(b) => b.account(),
            None => app.settings().last_account().email,
        };
        if own.is_empty() {
            return None;
        }
        let contact = contact.map(str::to_string).or_else(|| {
            self.contact_list_page()
                .list_view()
                .model()
                .and_downcast::<gtk::SingleSelection>()?
                .selected_item()
                .and_downcast::<crate::model::MpContact>()
                .map(|c| c.account())
        });
        let existing = app.windows().into_iter().find_map(|w| {
            w.downcast::<super::MpHistoryWindow>()
                .ok()
                .filter(|h| h.own().eq_ignore_ascii_case(&own))
        });
        let window = match existing {
            Some(w) => {
                // Logs may have been started since it opened.
                w.reload_logs();
                w
            }
            None => {
                let names = bridge
                    .map(|b| {
                        b.state()
                            .borrow()
                            .roster
                            .contacts()
                            .map(|(k, c)| (k.clone(), c.display_name().to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                super::MpHistoryWindow::new(
                    Some(app.upcast_ref()),
                    &crate::config::data_dir(),
                    &own,
                    names,
                )
            }
        };
        if std::env::var_os("MARIPOSA_DEBUG").is_some() {
            eprintln!("mariposa: history of {own}, contact {contact:?}");
        }
        if let Some(contact) = contact {
            window.open_log(&contact);
        }
        window.present();
        Some(window)
    }

    fn popup_contact_menu(&self, account: &str, group: u32, row: &gtk::Widget, x: f64, y: f64) {
        let Some(bridge) = self.bridge() else { return };
        let Some(entry) = bridge.entry(account) else {
            return;
        };
        self.popup_menu(&contact_menu(&entry, group, &bridge.groups()), row, x, y);
    }

    fn popup_menu(&self, menu: &gio::Menu, row: &gtk::Widget, x: f64, y: f64) {
        // One popover for every contact and group menu, parented to the page and never
        // destroyed: a popover parented to a row, or unparented after an action, crashes GTK
        // 4.8 (gdk_surface_request_motion on a surface that is gone) when the action changes
        // the list (a move or a copy re-lays the rows out) right after a submenu was used.
        let page = self.contact_list_page();
        let popover = self
            .imp()
            .menu_popover
            .borrow_mut()
            .get_or_insert_with(|| {
                let p = gtk::PopoverMenu::from_model(None::<&gio::MenuModel>);
                p.set_parent(&page);
                p.set_has_arrow(false);
                p.set_halign(gtk::Align::Start);
                p
            })
            .clone();
        #[allow(deprecated)] // compute_point needs GTK 4.12
        let (px, py) = row.translate_coordinates(&page, x, y).unwrap_or((x, y));
        popover.set_menu_model(Some(menu));
        popover.set_pointing_to(Some(&gtk::gdk::Rectangle::new(px as i32, py as i32, 1, 1)));
        popover.popup();
    }

    /// Asks for the name of a new group, or the new name of group `rename`.
    fn ask_group_name(&self, rename: Option<u32>) {
        let Some(bridge) = self.bridge() else { return };
        let old = rename.map(|id| bridge.state().borrow().roster.group_name(id));
        let (title, button) = match &old {
            Some(old) => (gettext_f("Rename “{}”", &[old]), gettext("_Rename")),
            None => (gettext("New Group"), gettext("_Create")),
        };
        let dialog = gtk::MessageDialog::builder()
            .transient_for(self)
            .modal(true)
            .text(title)
            .build();
        super::a11y::add_dialog_button(&dialog, &gettext("_Cancel"), gtk::ResponseType::Cancel);
        let ok = super::a11y::add_dialog_button(&dialog, &button, gtk::ResponseType::Accept);
        ok.add_css_class("suggested-action");
        dialog.set_default_response(gtk::ResponseType::Accept);
        let entry = gtk::Entry::builder()
            .activates_default(true)
            .max_length(61)
            .text(old.clone().unwrap_or_default())
            .placeholder_text(gettext("Group name"))
            .build();
        super::a11y::set_label(&entry, &gettext("Group name"), None);
        ok.set_sensitive(old.is_some());
        let o = ok.clone();
        entry.connect_changed(move |e| o.set_sensitive(!e.text().trim().is_empty()));
        dialog
            .message_area()
            .downcast::<gtk::Box>()
            .expect("a GtkMessageDialog's message area is a GtkBox")
            .append(&entry);
        let weak = self.downgrade();
        dialog.connect_response(move |d, response| {
            let name = entry.text().trim().to_string();
            if response == gtk::ResponseType::Accept && !name.is_empty() {
                if let Some(bridge) = weak.upgrade().and_then(|w| w.bridge()) {
                    bridge.send_ns(vec![match rename {
                        Some(group) => msnp::proto::ns::NsRequest::RenameGroup { group, name },
                        None => msnp::proto::ns::NsRequest::AddGroup(name),
                    }]);
                }
            }
            d.close();
        });
        dialog.present();
    }

    fn confirm_remove_group(&self, group: u32) {
        let Some(bridge) = self.bridge() else { return };
        if group == 0 {
            return;
        }
        let name = bridge.state().borrow().roster.group_name(group);
        let members: Vec<_> = bridge
            .state()
            .borrow()
            .list
            .as_ref()
            .map(|l| l.contacts.values().cloned().collect())
            .unwrap_or_default();
        let count = list_ops::members_of(group, &members).len();
        let send = {
            let weak = self.downgrade();
            move || {
                if let Some(bridge) = weak.upgrade().and_then(|w| w.bridge()) {
                    bridge.send_ns(list_ops::remove_group(group, &members));
                }
            }
        };
        if count == 0 {
            send();
            return;
        }
        let dialog = gtk::MessageDialog::builder()
            .transient_for(self)
            .modal(true)
            .message_type(gtk::MessageType::Question)
            .text(gettext_f("Delete the group “{}”?", &[&name]))
            .secondary_text(crate::i18n::ngettext_f(
                "Its {} contact is moved to Other Contacts first (unless also in another group).",
                "Its {} contacts are moved to Other Contacts first (unless also in another group).",
                count as u32,
                &[&count.to_string()],
            ))
            .build();
        super::a11y::add_dialog_button(&dialog, &gettext("_Cancel"), gtk::ResponseType::Cancel);
        let ok = super::a11y::add_dialog_button(
            &dialog,
            &gettext("_Move and Delete"),
            gtk::ResponseType::Accept,
        );
        ok.add_css_class("destructive-action");
        let send = std::cell::RefCell::new(Some(send));
        dialog.connect_response(move |d, response| {
            if response == gtk::ResponseType::Accept {
                if let Some(send) = send.take() {
                    send();
                }
            }
            d.close();
        });
        dialog.present();
    }

    /// Asks what to do about `account` (called `name`), who has added you; with a notification
    /// carrying the same choices while the window is not focused.
    pub fn show_add_request(&self, account: &str, name: &str) {
        let key = msnp::proto::contacts::account_key(account);
        if self.imp().requests.borrow().contains_key(&key) {
            return;
        }
        let title = if name.trim().is_empty() || name == account {
            gettext_f("{} has added you to their contact list", &[account])
        } else {
            gettext_f(
                "{} ({}) has added you to their contact list",
                &[name, account],
            )
        };
        let dialog = gtk::MessageDialog::builder()
            .transient_for(self)
            .modal(false)
            .message_type(gtk::MessageType::Question)
            .text(title.clone())
            .secondary_text(gettext(
                "Allow this person to see when you are online and to talk to you?",
            ))
            .build();
        dialog.set_title(Some(&gettext("Contact Request")));
        let answers = [
            (Answer::Block, gettext("_Block")),
            (Answer::Allow, gettext("_Allow")),
            (
                Answer::AllowAndAdd,
                gettext("Allow and A_dd to My Contacts"),
            ),
        ];
        for (i, (answer, label)) in answers.iter().enumerate() {
            let button =
                super::a11y::add_dialog_button(&dialog, label, gtk::ResponseType::Other(i as u16));
            if *answer == Answer::AllowAndAdd {
                button.add_css_class("suggested-action");
                dialog.set_default_response(gtk::ResponseType::Other(i as u16));
            }
        }
        let weak = self.downgrade();
        let a = account.to_string();
        dialog.connect_response(move |d, response| {
            if let gtk::ResponseType::Other(i) = response {
                if let (Some(win), Some((answer, _))) =
                    (weak.upgrade(), answers.get(usize::from(i)))
                {
                    win.answer_request(&a, answer.code());
                }
            }
            // Closed without an answer: the request stays pending until the next sign-in.
            d.close();
        });
        let weak = self.downgrade();
        let k = key.clone();
        dialog.connect_close_request(move |_| {
            if let Some(win) = weak.upgrade() {
                win.imp().requests.borrow_mut().remove(&k);
            }
            glib::Propagation::Proceed
        });
        self.imp()
            .requests
            .borrow_mut()
            .insert(key.clone(), dialog.clone());
        dialog.present();
        if !self.is_active() {
            if let Some(app) = self
                .application()
                .and_downcast::<crate::application::MpApplication>()
            {
                let target = |a: Answer| (account.to_string(), a.code().to_string()).to_variant();
                app.notify_with_buttons(
                    &format!("request-{key}"),
                    &title,
                    &gettext("Allow this person to see when you are online?"),
                    &[
                        (
                            gettext("Allow and Add"),
                            "app.answer-request",
                            target(Answer::AllowAndAdd),
                        ),
                        (
                            gettext("Allow"),
                            "app.answer-request",
                            target(Answer::Allow),
                        ),
                        (
                            gettext("Block"),
                            "app.answer-request",
                            target(Answer::Block),
                        ),
                    ],
                );
            }
        }
    }

    /// Closes the request dialog of `account` (answered here, in another session, or by a
    /// notification button).
    pub fn close_add_request(&self, account: &str) {
        let key = msnp::proto::contacts::account_key(account);
        let dialog = self.imp().requests.borrow_mut().remove(&key);
        if let Some(dialog) = dialog {
            dialog.close();
        }
        if let Some(app) = self.application() {
            app.withdraw_notification(&format!("request-{key}"));
        }
    }

    /// Answers the pending request of `account` with an [`Answer`] code.
    pub fn answer_request(&self, account: &str, code: &str) {
        let (Some(bridge), Some(answer)) = (self.bridge(), Answer::from_code(code)) else {
            return;
        };
        let name = bridge
            .state()
            .borrow()
            .pending_requests
            .get(&msnp::proto::contacts::account_key(account))
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        bridge.send_ns(list_ops::answer_request(account, &name, answer));
        self.close_add_request(account);
    }

    fn confirm_remove(&self, account: &str) {
        let Some(bridge) = self.bridge() else { return };
        let Some(entry) = bridge.entry(account) else {
            return;
        };
        let name = bridge
            .state()
            .borrow()
            .roster
            .get(account)
            .map(|c| c.display_name().to_string())
            .unwrap_or_else(|| account.to_string());
        let dialog = gtk::MessageDialog::builder()
            .transient_for(self)
            .modal(true)
            .message_type(gtk::MessageType::Question)
            .text(gettext_f("Remove {} from your contacts?", &[&name]))
            .secondary_text(gettext_f(
                "{} will no longer appear in your contact list.",
                &[account],
            ))
            .build();
        super::a11y::add_dialog_button(&dialog, &gettext("_Cancel"), gtk::ResponseType::Cancel);
        let remove =
            super::a11y::add_dialog_button(&dialog, &gettext("_Remove"), gtk::ResponseType::Accept);
        remove.add_css_class("destructive-action");
        let also_block = gtk::CheckButton::with_mnemonic(&gettext("Also _block this person"));
        also_block.set_active(entry.block);
        also_block.set_sensitive(!entry.block);
        dialog
            .message_area()
            .downcast::<gtk::Box>()
            .expect("a GtkMessageDialog's message area is a GtkBox")
            .append(&also_block);
        let weak = self.downgrade();
        dialog.connect_response(move |d, response| {
            if response == gtk::ResponseType::Accept {
                if let Some(bridge) = weak.upgrade().and_then(|w| w.bridge()) {
                    bridge.send_ns(list_ops::remove(&entry, also_block.is_active()));
                }
            }
            d.close();
        });
        dialog.present();
    }
}

/// The menu of a group header.
pub fn group_menu(group: u32) -> gio::Menu {
    let menu = gio::Menu::new();
    let item = gio::MenuItem::new(Some(&gettext("_New Group…")), None);
    item.set_action_and_target_value(Some("win.new-group"), None);
    menu.append_item(&item);
    if group != 0 {
        let item = gio::MenuItem::new(Some(&gettext("Re_name Group…")), None);
        item.set_action_and_target_value(Some("win.rename-group"), Some(&group.to_variant()));
        menu.append_item(&item);
        let item = gio::MenuItem::new(Some(&gettext("_Delete Group…")), None);
        item.set_action_and_target_value(Some("win.remove-group"), Some(&group.to_variant()));
        menu.append_item(&item);
    }
    menu
}

/// The menu of one contact shown under group `group`'s header.
pub fn contact_menu(
    entry: &msnp::proto::contacts::ContactEntry,
    group: u32,
    groups: &[(u32, String)],
) -> gio::Menu {
    let account = entry.account.as_str();
    let menu = gio::Menu::new();
    let main = gio::Menu::new();
    let item = gio::MenuItem::new(Some(&gettext("Send a _Message")), None);
    item.set_action_and_target_value(Some("app.open-chat"), Some(&account.to_variant()));
    main.append_item(&item);
    let item = gio::MenuItem::new(Some(&gettext("View _History")), None);
    item.set_action_and_target_value(Some("win.view-history"), Some(&account.to_variant()));
    main.append_item(&item);
    let item = gio::MenuItem::new(Some(&gettext("_Details")), None);
    item.set_action_and_target_value(Some("win.contact-details"), Some(&account.to_variant()));
    main.append_item(&item);
    menu.append_section(None, &main);

    let move_menu = gio::Menu::new();
    let copy_menu = gio::Menu::new();
    for (id, name) in groups {
        if entry.groups.contains(id) || entry.groups.is_empty() && *id == 0 {
            continue;
        }
        let item = gio::MenuItem::new(Some(name), None);
        item.set_action_and_target_value(
            Some("win.move-contact"),
            Some(&(account, group, *id).to_variant()),
        );
        move_menu.append_item(&item);
        let item = gio::MenuItem::new(Some(name), None);
        item.set_action_and_target_value(
            Some("win.copy-contact"),
            Some(&(account, *id).to_variant()),
        );
        copy_menu.append_item(&item);
    }
    let groups_section = gio::Menu::new();
    if move_menu.n_items() > 0 {
        groups_section.append_submenu(Some(&gettext("Mo_ve to Group")), &move_menu);
        groups_section.append_submenu(Some(&gettext("_Copy to Group")), &copy_menu);
    }
    menu.append_section(None, &groups_section);

    let lists = gio::Menu::new();
    let (label, action) = if entry.block {
        (gettext("_Unblock"), "win.unblock-contact")
    } else {
        (gettext("_Block"), "win.block-contact")
    };
    let item = gio::MenuItem::new(Some(&label), None);
    item.set_action_and_target_value(Some(action), Some(&account.to_variant()));
    lists.append_item(&item);
    let item = gio::MenuItem::new(Some(&gettext("_Remove from Contacts…")), None);
    item.set_action_and_target_value(Some("win.remove-contact"), Some(&account.to_variant()));
    lists.append_item(&item);
    menu.append_section(None, &lists);
    menu
}
