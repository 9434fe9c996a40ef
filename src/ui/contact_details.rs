//! The "Contact Details" window (contact menu → Details): display name, e-mail address,
//! presence, the lists the contact is on (FL/AL/BL/RL, "has you on their list"), groups and the
//! phone numbers the server sent in `BPR`. Built in code: a grid of caption / value labels, every
//! value plain text (never markup) and selectable.

use gtk::prelude::*;
use msnp::proto::command::Status;
use msnp::proto::contacts::ContactEntry;

use crate::i18n::gettext;
use crate::model::presence;

/// What the window shows about one contact.
#[derive(Debug, Clone)]
pub struct Details {
    /// The list entry (lists, groups, phones, stored name).
    pub entry: ContactEntry,
    /// The name last seen in presence, if any.
    pub presence_name: Option<String>,
    /// The current status.
    pub status: Status,
    /// Group names of the entry's group ids.
    pub groups: Vec<String>,
}

/// The name of a `BPR` phone property.
pub fn phone_label(property: &str) -> String {
    match property {
        "PHH" => gettext("Home phone"),
        "PHW" => gettext("Work phone"),
        "PHM" => gettext("Mobile phone"),
        "MOB" => gettext("Mobile devices"),
        "MBE" => gettext("Mobile messaging"),
        other => other.to_string(),
    }
}

/// The caption / value rows of the window, in order (pure, for tests).
pub fn rows(d: &Details) -> Vec<(String, String)> {
    let yes_no = |b: bool| if b { gettext("Yes") } else { gettext("No") };
    let name = d
        .presence_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| d.entry.name.clone());
    let mut lists = Vec::new();
    if d.entry.forward {
        lists.push(gettext("Contacts (FL)"));
    }
    if d.entry.allow {
        lists.push(gettext("Allowed (AL)"));
    }
    if d.entry.block {
        lists.push(gettext("Blocked (BL)"));
    }
    if d.entry.reverse {
        lists.push(gettext("Has you (RL)"));
    }
    let mut out = vec![
        (gettext("Display name"), name),
        (gettext("E-mail address"), d.entry.account.clone()),
        (gettext("Status"), presence::label(&d.status)),
        (
            gettext("Lists"),
            if lists.is_empty() {
                gettext("None")
            } else {
                lists.join(", ")
            },
        ),
        (gettext("Has you on their list"), yes_no(d.entry.reverse)),
        (gettext("Blocked"), yes_no(d.entry.block)),
        (
            gettext("Groups"),
            if d.groups.is_empty() {
                gettext("None")
            } else {
                d.groups.join(", ")
            },
        ),
    ];
    for (property, value) in &d.entry.phones {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        // MOB / MBE are flags ("Y" / "N"), not numbers; "N" says nothing worth a row.
        let shown = match (property.as_str(), value) {
            ("MOB" | "MBE", "N") => continue,
            ("MOB" | "MBE", "Y") => gettext("Yes"),
            _ => value.to_string(),
        };
        out.push((phone_label(property), shown));
    }
    out
}

/// A window with the details of a contact, transient for `parent`.
pub fn window(parent: Option<&gtk::Window>, d: &Details) -> gtk::Window {
    let win = gtk::Window::builder()
        .title(gettext("Contact Details"))
        .modal(false)
        .resizable(false)
        .default_width(340)
        .build();
    win.set_transient_for(parent);
    win.set_destroy_with_parent(true);
    let grid = gtk::Grid::builder()
        .row_spacing(8)
        .column_spacing(16)
        .margin_top(18)
        .margin_bottom(18)
        .margin_start(18)
        .margin_end(18)
        .build();
    for (i, (caption, value)) in rows(d).into_iter().enumerate() {
        let c = gtk::Label::builder()
            .xalign(1.0)
            .yalign(0.0)
            .css_classes(["dim-label"])
            .build();
        c.set_text(&caption);
        let v = gtk::Label::builder()
            .xalign(0.0)
            .yalign(0.0)
            .wrap(true)
            .selectable(true)
            .max_width_chars(36)
            .use_markup(false)
            .build();
        v.set_text(&value);
        // A screen reader reads "Caption: value" for the value.
        super::a11y::set_label(&v, &format!("{caption}: {value}"), None);
        grid.attach(&c, 0, i as i32, 1, 1);
        grid.attach(&v, 1, i as i32, 1, 1);
    }
    let close = gtk::Button::builder()
        .child(&gtk::Label::with_mnemonic(&gettext("_Close")))
        .halign(gtk::Align::End)
        .margin_top(6)
        .build();
    super::a11y::set_label(&close, &gettext("Close"), None);
    let w = win.downgrade();
    close.connect_clicked(move |_| {
        if let Some(w) = w.upgrade() {
            w.close();
        }
    });
    let rows_count = grid.observe_children().n_items() as i32 / 2;
    grid.attach(&close, 1, rows_count, 1, 1);
    win.set_child(Some(&grid));
    let esc = gtk::EventControllerKey::new();
    let w = win.downgrade();
    esc.connect_key_pressed(move |_, key, _, _| {
        if key == gtk::gdk::Key::Escape {
            if let Some(w) = w.upgrade() {
                w.close();
            }
            return gtk::glib::Propagation::Stop;
        }
        gtk::glib::Propagation::Proceed
    });
    win.add_controller(esc);
    win.set_default_widget(Some(&close));
    GtkWindowExt::set_focus(&win, Some(&close));
    win
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_name_lists_groups_and_phones() {
        let mut entry = ContactEntry {
            account: "bob@example.com".into(),
            name: "Bob".into(),
            forward: true,
            allow: true,
            block: false,
            reverse: true,
            groups: vec![1],
            phones: Default::default(),
        };
        entry.phones.insert("PHH".into(), "555 1234".into());
        entry.phones.insert("PHW".into(), " ".into());
        entry.phones.insert("MOB".into(), "N".into());
        let d = Details {
            entry,
            presence_name: Some("Bob <b>the</b> Builder".into()),
            status: Status::Online,
            groups: vec!["Friends".into()],
        };
        let r = rows(&d);
        let get = |k: &str| r.iter().find(|(c, _)| c == k).map(|(_, v)| v.as_str());
        assert_eq!(get("Display name"), Some("Bob <b>the</b> Builder"));
        assert_eq!(get("E-mail address"), Some("bob@example.com"));
        assert_eq!(
            get("Lists"),
            Some("Contacts (FL), Allowed (AL), Has you (RL)")
        );
        assert_eq!(get("Has you on their list"), Some("Yes"));
        assert_eq!(get("Blocked"), Some("No"));
        assert_eq!(get("Groups"), Some("Friends"));
        assert_eq!(get("Home phone"), Some("555 1234"));
        assert_eq!(get("Work phone"), None, "empty numbers are left out");
        assert_eq!(get("Mobile devices"), None, "MOB N is left out");

        let d = Details {
            entry: ContactEntry {
                account: "x@example.com".into(),
                name: "X".into(),
                forward: false,
                allow: false,
                block: true,
                reverse: false,
                groups: vec![],
                phones: Default::default(),
            },
            presence_name: None,
            status: Status::Offline,
            groups: vec![],
        };
        let r = rows(&d);
        let get = |k: &str| r.iter().find(|(c, _)| c == k).map(|(_, v)| v.as_str());
        assert_eq!(get("Display name"), Some("X"));
        assert_eq!(get("Lists"), Some("Blocked (BL)"));
        assert_eq!(get("Has you on their list"), Some("No"));
        assert_eq!(get("Groups"), Some("None"));
    }
}
