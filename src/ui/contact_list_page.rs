//! `MpContactListPage`: own name (click to edit) and status menu, the protocol in use, the
//! unread-mail counter, dragging contacts onto groups, the reconnection banner, the search entry and the grouped contact list.

use std::cell::RefCell;
use std::sync::OnceLock;

use gtk::glib;
use gtk::glib::subclass::Signal;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::CompositeTemplate;
use msnp::proto::command::Status;
use msnp::proto::msnp8::Dialect;

use super::a11y;
use super::contact_row::MpContactRow;
use super::group_row::MpGroupRow;
use crate::i18n::{gettext, gettext_f, ngettext_f};
use crate::model::contact_list::LayoutInfo;
use crate::model::roster::Filter;
use crate::model::{presence, ContactListModel, MpContact, MpGroup};

mod imp {
    use super::*;

    #[derive(Default, CompositeTemplate)]
    #[template(resource = "/io/github/mariposa/Mariposa/ui/contact_list_page.ui")]
    pub struct MpContactListPage {
        #[template_child]
        pub own_status_icon: TemplateChild<gtk::Image>,
        #[template_child]
        pub name_label: TemplateChild<gtk::EditableLabel>,
        #[template_child]
        pub status_button: TemplateChild<gtk::MenuButton>,
        #[template_child]
        pub status_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub protocol_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub mail_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub mail_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub banner_revealer: TemplateChild<gtk::Revealer>,
        #[template_child]
        pub banner_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub retry_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub search_entry: TemplateChild<gtk::SearchEntry>,
        #[template_child]
        pub list_stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub list_view: TemplateChild<gtk::ListView>,
        #[template_child]
        pub empty_icon: TemplateChild<gtk::Image>,
        #[template_child]
        pub empty_title: TemplateChild<gtk::Label>,
        #[template_child]
        pub empty_text: TemplateChild<gtk::Label>,
        pub model: RefCell<Option<ContactListModel>>,
        pub own_name: RefCell<String>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for MpContactListPage {
        const NAME: &'static str = "MpContactListPage";
        type Type = super::MpContactListPage;
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
    impl MpContactListPage {
        #[template_callback]
        fn on_search_changed(&self) {
            self.obj().apply_filter();
        }

        #[template_callback]
        fn on_stop_search(&self) {
            self.search_entry.set_text("");
            self.list_view.grab_focus();
        }

        #[template_callback]
        fn on_search_activate(&self) {
            // Enter in the search field opens the first match.
            let Some(model) = self.model.borrow().clone() else {
                return;
            };
            let store = model.store();
            for i in 0..store.n_items() {
                if let Some(contact) = store.item(i).and_downcast::<MpContact>() {
                    self.obj().emit_open(&contact.account());
                    return;
                }
            }
        }

        #[template_callback]
        fn on_row_activated(&self, position: u32) {
            let Some(model) = self.model.borrow().clone() else {
                return;
            };
            let Some(item) = model.store().item(position) else {
                return;
            };
            if let Some(group) = item.downcast_ref::<MpGroup>() {
                model.toggle_group(group.id());
            } else if let Some(contact) = item.downcast_ref::<MpContact>() {
                self.obj().emit_open(&contact.account());
            }
        }

        #[template_callback]
        fn on_retry_clicked(&self) {
            self.obj().emit_by_name::<()>("retry", &[]);
        }

        #[template_callback]
        fn on_mail_clicked(&self) {
            self.obj().emit_by_name::<()>("open-mail", &[]);
        }

        #[template_callback]
        fn on_name_editing_changed(&self) {
            if self.name_label.is_editing() {
                return;
            }
            let text = self.name_label.text().trim().to_string();
            let old = self.own_name.borrow().clone();
            if text.is_empty() {
                self.name_label.set_text(&old);
            } else if text != old {
                self.obj().emit_by_name::<()>("rename", &[&text]);
            }
        }
    }

    impl ObjectImpl for MpContactListPage {
        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| {
                vec![
                    Signal::builder("open-contact")
                        .param_types([String::static_type()])
                        .build(),
                    Signal::builder("rename")
                        .param_types([String::static_type()])
                        .build(),
                    Signal::builder("retry").build(),
                    Signal::builder("open-mail").build(),
                    // account, group of the row (under which header), the row, x, y
                    // group id, the row, x, y
                    Signal::builder("group-menu")
                        .param_types([
                            u32::static_type(),
                            gtk::Widget::static_type(),
                            f64::static_type(),
                            f64::static_type(),
                        ])
                        .build(),
                    Signal::builder("contact-menu")
                        .param_types([
                            String::static_type(),
                            u32::static_type(),
                            gtk::Widget::static_type(),
                            f64::static_type(),
                            f64::static_type(),
                        ])
                        .build(),
                ]
            })
        }

