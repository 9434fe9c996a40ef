//! GTK smoke tests: every top-level widget builds from its template and works with a model.
//! They need a display, so they are `#[ignore]`d in plain `cargo test`; CI runs them with
//! `xvfb-run -a cargo test -p mariposa -- --ignored smoke` (see `.ci/run`).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Once;
use std::time::{Duration, Instant};

use gtk::prelude::*;
use gtk::subclass::prelude::ObjectSubclassIsExt;
use gtk::{gio, glib};
use msnp::proto::command::{List, Status};
use msnp::proto::contacts::ContactList;
use msnp::proto::msnp8::ProtocolChoice;

use super::*;
use crate::model::account::AccountState;
use crate::model::message::MpMessage;
use crate::model::roster::Filter;
use crate::model::{ContactListModel, MpContact, MpGroup};
use crate::store::settings::AccountSettings;

pub(super) fn resources() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        gio::resources_register_include!("mariposa.gresource").expect("resources");
    });
}

fn big_list(n: u32) -> ContactList {
    let mut l = ContactList::default();
    l.groups.insert(0, "Other Contacts".into());
    for g in 1..=10 {
        l.groups.insert(g, format!("Group {g}"));
    }
    for i in 0..n {
        l.add(
            List::Forward,
            &format!("user{i}@example.com"),
            &format!("User {i}"),
            Some(i % 10 + 1),
        );
    }
    l
}

fn spin(d: Duration) {
    let end = Instant::now() + d;
    let ctx = glib::MainContext::default();
    while Instant::now() < end {
        ctx.iteration(false);
    }
}

#[gtk::test]
#[ignore = "needs a display (run under xvfb-run with --ignored)"]
fn smoke_sign_in_page_validates_and_fills() {
    resources();
    let page = MpSignInPage::default();
    assert!(page.request().is_none(), "empty e-mail is refused");
    page.set_account(&AccountSettings {
        email: "me@example.com".into(),
        server: "127.0.0.1:4000".into(),
        status: "BSY".into(),
        ..AccountSettings::default()
    });
    assert!(page.request().is_none(), "empty password is refused");
    page.set_password("pw");
    let req = page.request().expect("complete");
    assert_eq!(req.email, "me@example.com");
    assert_eq!(req.server, "127.0.0.1:4000");
    assert_eq!(req.status, Status::Busy);
    assert!(!req.remember_password);
    assert_eq!(req.protocol, ProtocolChoice::Auto, "Automatic by default");
    page.set_account(&AccountSettings {
        email: "me@example.com".into(),
        protocol: ProtocolChoice::Msnp7Only,
        ..AccountSettings::default()
    });
    assert_eq!(page.protocol(), ProtocolChoice::Msnp7Only);
    let req = page.request().expect("complete");
    assert_eq!(req.protocol, ProtocolChoice::Msnp7Only);
    assert_eq!(req.account_settings().protocol, ProtocolChoice::Msnp7Only);
    page.set_protocol(ProtocolChoice::Msnp8Only);
    assert_eq!(page.request().unwrap().protocol, ProtocolChoice::Msnp8Only);
    page.set_secret_available(false);
    assert!(!page.remember_password());
    page.set_busy(true);
    page.set_busy(false);
    page.show_error("<b>not markup</b>");
}

#[gtk::test]
#[ignore = "needs a display (run under xvfb-run with --ignored)"]
fn smoke_contact_list_page_shows_five_thousand_contacts() {
    resources();
    let list = big_list(5000);
    let state = Rc::new(RefCell::new(AccountState::new(
        "me@example.com",
        Some(&list),
    )));
    for i in (0..5000).step_by(2) {
        state.borrow_mut().roster.set_presence(
            &format!("user{i}@example.com"),
            Status::Online,
            None,
        );
    }
    let model = ContactListModel::new(state.clone());
    let keys: BTreeSet<String> = state
        .borrow()
        .roster
        .contacts()
        .map(|(k, _)| k.clone())
        .collect();
    let t = Instant::now();
    model.apply(&keys, true, true);
    let took = t.elapsed();
    assert_eq!(model.store().n_items(), 5010);
    assert!(took < Duration::from_secs(2), "layout took {took:?}");

    let page = MpContactListPage::default();
    page.set_model(Some(&model));
    let window = gtk::Window::new();
    window.set_default_size(360, 600);
    window.set_child(Some(&page));
    window.present();
    spin(Duration::from_millis(300));

    page.set_protocol(Some(msnp::proto::msnp8::Dialect::Msnp8));
    page.set_protocol(None);

    page.set_show_offline(false);
    assert_eq!(model.store().n_items(), 2510);
    model.set_filter(Filter {
        text: "user 4999".into(),
        show_offline: false,
    });
    assert_eq!(model.info().shown, 1);
    model.set_filter(Filter::default());
    assert_eq!(model.info().shown, 5000);
    // Headers first, then contacts with the online ones on top.
    let first = model
        .store()
        .item(0)
        .and_downcast::<MpGroup>()
        .expect("header");
    assert_eq!(first.name(), "Group 1");
    assert_eq!((first.online(), first.total()), (500, 500));
    let second = model
        .store()
        .item(1)
        .and_downcast::<MpContact>()
        .expect("contact");
    assert!(second.online());
    model.toggle_group(1);
    assert_eq!(model.store().n_items(), 4510);
    page.set_own_name("Me & <you>");
    page.set_own_status(&Status::Away);
    page.set_unread_mail(3);
    page.set_banner(Some("Connection lost — retrying in 8 s"), true);
    page.set_connected(false);
    spin(Duration::from_millis(100));
    window.destroy();
}