        fn constructed(&self) {
            self.parent_constructed();
            let factory = gtk::SignalListItemFactory::new();
            let page = self.obj().downgrade();
            factory.connect_bind(move |_, item| {
                let Some(item) = item.downcast_ref::<gtk::ListItem>() else {
                    return;
                };
                let Some(obj) = item.item() else { return };
                if let Some(contact) = obj.downcast_ref::<MpContact>() {
                    let row = match item.child().and_downcast::<MpContactRow>() {
                        Some(row) => row,
                        None => {
                            let row = MpContactRow::new();
                            item.set_child(Some(&row));
                            add_menu_gesture(&row, item);
                            add_drag_source(&row);
                            add_drop_target(row.upcast_ref());
                            row
                        }
                    };
                    item.set_selectable(true);
                    row.bind(contact);
                } else if let Some(group) = obj.downcast_ref::<MpGroup>() {
                    let row = match item.child().and_downcast::<MpGroupRow>() {
                        Some(row) => row,
                        None => {
                            let row = MpGroupRow::new();
                            // A single click on a header folds or unfolds its group.
                            let click = gtk::GestureClick::new();
                            let page = page.clone();
                            click.connect_pressed(move |gesture, n_press, _, _| {
                                // Claimed, so the list's own double-click activation does not
                                // toggle it again; Enter still does (row activation).
                                gesture.set_state(gtk::EventSequenceState::Claimed);
                                if n_press != 1 {
                                    return;
                                }
                                let row = gesture.widget().and_downcast::<MpGroupRow>();
                                let group = row.and_then(|r| r.group());
                                let model =
                                    page.upgrade().and_then(|p| p.imp().model.borrow().clone());
                                if let (Some(group), Some(model)) = (group, model) {
                                    model.toggle_group(group.id());
                                }
                            });
                            row.add_controller(click);
                            item.set_child(Some(&row));
                            add_group_menu_gesture(&row);
                            add_drop_target(row.upcast_ref());
                            row
                        }
                    };
                    item.set_selectable(false);
                    row.bind(group);
                }
            });
            factory.connect_unbind(|_, item| {
                let Some(item) = item.downcast_ref::<gtk::ListItem>() else {
                    return;
                };
                if let Some(row) = item.child().and_downcast::<MpContactRow>() {
                    row.unbind();
                } else if let Some(row) = item.child().and_downcast::<MpGroupRow>() {
                    row.unbind();
                }
            });
            self.list_view.set_factory(Some(&factory));
            // The menu key and Shift+F10 open the focused contact's menu.
            let keys = gtk::EventControllerKey::new();
            let weak = self.obj().downgrade();
            keys.connect_key_pressed(move |_, key, _, mods| {
                let menu_key = key == gtk::gdk::Key::Menu
                    || key == gtk::gdk::Key::F10
                        && mods.contains(gtk::gdk::ModifierType::SHIFT_MASK);
                let Some(page) = weak.upgrade().filter(|_| menu_key) else {
                    return glib::Propagation::Proceed;
                };
                let row = page
                    .imp()
                    .list_view
                    .focus_child()
                    .and_then(|w| w.first_child())
                    .and_downcast::<MpContactRow>();
                if let Some(row) = row {
                    let y = f64::from(row.height()) / 2.0;
                    page.request_contact_menu(&row, 12.0, y);
                    return glib::Propagation::Stop;
                }
                let header = page
                    .imp()
                    .list_view
                    .focus_child()
                    .and_then(|w| w.first_child())
                    .and_downcast::<MpGroupRow>();
                if let Some(group) = header.as_ref().and_then(|h| h.group()) {
                    let header = header.expect("checked");
                    let y = f64::from(header.height()) / 2.0;
                    page.emit_by_name::<()>(
                        "group-menu",
                        &[
                            &group.id(),
                            header.upcast_ref::<gtk::Widget>(),
                            &12.0f64,
                            &y,
                        ],
                    );
                    return glib::Propagation::Stop;
                }
                glib::Propagation::Proceed
            });
            self.list_view.add_controller(keys);
            self.search_entry
                .set_key_capture_widget(Some(&*self.list_view));
            self.obj().set_own_status(&Status::Offline);
        }

        fn dispose(&self) {
            self.dispose_template();
            while let Some(child) = self.obj().first_child() {
                child.unparent();
            }
        }
    }

    impl WidgetImpl for MpContactListPage {}
}

glib::wrapper! {
    /// The contact list page.
    pub struct MpContactListPage(ObjectSubclass<imp::MpContactListPage>)
        @extends gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget;
}

impl Default for MpContactListPage {
    fn default() -> Self {
        glib::Object::new()
    }
}

/// Right-click (and long-press) on a contact row asks for its menu.
fn add_menu_gesture(row: &MpContactRow, item: &gtk::ListItem) {
    let click = gtk::GestureClick::new();
    click.set_button(gtk::gdk::BUTTON_SECONDARY);
    let weak_item = item.downgrade();
    click.connect_pressed(move |gesture, _, x, y| {
        let Some(row) = gesture.widget().and_downcast::<MpContactRow>() else {
            return;
        };
        if let Some(item) = weak_item.upgrade() {
            // Select the row the menu is for, as file managers do.
            if let Some(view) = row.ancestor(gtk::ListView::static_type()) {
                let _ = view.activate_action(
                    "list.select-item",
                    Some(&(item.position(), false, false).to_variant()),
                );
            }
        }
        if let Some(page) = row
            .ancestor(MpContactListPage::static_type())
            .and_downcast::<MpContactListPage>()
        {
            gesture.set_state(gtk::EventSequenceState::Claimed);
            page.request_contact_menu(&row, x, y);
        }
    });
    row.add_controller(click);
}

/// What a dragged contact row carries: its account and the group it is shown in.
pub fn drag_payload(account: &str, group: u32) -> String {
    format!("{account}\n{group}")
}

/// Reads [`drag_payload`] (anything else dropped is ignored).
pub fn parse_drag_payload(text: &str) -> Option<(String, u32)> {
    let (account, group) = text.split_once('\n')?;
    let account = account.trim();
    if !msnp::proto::names::is_valid_account(account) {
        return None;
    }
    Some((account.to_string(), group.trim().parse().ok()?))
}

/// A contact row can be dragged onto a group header (or another contact's row) to move it
/// there; the contact menu's "Move to Group" does the same from the keyboard.
fn add_drag_source(row: &MpContactRow) {
    let drag = gtk::DragSource::new();
    drag.set_actions(gtk::gdk::DragAction::MOVE);
    drag.connect_prepare(|source, _, _| {
        let row = source.widget().and_downcast::<MpContactRow>()?;
        let contact = row.contact()?;
        let page = row
            .ancestor(MpContactListPage::static_type())
            .and_downcast::<MpContactListPage>()?;
        let from = page.group_shown_above(&contact);
        Some(gtk::gdk::ContentProvider::for_value(
            &drag_payload(&contact.account(), from).to_value(),
        ))
    });
    drag.connect_drag_begin(|source, _| {
        if let Some(row) = source.widget() {
            source.set_icon(Some(&gtk::WidgetPaintable::new(Some(&row))), 12, 12);
        }
    });
    row.add_controller(drag);
}