#[gtk::test]
#[ignore = "needs a display (run under xvfb-run with --ignored)"]
fn smoke_rows_follow_their_objects() {
    resources();
    let mut list = ContactList::default();
    list.add(List::Forward, "bob@example.com", "Bob", None);
    let state = Rc::new(RefCell::new(AccountState::new(
        "me@example.com",
        Some(&list),
    )));
    let model = ContactListModel::new(state.clone());
    model.apply(&BTreeSet::from(["bob@example.com".to_string()]), true, true);
    let contact = model.contact("bob@example.com").expect("contact");
    let row = super::contact_row::MpContactRow::new();
    row.bind(&contact);
    assert_eq!(row.tooltip_text().unwrap().lines().next(), Some("Bob"));
    state
        .borrow_mut()
        .roster
        .set_presence("bob@example.com", Status::Busy, Some("Robert"));
    model.apply(&BTreeSet::from(["bob@example.com".to_string()]), true, true);
    assert_eq!(contact.name(), "Robert");
    assert!(row.tooltip_text().unwrap().contains("bob@example.com"));
    row.unbind();
    assert!(row.contact().is_none());
    let header = super::group_row::MpGroupRow::new();
    let group = MpGroup::new(0);
    header.bind(&group);
    group.set_expanded(false);
    header.unbind();
}

#[gtk::test]
#[ignore = "needs a display (run under xvfb-run with --ignored)"]
fn smoke_main_window_builds_with_its_actions() {
    resources();
    let win: MpWindow = glib::Object::new();
    for action in [
        "status",
        "show-offline",
        "sign-out",
        "search",
        "add-contact",
        "remove-contact",
        "block-contact",
        "unblock-contact",
        "move-contact",
        "copy-contact",
        "view-history",
    ] {
        assert!(win.lookup_action(action).is_some(), "{action}");
    }
    assert!(!win.is_signed_in());
    win.show_toast("hello");
    win.destroy();
}

#[gtk::test]
#[ignore = "needs a display (run under xvfb-run with --ignored)"]
fn smoke_secondary_windows_build() {
    resources();
    let conversation =
        crate::model::conversation::MpConversation::new("bob@example.com", "Bob <b>");
    let chat = MpChatWindow::new(None, &conversation);
    chat.add_received("Bob", "hi <i>there</i>");
    chat.add_notice("Bob sent you a nudge.");
    assert_eq!(chat.account(), "bob@example.com");
    chat.destroy();
    let prefs = MpPreferencesWindow::new(5, true, |_, _| {});
    let entry = msnp::proto::contacts::ContactEntry {
        account: "bob@example.com".into(),
        name: "<b>Bob</b>".into(),
        forward: true,
        allow: true,
        block: false,
        reverse: true,
        groups: vec![0],
        phones: Default::default(),
    };
    let acted = Rc::new(RefCell::new(Vec::new()));
    let a = acted.clone();
    let source = Rc::new(RefCell::new(vec![entry]));
    let read = source.clone();
    prefs.set_lists(
        move || Some(read.borrow().clone()),
        move |action, account| a.borrow_mut().push((action, account.to_string())),
    );
    let mut labels = Vec::new();
    labels_in(prefs.upcast_ref(), &mut labels);
    let bobs = labels.iter().filter(|l| l.text() == "<b>Bob</b>").count();
    assert_eq!(bobs, 3, "Bob on FL, AL and RL, as plain text");
    assert!(labels
        .iter()
        .all(|l| !l.uses_markup() || l.text() != "<b>Bob</b>"));
    // Blocked meanwhile: refreshing shows him on BL instead of AL.
    {
        let mut entries = source.borrow_mut();
        entries[0].allow = false;
        entries[0].block = true;
        entries[0].name = "Blocked Bob".into();
    }
    prefs.refresh_lists();
    let mut labels = Vec::new();
    labels_in(prefs.upcast_ref(), &mut labels);
    let bobs = labels.iter().filter(|l| l.text() == "Blocked Bob").count();
    assert_eq!(bobs, 3, "Bob on FL, BL and RL after the refresh");
    prefs.destroy();
    let builder = gtk::Builder::from_resource("/io/github/mariposa/Mariposa/gtk/help-overlay.ui");
    let shortcuts = builder
        .object::<gtk::ShortcutsWindow>("help_overlay")
        .expect("help overlay");
    shortcuts.destroy();
}

fn labels_in(w: &gtk::Widget, out: &mut Vec<gtk::Label>) {
    if let Some(l) = w.downcast_ref::<gtk::Label>() {
        out.push(l.clone());
    }
    let mut child = w.first_child();
    while let Some(c) = child {
        labels_in(&c, out);
        child = c.next_sibling();
    }
}

/// Saves a PNG of `widget` to `$MARIPOSA_SCREENSHOTS/<name>.png` when that variable is set.
fn screenshot(widget: &impl IsA<gtk::Widget>, name: &str) {
    let Some(dir) = std::env::var_os("MARIPOSA_SCREENSHOTS") else {
        return;
    };
    let paintable = gtk::WidgetPaintable::new(Some(widget));
    let (w, h) = (widget.width(), widget.height());
    let snapshot = gtk::Snapshot::new();
    paintable.snapshot(&snapshot, f64::from(w), f64::from(h));
    let (Some(node), Some(native)) = (snapshot.to_node(), widget.native()) else {
        return;
    };
    let Some(renderer) = native.renderer() else {
        return;
    };
    let texture = renderer.render_texture(node, None);
    let path = std::path::Path::new(&dir).join(format!("{name}.png"));
    let _ = texture.save_to_png(path);
}

#[gtk::test]
#[ignore = "needs a display (run under xvfb-run with --ignored)"]
fn smoke_chat_window_shows_lines_as_text_and_tracks_delivery() {
    use crate::model::conversation::MpConversation;
    use crate::model::message::DeliveryState;
    resources();
    let conversation = MpConversation::new("bob@example.com", "Bob <b>");
    let chat = MpChatWindow::new(None, &conversation);
    let sent = Rc::new(RefCell::new(Vec::new()));
    let s = sent.clone();
    chat.connect_send(move |_, m| s.borrow_mut().push(m));
    let hostile = "<b>bold</b> &amp; <span size='999999'>x</span>";
    chat.add_received("Bob <i>", hostile);
    chat.set_input_text("hello\nsecond line");
    chat.send_input();
    assert_eq!(chat.input_text(), "");
    assert_eq!(sent.borrow().len(), 1);
    let own = sent.borrow()[0].clone();
    assert_eq!(own.text(), "hello\nsecond line");
    conversation.track(&own, &[7]);
    chat.present();
    spin(Duration::from_millis(300));
    let mut labels = Vec::new();
    labels_in(chat.upcast_ref(), &mut labels);
    let shown = labels
        .iter()
        .find(|l| l.text() == hostile)
        .expect("the hostile line is shown literally");
    assert!(shown
        .label()
        .contains("&lt;span size=&apos;999999&apos;&gt;"));
    assert!(labels.iter().any(|l| l.text() == "Sending…"));
    assert!(conversation.failed(7, "NAK"));
    assert_eq!(own.delivery(), DeliveryState::Failed);
    spin(Duration::from_millis(100));
    let mut labels = Vec::new();
    labels_in(chat.upcast_ref(), &mut labels);
    assert!(labels.iter().any(|l| l.text().contains("NAK")));
    chat.show_typing("Bob");
    assert_eq!(chat.typing_text(), "Bob is typing…");
    chat.add_received("Bob", "done");
    assert_eq!(chat.typing_text(), "");
    chat.nudged("Bob");
    assert_eq!(conversation.messages().n_items(), 4);
    chat.destroy();
}