/// Group headers and contact rows take dropped contacts: the contact moves to that group.
fn add_drop_target(row: &gtk::Widget) {
    let target = gtk::DropTarget::new(String::static_type(), gtk::gdk::DragAction::MOVE);
    target.connect_drop(|target, value, _, _| {
        let Some((account, from)) = value
            .get::<String>()
            .ok()
            .and_then(|t| parse_drag_payload(&t))
        else {
            return false;
        };
        let Some(row) = target.widget() else {
            return false;
        };
        let Some(page) = row
            .ancestor(MpContactListPage::static_type())
            .and_downcast::<MpContactListPage>()
        else {
            return false;
        };
        let to = if let Some(group) = row.downcast_ref::<MpGroupRow>().and_then(|r| r.group()) {
            group.id()
        } else if let Some(contact) = row.downcast_ref::<MpContactRow>().and_then(|r| r.contact()) {
            page.group_shown_above(&contact)
        } else {
            return false;
        };
        if to == from {
            return false;
        }
        row.activate_action("win.move-contact", Some(&(account, from, to).to_variant()))
            .is_ok()
    });
    row.add_controller(target);
}

/// Right-click on a group header asks for the group's menu.
fn add_group_menu_gesture(row: &MpGroupRow) {
    let click = gtk::GestureClick::new();
    click.set_button(gtk::gdk::BUTTON_SECONDARY);
    click.connect_pressed(move |gesture, _, x, y| {
        let Some(row) = gesture.widget().and_downcast::<MpGroupRow>() else {
            return;
        };
        let Some(group) = row.group() else { return };
        if let Some(page) = row
            .ancestor(MpContactListPage::static_type())
            .and_downcast::<MpContactListPage>()
        {
            gesture.set_state(gtk::EventSequenceState::Claimed);
            page.emit_by_name::<()>(
                "group-menu",
                &[&group.id(), row.upcast_ref::<gtk::Widget>(), &x, &y],
            );
        }
    });
    row.add_controller(click);
}