#[gtk::test]
#[ignore = "needs a display (run under xvfb-run with --ignored)"]
fn smoke_chat_window_offers_new_messages_when_scrolled_up() {
    use crate::model::conversation::MpConversation;
    resources();
    let conversation = MpConversation::new("bob@example.com", "Bob");
    let chat = MpChatWindow::new(None, &conversation);
    chat.set_default_size(400, 300);
    for i in 0..60 {
        chat.add_received("Bob", &format!("line {i}"));
    }
    chat.present();
    spin(Duration::from_millis(400));
    let scroller = chat.imp().scroller.get();
    let adj = scroller.vadjustment();
    assert!(adj.upper() > adj.page_size(), "the lines overflow the view");
    // Pinned: a new line moves the view and offers nothing.
    chat.add_received("Bob", "while at the bottom");
    spin(Duration::from_millis(300));
    assert!(!chat.offers_newest());
    // The user scrolls to the top: new lines leave the view there and offer the way down.
    adj.set_value(0.0);
    spin(Duration::from_millis(100));
    chat.add_received("Bob", "while reading old lines");
    spin(Duration::from_millis(300));
    assert!(chat.offers_newest());
    assert!(
        adj.value() < adj.upper() - adj.page_size() - 24.0,
        "the view stayed up"
    );
    chat.show_newest();
    spin(Duration::from_millis(400));
    assert!(!chat.offers_newest());
    assert!(
        adj.value() >= adj.upper() - adj.page_size() - 1.0,
        "at the newest line"
    );
    chat.destroy();
}

#[gtk::test]
#[ignore = "needs a display (run under xvfb-run with --ignored)"]
fn smoke_chat_window_history_does_not_repeat_the_first_live_line() {
    use crate::model::conversation::MpConversation;
    use crate::store::history::Entry;
    resources();
    let conversation = MpConversation::new("bob@example.com", "Bob");
    let chat = MpChatWindow::new(None, &conversation);
    chat.add_received("Bob", "hello");
    let entry = |own: bool, text: &str| Entry {
        time: 1,
        own,
        name: "Bob".into(),
        text: text.into(),
        format: String::new(),
    };
    // The log already holds the live line (written before it was read): left out.
    chat.prepend_history(&[
        entry(false, "older"),
        entry(true, "mine"),
        entry(false, "hello"),
    ]);
    let texts: Vec<(bool, String)> = (0..conversation.messages().n_items())
        .filter_map(|i| conversation.messages().item(i).and_downcast::<MpMessage>())
        .map(|m| (m.history(), m.text()))
        .collect();
    assert_eq!(
        texts,
        vec![
            (true, "older".to_string()),
            (true, "mine".to_string()),
            (false, "hello".to_string())
        ]
    );
    // A log without the live line is shown whole.
    let other = MpConversation::new("bob@example.com", "Bob");
    let chat2 = MpChatWindow::new(None, &other);
    chat2.add_received("Bob", "hello");
    chat2.prepend_history(&[entry(false, "hello"), entry(false, "older")]);
    assert_eq!(other.messages().n_items(), 3);
    chat.destroy();
    chat2.destroy();
}

#[gtk::test]
#[ignore = "needs a display (run under xvfb-run with --ignored)"]
fn smoke_chat_window_group_conversation_and_invite_choices() {
    use crate::model::conversation::MpConversation;
    resources();
    let conversation = MpConversation::new("bob@example.com", "Bob");
    let chat = MpChatWindow::new(None, &conversation);
    chat.present();
    // One other person: still a one-to-one window.
    chat.set_participants(&[("bob@example.com".into(), "Bob".into())]);
    assert!(!chat.is_multi());
    assert_eq!(chat.title().as_deref(), Some("Bob — Conversation"));
    let people = vec![
        ("bob@example.com".to_string(), "Bob".to_string()),
        ("carol@example.com".to_string(), "Carol <b>".to_string()),
    ];
    chat.set_participants(&people);
    assert!(chat.is_multi());
    assert_eq!(
        chat.title().as_deref(),
        Some("Bob, Carol <b> — Conversation")
    );
    // The name of a one-to-one conversation no longer replaces the group title.
    chat.set_contact_name("Bob again");
    assert_eq!(
        chat.title().as_deref(),
        Some("Bob, Carol <b> — Conversation")
    );
    spin(Duration::from_millis(100));
    let mut labels = Vec::new();
    labels_in(chat.upcast_ref(), &mut labels);
    assert!(labels
        .iter()
        .any(|l| l.text() == "Carol <b>" && !l.uses_markup()));
    // Invite choices: picking one emits "invite" with the account.
    let invited = Rc::new(RefCell::new(Vec::new()));
    let i = invited.clone();
    chat.connect_invite(move |_, account| i.borrow_mut().push(account));
    chat.show_invite_choices(&[("dave@example.com".into(), "Dave".into())]);
    spin(Duration::from_millis(200));
    let popover = chat
        .imp()
        .invite_popover
        .borrow()
        .clone()
        .expect("the choices are shown");
    let mut buttons = Vec::new();
    let mut stack = vec![popover.clone().upcast::<gtk::Widget>()];
    while let Some(w) = stack.pop() {
        if let Ok(b) = w.clone().downcast::<gtk::Button>() {
            buttons.push(b);
        }
        let mut child = w.first_child();
        while let Some(c) = child {
            child = c.next_sibling();
            stack.push(c);
        }
    }
    assert_eq!(buttons.len(), 1);
    buttons[0].emit_clicked();
    assert_eq!(*invited.borrow(), vec!["dave@example.com".to_string()]);
    spin(Duration::from_millis(200));
    assert!(!popover.is_visible(), "the choice closes the popover");
    chat.destroy();
}

#[gtk::test]
#[ignore = "needs a display (run under xvfb-run with --ignored)"]
fn smoke_add_contact_dialog_validates() {
    resources();
    let chosen = Rc::new(RefCell::new(None));
    let c = chosen.clone();
    let groups = vec![
        (1, "Friends".to_string()),
        (0, "Other Contacts".to_string()),
    ];
    let dialog = MpAddContactDialog::new(&groups, move |email, group| {
        c.replace(Some((email, group)));
    });
    dialog.present();
    assert_eq!(dialog.group(), 0, "Other Contacts preselected");
    dialog.set_email("a@b");
    assert!(dialog.validate().is_none());
    dialog.submit();
    assert!(chosen.borrow().is_none(), "an invalid address is not sent");
    spin(Duration::from_millis(200));
    screenshot(&dialog, "add-contact-invalid");
    dialog.set_email("  new@example.com ");
    assert_eq!(dialog.validate().as_deref(), Some("new@example.com"));
    spin(Duration::from_millis(200));
    screenshot(&dialog, "add-contact-valid");
    dialog.submit();
    assert_eq!(
        *chosen.borrow(),
        Some(("new@example.com".to_string(), 0)),
        "sent and closed"
    );
}

#[gtk::test]
#[ignore = "needs a display (run under xvfb-run with --ignored)"]
fn smoke_contact_menu_and_blocked_badge() {
    resources();
    let mut list = ContactList::default();
    list.groups.insert(0, "Other Contacts".into());
    list.groups.insert(1, "Friends".into());
    list.add(List::Forward, "bob@example.com", "Bob", Some(1));
    list.add(List::Block, "bob@example.com", "Bob", None);
    let entry = list.contacts.get("bob@example.com").cloned().expect("bob");
    let groups = vec![
        (1, "Friends".to_string()),
        (0, "Other Contacts".to_string()),
    ];
    let menu = super::contact_actions::contact_menu(&entry, 1, &groups);
    let mut actions = Vec::new();
    for s in 0..menu.n_items() {
        let Some(section) = menu.item_link(s, "section") else {
            continue;
        };
        for i in 0..section.n_items() {
            if let Some(a) = section.item_attribute_value(i, "action", None) {
                actions.push(a.str().unwrap_or_default().to_string());
            }
        }
    }
    assert!(
        actions.contains(&"win.unblock-contact".to_string()),
        "{actions:?}"
    );
    assert!(!actions.contains(&"win.block-contact".to_string()));
    assert!(
        actions.contains(&"win.view-history".to_string()),
        "{actions:?}"
    );

    let state = Rc::new(RefCell::new(AccountState::new(
        "me@example.com",
        Some(&list),
    )));
    let model = ContactListModel::new(state.clone());
    model.apply(&BTreeSet::from(["bob@example.com".to_string()]), true, true);
    let contact = model.contact("bob@example.com").expect("contact");
    assert!(contact.blocked());
    let page = MpContactListPage::default();
    page.set_model(Some(&model));
    let window = gtk::Window::new();
    window.set_default_size(360, 300);
    window.set_child(Some(&page));
    window.present();
    spin(Duration::from_millis(300));
    let row = super::contact_row::MpContactRow::new();
    row.bind(&contact);
    let popover = gtk::PopoverMenu::from_model(Some(&menu));
    popover.set_parent(&page);
    popover.popup();
    spin(Duration::from_millis(300));
    screenshot(&window, "contact-menu-blocked");
    popover.popdown();
    popover.unparent();
    window.destroy();
}