impl MpContactListPage {
    /// Calls `f` with (group id, header row, x, y) when a group's menu is asked for.
    pub fn connect_group_menu<F: Fn(&Self, u32, gtk::Widget, f64, f64) + 'static>(&self, f: F) {
        self.connect_local("group-menu", false, move |args| {
            let page = args[0].get::<Self>().ok()?;
            let group = args[1].get::<u32>().ok()?;
            let row = args[2].get::<gtk::Widget>().ok()?;
            let x = args[3].get::<f64>().ok()?;
            let y = args[4].get::<f64>().ok()?;
            f(&page, group, row, x, y);
            None
        });
    }

    /// The group whose header is above the contact at `position` (0 if none).
    fn group_above(&self, position: u32) -> u32 {
        let Some(model) = self.imp().model.borrow().clone() else {
            return 0;
        };
        let store = model.store();
        (0..=position)
            .rev()
            .find_map(|i| store.item(i).and_downcast::<MpGroup>().map(|g| g.id()))
            .unwrap_or(0)
    }

    /// The group whose header the contact is shown under (0 if none).
    fn group_shown_above(&self, contact: &MpContact) -> u32 {
        let Some(model) = self.imp().model.borrow().clone() else {
            return 0;
        };
        let store = model.store();
        let position = (0..store.n_items())
            .find(|i| store.item(*i).as_ref() == Some(contact.upcast_ref::<glib::Object>()));
        position.map(|p| self.group_above(p)).unwrap_or(0)
    }

    fn request_contact_menu(&self, row: &MpContactRow, x: f64, y: f64) {
        let Some(contact) = row.contact() else { return };
        let group = self.group_shown_above(&contact);
        self.emit_by_name::<()>(
            "contact-menu",
            &[
                &contact.account(),
                &group,
                row.upcast_ref::<gtk::Widget>(),
                &x,
                &y,
            ],
        );
    }

    /// Calls `f` with (account, group, row, x, y) when a contact's menu is asked for.
    pub fn connect_contact_menu<F: Fn(&Self, String, u32, gtk::Widget, f64, f64) + 'static>(
        &self,
        f: F,
    ) {
        self.connect_local("contact-menu", false, move |args| {
            let page = args[0].get::<Self>().ok()?;
            let account = args[1].get::<String>().ok()?;
            let group = args[2].get::<u32>().ok()?;
            let row = args[3].get::<gtk::Widget>().ok()?;
            let x = args[4].get::<f64>().ok()?;
            let y = args[5].get::<f64>().ok()?;
            f(&page, account, group, row, x, y);
            None
        });
    }

    /// Shows `model` (or nothing).
    pub fn set_model(&self, model: Option<&ContactListModel>) {
        let imp = self.imp();
        imp.model.replace(model.cloned());
        match model {
            Some(model) => {
                let selection = gtk::SingleSelection::new(Some(model.store().clone()));
                selection.set_autoselect(false);
                selection.set_can_unselect(true);
                imp.list_view.set_model(Some(&selection));
                let weak = self.downgrade();
                model.connect_layout_changed(move |info| {
                    if let Some(page) = weak.upgrade() {
                        page.update_empty_state(info);
                    }
                });
                self.apply_filter();
                self.update_empty_state(model.info());
            }
            None => imp.list_view.set_model(None::<&gtk::SelectionModel>),
        }
    }

    fn apply_filter(&self) {
        let imp = self.imp();
        let Some(model) = imp.model.borrow().clone() else {
            return;
        };
        let show_offline = model.filter().show_offline;
        model.set_filter(Filter {
            text: imp.search_entry.text().to_string(),
            show_offline,
        });
    }

    /// Shows or hides offline contacts.
    pub fn set_show_offline(&self, show: bool) {
        let imp = self.imp();
        let Some(model) = imp.model.borrow().clone() else {
            return;
        };
        model.set_filter(Filter {
            text: imp.search_entry.text().to_string(),
            show_offline: show,
        });
    }

    fn update_empty_state(&self, info: LayoutInfo) {
        let imp = self.imp();
        let searching = !imp.search_entry.text().trim().is_empty();
        if info.shown > 0 || (info.total > 0 && !searching) {
            imp.list_stack.set_visible_child_name("list");
            return;
        }
        if searching {
            imp.empty_icon.set_icon_name(Some("system-search-symbolic"));
            imp.empty_title.set_text(&gettext("No Contacts Found"));
            imp.empty_text
                .set_text(&gettext("No name or address matches your search."));
        } else {
            imp.empty_icon
                .set_icon_name(Some("avatar-default-symbolic"));
            imp.empty_title.set_text(&gettext("No Contacts Yet"));
            imp.empty_text
                .set_text(&gettext("People you add to your contact list appear here."));
        }
        imp.list_stack.set_visible_child_name("empty");
    }

    /// Shows the own display name (plain text).
    pub fn set_own_name(&self, name: &str) {
        let imp = self.imp();
        imp.own_name.replace(name.to_string());
        if !imp.name_label.is_editing() {
            imp.name_label.set_text(name);
        }
    }

    /// Shows the own status.
    pub fn set_own_status(&self, status: &Status) {
        let imp = self.imp();
        imp.own_status_icon
            .set_icon_name(Some(presence::icon_name(status)));
        imp.status_label.set_text(&presence::label(status));
    }

    /// Shows the protocol version of the session next to the status (hidden for `None`).
    pub fn set_protocol(&self, dialect: Option<Dialect>) {
        let imp = self.imp();
        let label = &imp.protocol_label;
        match dialect {
            Some(d) => {
                let text = gettext_f("Connected with {}", &[d.as_str()]);
                label.set_text(d.as_str());
                label.set_tooltip_text(Some(&text));
                // After set_text: GTK names a label by its text until the text changes.
                a11y::set_label(&**label, &text, None);
                imp.status_button
                    .set_tooltip_text(Some(&format!("{} ({text})", gettext("Change your status"))));
                label.set_visible(true);
            }
            None => {
                label.set_visible(false);
                imp.status_button
                    .set_tooltip_text(Some(&gettext("Change your status")));
            }
        }
    }

    /// Shows the unread e-mail count (hidden at 0).
    pub fn set_unread_mail(&self, count: u32) {
        let imp = self.imp();
        imp.mail_button.set_visible(count > 0);
        imp.mail_label.set_text(&count.to_string());
        let text = ngettext_f(
            "{} unread e-mail in your inbox",
            "{} unread e-mails in your inbox",
            count,
            &[&count.to_string()],
        );
        imp.mail_button.set_tooltip_text(Some(&text));
        a11y::set_label(&*imp.mail_button, &text, None);
    }

    /// Shows the connection banner with `text`, or hides it (`None`).
    pub fn set_banner(&self, text: Option<&str>, can_retry: bool) {
        let imp = self.imp();
        if let Some(text) = text {
            imp.banner_label.set_text(text);
        }
        imp.retry_button.set_visible(can_retry);
        imp.banner_revealer.set_reveal_child(text.is_some());
    }

    /// Greys the list while disconnected.
    pub fn set_connected(&self, connected: bool) {
        let imp = self.imp();
        if connected {
            imp.list_view.remove_css_class("disconnected");
        } else {
            imp.list_view.add_css_class("disconnected");
        }
        imp.status_button.set_sensitive(connected);
        imp.name_label.set_sensitive(connected);
    }

    /// Focuses the search entry (Ctrl+F).
    pub fn focus_search(&self) {
        let entry = &self.imp().search_entry;
        entry.grab_focus();
        entry.select_region(0, -1);
    }

    /// Clears the search.
    pub fn reset(&self) {
        let imp = self.imp();
        imp.search_entry.set_text("");
        imp.banner_revealer.set_reveal_child(false);
        self.set_unread_mail(0);
        self.set_protocol(None);
    }

    /// The list view (benches and tests).
    pub fn list_view(&self) -> gtk::ListView {
        self.imp().list_view.get()
    }

    /// Moves the focus into the list.
    pub fn focus_list(&self) {
        self.imp().list_view.grab_focus();
    }

    fn emit_open(&self, account: &str) {
        self.emit_by_name::<()>("open-contact", &[&account.to_string()]);
    }

    /// Calls `f` with the account when a contact is activated (Enter, double-click).
    pub fn connect_open_contact<F: Fn(&Self, String) + 'static>(&self, f: F) {
        self.connect_local("open-contact", false, move |args| {
            let page = args[0].get::<Self>().ok()?;
            let account = args[1].get::<String>().ok()?;
            f(&page, account);
            None
        });
    }

    /// Calls `f` with the new display name the user typed.
    pub fn connect_rename<F: Fn(&Self, String) + 'static>(&self, f: F) {
        self.connect_local("rename", false, move |args| {
            let page = args[0].get::<Self>().ok()?;
            let name = args[1].get::<String>().ok()?;
            f(&page, name);
            None
        });
    }

    /// Calls `f` when "Retry Now" is clicked.
    pub fn connect_retry<F: Fn(&Self) + 'static>(&self, f: F) {
        self.connect_local("retry", false, move |args| {
            let page = args[0].get::<Self>().ok()?;
            f(&page);
            None
        });
    }

    /// Calls `f` when the unread-mail button is clicked.
    pub fn connect_open_mail<F: Fn(&Self) + 'static>(&self, f: F) {
        self.connect_local("open-mail", false, move |args| {
            let page = args[0].get::<Self>().ok()?;
            f(&page);
            None
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drag_payloads_round_trip_and_foreign_text_is_refused() {
        let p = drag_payload("bob@example.com", 3);
        assert_eq!(
            parse_drag_payload(&p),
            Some(("bob@example.com".to_string(), 3))
        );
        assert_eq!(parse_drag_payload("bob@example.com"), None);
        assert_eq!(parse_drag_payload("not an address\n1"), None);
        assert_eq!(parse_drag_payload("bob@example.com\nfriends"), None);
    }
}