#[gtk::test]
#[ignore = "needs a display (run under xvfb-run with --ignored)"]
fn smoke_contact_details_window_shows_plain_text() {
    resources();
    let mut entry = msnp::proto::contacts::ContactEntry {
        account: "bob@example.com".into(),
        name: "<b>Bob</b>".into(),
        forward: true,
        allow: true,
        block: false,
        reverse: true,
        groups: vec![1],
        phones: Default::default(),
    };
    entry.phones.insert("PHM".into(), "+1 555".into());
    let d = contact_details::Details {
        entry,
        presence_name: None,
        status: Status::Away,
        groups: vec!["Friends".into()],
    };
    let win = contact_details::window(None, &d);
    win.present();
    spin(Duration::from_millis(100));
    let mut texts = Vec::new();
    let mut stack = vec![win.clone().upcast::<gtk::Widget>()];
    while let Some(w) = stack.pop() {
        if let Some(l) = w.downcast_ref::<gtk::Label>() {
            assert!(!l.uses_markup(), "value labels are plain text");
            texts.push(l.text().to_string());
        }
        let mut c = w.first_child();
        while let Some(child) = c {
            c = child.next_sibling();
            stack.push(child);
        }
    }
    assert!(texts.iter().any(|t| t == "<b>Bob</b>"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "+1 555"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "Friends"), "{texts:?}");
    win.close();
}

fn buttons_in(w: &gtk::Widget, out: &mut Vec<gtk::Button>) {
    if let Some(b) = w.downcast_ref::<gtk::Button>() {
        out.push(b.clone());
    }
    let mut child = w.first_child();
    while let Some(c) = child {
        buttons_in(&c, out);
        child = c.next_sibling();
    }
}

/// The mapped buttons labelled `label` inside `w`.
fn visible_buttons(w: &impl IsA<gtk::Widget>, label: &str) -> Vec<gtk::Button> {
    let mut all = Vec::new();
    buttons_in(w.upcast_ref(), &mut all);
    all.into_iter()
        .filter(|b| b.is_mapped() && b.label().as_deref() == Some(label))
        .collect()
}

#[gtk::test]
#[ignore = "needs a display (run under xvfb-run with --ignored)"]
fn smoke_transfer_lines_offer_the_buttons_of_the_moment() {
    use crate::model::conversation::MpConversation;
    use crate::model::transfer::{Direction, MpTransfer, Response};
    resources();
    let conversation = MpConversation::new("bob@example.com", "Bob");
    let chat = MpChatWindow::new(None, &conversation);
    let mut all = Vec::new();
    buttons_in(chat.upcast_ref(), &mut all);
    assert!(all
        .iter()
        .any(|b| b.action_name().as_deref() == Some("chat.send-file")));
    let incoming = MpTransfer::new(
        1 << 32,
        Direction::Receive,
        "bob@example.com",
        "Bob <b>",
        "<i>photo</i>.jpg",
        1_500_000,
    );
    let outgoing = MpTransfer::new(1, Direction::Send, "bob@example.com", "Bob", "a.txt", 10);
    let answers = Rc::new(RefCell::new(Vec::new()));
    for t in [&incoming, &outgoing] {
        let a = answers.clone();
        t.connect_respond(move |t, r| a.borrow_mut().push((t.id(), r)));
        chat.add_transfer(t);
    }
    chat.present();
    spin(Duration::from_millis(300));
    screenshot(&chat, "transfer-offer");
    // One offer: Accept and Decline; the own offer: Cancel.
    assert_eq!(visible_buttons(&chat, "Accept").len(), 1);
    assert_eq!(visible_buttons(&chat, "Decline").len(), 1);
    assert_eq!(visible_buttons(&chat, "Cancel").len(), 1);
    let mut labels = Vec::new();
    labels_in(chat.upcast_ref(), &mut labels);
    let title = labels
        .iter()
        .find(|l| l.text() == "<i>photo</i>.jpg (1.5\u{a0}MB)")
        .expect("the peer's file name is shown literally");
    assert!(!title.uses_markup());
    assert!(labels
        .iter()
        .any(|l| l.text() == "Bob <b> wants to send you a file."));
    visible_buttons(&chat, "Accept")[0].emit_clicked();
    assert_eq!(*answers.borrow(), [(1 << 32, Response::Accept)]);
    // Running: progress and Cancel on both lines.
    incoming.accepted();
    let t0 = Instant::now();
    incoming.progress(500_000, 1_500_000, t0);
    incoming.progress(750_000, 1_500_000, t0 + Duration::from_secs(1));
    outgoing.started(t0);
    spin(Duration::from_millis(200));
    assert_eq!(visible_buttons(&chat, "Accept").len(), 0);
    assert_eq!(visible_buttons(&chat, "Cancel").len(), 2);
    let mut labels = Vec::new();
    labels_in(chat.upcast_ref(), &mut labels);
    assert!(
        labels
            .iter()
            .any(|l| l.text() == "750.0\u{a0}kB of 1.5\u{a0}MB — 750.0\u{a0}kB/s, 1 s left"),
        "{:?}",
        labels.iter().map(|l| l.text()).collect::<Vec<_>>()
    );
    screenshot(&chat, "transfer-progress");
    // Finished: Open and Show in Folder for the received file, nothing for the failed one.
    incoming.completed("/tmp/<i>photo</i>.jpg", true);
    outgoing.failed("bob@example.com's computer could not be reached");
    spin(Duration::from_millis(200));
    assert_eq!(visible_buttons(&chat, "Cancel").len(), 0);
    assert_eq!(visible_buttons(&chat, "Open").len(), 1);
    assert_eq!(visible_buttons(&chat, "Show in Folder").len(), 1);
    let mut labels = Vec::new();
    labels_in(chat.upcast_ref(), &mut labels);
    assert!(labels
        .iter()
        .any(|l| l.text() == "The transfer failed: Bob’s computer could not be reached"));
    screenshot(&chat, "transfer-done");
    chat.destroy();

    // Files dropped on a conversation window are offered, one `send-file` each.
    let chat = MpChatWindow::new(None, &MpConversation::new("bob@example.com", "Bob"));
    let offered = Rc::new(RefCell::new(Vec::new()));
    let o = offered.clone();
    chat.connect_send_file(move |_, f| o.borrow_mut().push(f.path()));
    let controllers = chat.observe_controllers();
    let target = (0..controllers.n_items())
        .filter_map(|i| controllers.item(i).and_downcast::<gtk::DropTarget>())
        .next()
        .expect("the window is a drop target");
    assert!(target
        .formats()
        .is_some_and(|f| f.contains_type(gtk::gdk::FileList::static_type())));
    let files = gtk::gdk::FileList::from_array(&[
        gio::File::for_path("/tmp/a.txt"),
        gio::File::for_path("/tmp/b c.png"),
    ]);
    assert!(chat.offer_dropped(&files.to_value()));
    assert!(!chat.offer_dropped(&"text".to_value()));
    assert_eq!(
        *offered.borrow(),
        [
            Some(std::path::PathBuf::from("/tmp/a.txt")),
            Some(std::path::PathBuf::from("/tmp/b c.png"))
        ]
    );
    chat.destroy();

    let prefs = MpPreferencesWindow::new(5, true, |_, _| {});
    prefs.set_download_folder(std::path::Path::new("/srv/incoming"), |_| {});
    assert_eq!(prefs.download_folder(), "/srv/incoming");
    prefs.destroy();
}

/// Writes `n` lines to the log of `contact` (every 100th mentions "lighthouse").
fn write_log(dir: &std::path::Path, own: &str, contact: &str, n: i64, hostile: bool) {
    use std::io::Write;
    let path = crate::store::history::log_path(dir, own, contact);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("log"));
    for i in 0..n {
        let text = if hostile && i == n - 1 {
            "<b>not bold</b> &amp; <span size='999999'>x</span>".to_string()
        } else if i % 100 == 7 {
            format!("line {i} near the lighthouse")
        } else {
            format!("line {i} of {contact}")
        };
        let e = crate::store::history::Entry {
            time: 1_700_000_000 + i * 60,
            own: i % 3 == 0,
            name: if i % 3 == 0 {
                "Me".into()
            } else {
                "Bob".into()
            },
            text,
            format: if i % 5 == 0 {
                "FN=Serif; EF=B; CO=ff; CS=0; PF=22".into()
            } else {
                String::new()
            },
        };
        let mut line = serde_json::to_vec(&e).expect("json");
        line.push(b'\n');
        out.write_all(&line).expect("write");
    }
}

#[gtk::test]
#[ignore = "needs a display (run under xvfb-run with --ignored)"]
fn smoke_history_window_pages_searches_and_exports() {
    use super::history_window::FIRST_PAGE_LINES;
    use crate::store::history::ExportFormat;
    resources();
    let dir = std::env::temp_dir().join(format!("mariposa-smoke-history-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let own = "me@example.com";
    write_log(&dir, own, "bob@example.com", 2500, true);
    write_log(&dir, own, "carol@example.com", 30, false);
    let names = std::collections::HashMap::from([(
        "bob@example.com".to_string(),
        "Bob <b>Builder</b>".to_string(),
    )]);
    let win = MpHistoryWindow::new(None, &dir, own, names);
    win.set_default_size(820, 560);
    win.present();
    win.open_log("Bob@Example.com");
    let wait = |what: &str, f: &dyn Fn() -> bool| {
        let end = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            glib::MainContext::default().iteration(false);
        }
    };
    wait("the first page", &|| {
        win.lines().n_items() > 0 && !win.is_loading()
    });
    spin(Duration::from_millis(300));
    // The log opens at its newest line.
    let adj = win.lines_scroller().vadjustment();
    wait("the view at the bottom", &|| {
        adj.upper() > adj.page_size() && adj.value() >= adj.upper() - adj.page_size() - 1.0
    });
    spin(Duration::from_millis(300));
    assert_eq!(win.contact().as_deref(), Some("bob@example.com"));
    assert!(win.lines().n_items() as usize >= FIRST_PAGE_LINES);
    let newest = win
        .lines()
        .item(win.lines().n_items() - 1)
        .and_downcast::<crate::model::message::MpMessage>()
        .expect("line");
    assert!(newest.text().starts_with("<b>not bold</b>"));
    let mut labels = Vec::new();
    labels_in(win.upcast_ref(), &mut labels);
    assert!(
        labels
            .iter()
            .any(|l| l.text().starts_with("<b>not bold</b> &amp;")),
        "the hostile line is shown literally"
    );
    screenshot(&win, "history-window");
    // Scrolling up reads older pages until the first line.
    let adj = win.lines_scroller().vadjustment();
    wait("the first line", &|| {
        adj.set_value(0.0);
        win.reached_start() && win.lines().n_items() == 2500
    });
    let first = win
        .lines()
        .item(0)
        .and_downcast::<crate::model::message::MpMessage>()
        .expect("line");
    assert_eq!(first.text(), "line 0 of bob@example.com");
    assert_eq!(first.serial(), 0);

    // Search across both logs; a hit opens its log with the line selected.
    win.search("LIGHTHOUSE");
    wait("the hits", &|| win.results().n_items() > 0);
    assert_eq!(win.results().n_items(), 26);
    win.open_log("carol@example.com");
    wait("carol's log", &|| {
        win.lines().n_items() == 30 && !win.is_loading()
    });
    let hit = win
        .results()
        .item(24)
        .and_downcast::<super::history_window::MpHistoryHit>()
        .expect("hit");
    assert_eq!(hit.contact(), "bob@example.com");
    assert_eq!(hit.text(), "line 7 near the lighthouse");
    assert_eq!(hit.title(), "Bob <b>Builder</b>");
    win.show_hit(&hit);
    wait("the hit selected", &|| {
        win.selected_offset() == Some(hit.offset())
    });
    spin(Duration::from_millis(300));
    screenshot(&win, "history-search");

    // Export.
    let out = dir.join("bob.html");
    win.export_to(ExportFormat::Html, &out);
    wait("the export", &|| {
        win.status_text().starts_with("Exported 2500 lines")
    });
    let html = std::fs::read_to_string(&out).expect("exported");
    assert!(html.contains("&lt;b&gt;not bold&lt;/b&gt; &amp;amp;"));
    assert!(html.contains("Conversation with Bob &lt;b&gt;Builder&lt;/b&gt; (bob@example.com)"));
    win.search("");

    // A line logged while its log is open shows at once; another contact's does not.
    let live = crate::store::history::Entry {
        time: 1_700_000_000,
        own: false,
        name: "Bob".into(),
        text: "a live <i>line</i>".into(),
        format: String::new(),
    };
    let before = win.lines().n_items();
    win.line_logged("carol@example.com", &live);
    assert_eq!(win.lines().n_items(), before);
    win.line_logged("BOB@example.com", &live);
    assert_eq!(win.lines().n_items(), before + 1);
    let last = win
        .lines()
        .item(before)
        .and_downcast::<crate::model::message::MpMessage>()
        .expect("line");
    assert_eq!(last.text(), "a live <i>line</i>");
    win.destroy();
    let _ = std::fs::remove_dir_all(&dir);
}
