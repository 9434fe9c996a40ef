//! File transfers in the windows: the conversation window's "Send File" chooser
//! (`FileChooserNative`) and file drop target, and the main window's side — offering the files,
//! turning engine effects into [`MpTransfer`] updates, answering offers (Accept saves into the
//! download folder of the preferences), and the notification of an offer when its window is not
//! focused (with Accept / Decline buttons).
//!
//! Closing a conversation window keeps its transfers going: they belong to the session, and
//! opening the conversation again shows their lines (with Cancel while they run). Signing out
//! ends them.

use std::rc::Rc;
use std::time::Instant;

use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::{gdk, gio, glib};
use msnp::client::TransferId;

use super::{MpChatWindow, MpWindow};
use crate::application::MpApplication;
use crate::i18n::{gettext, gettext_f};
use crate::model::account::TransferUpdate;
use crate::model::message::MpMessage;
use crate::model::transfer::{Direction, MpTransfer, Response, TransferState};
use crate::session::SessionBridge;

impl MpChatWindow {
    /// Opens the file chooser; every chosen file is offered (`send-file`).
    pub(super) fn choose_files(&self) {
        let dialog = gtk::FileChooserNative::new(
            Some(&gettext("Send a File")),
            Some(self),
            gtk::FileChooserAction::Open,
            Some(&gettext("Send")),
            Some(&gettext("Cancel")),
        );
        dialog.set_modal(true);
        dialog.set_select_multiple(true);
        // GTK does not keep a native dialog alive: the handler holds it until the answer.
        let keep = std::cell::RefCell::new(Some(dialog.clone()));
        let weak = self.downgrade();
        dialog.connect_response(move |d, response| {
            if response == gtk::ResponseType::Accept {
                if let Some(win) = weak.upgrade() {
                    let files = d.files();
                    for file in files.iter::<gio::File>().flatten() {
                        win.emit_by_name::<()>("send-file", &[&file]);
                    }
                }
            }
            keep.take();
        });
        dialog.show();
    }

    /// Files dropped on the window are offered like chosen ones.
    pub(super) fn setup_file_drop(&self) {
        let target = gtk::DropTarget::new(gdk::FileList::static_type(), gdk::DragAction::COPY);
        target.set_types(&[gdk::FileList::static_type(), gio::File::static_type()]);
        // Before the message entry, which would take the files' addresses as text.
        target.set_propagation_phase(gtk::PropagationPhase::Capture);
        let weak = self.downgrade();
        target.connect_drop(move |_, value, _, _| {
            weak.upgrade().is_some_and(|win| win.offer_dropped(value))
        });
        self.add_controller(target);
    }

    /// Offers the files of a drop (a `gdk::FileList` or one `gio::File`); false if it held none.
    pub(super) fn offer_dropped(&self, value: &glib::Value) -> bool {
        let files = if let Ok(list) = value.get::<gdk::FileList>() {
            list.files()
        } else if let Ok(file) = value.get::<gio::File>() {
            vec![file]
        } else {
            return false;
        };
        for file in &files {
            self.emit_by_name::<()>("send-file", &[file]);
        }
        !files.is_empty()
    }

    /// Calls `f` with every file the user wants to send (chosen or dropped).
    pub fn connect_send_file<F: Fn(&Self, gio::File) + 'static>(&self, f: F) {
        self.connect_local("send-file", false, move |args| {
            let w = args[0].get::<Self>().ok()?;
            let file = args[1].get::<gio::File>().ok()?;
            f(&w, file);
            None
        });
    }

    /// Shows a transfer's line in the conversation.
    pub fn add_transfer(&self, transfer: &MpTransfer) {
        self.conversation()
            .append(&MpMessage::for_transfer(transfer));
    }
}

impl MpWindow {
    fn application_object(&self) -> Option<MpApplication> {
        self.application().and_downcast::<MpApplication>()
    }

    fn contact_name(&self, bridge: &SessionBridge, account: &str) -> String {
        bridge
            .state()
            .borrow()
            .roster
            .get(account)
            .map(|c| c.display_name().to_string())
            .unwrap_or_else(|| account.to_string())
    }

    /// Wires a new conversation window: its files are offered, and the session's transfers with
    /// the contact (from before the window was last closed) are shown again.
    pub(super) fn connect_transfers(&self, chat: &MpChatWindow) {
        let weak = self.downgrade();
        chat.connect_send_file(move |chat, file| {
            if let Some(win) = weak.upgrade() {
                win.offer_file(chat, file);
            }
        });
        if let Some(bridge) = self.bridge() {
            for t in bridge.transfers_with(&chat.account()) {
                chat.add_transfer(&t);
            }
        }
    }

    /// Checks the file (off the main thread) and offers it to the conversation's contact.
    fn offer_file(&self, chat: &MpChatWindow, file: gio::File) {
        let Some(path) = file.path() else {
            chat.add_notice(&gettext_f(
                "{} cannot be sent: only local files can be sent.",
                &[&file.uri()],
            ));
            return;
        };
        let weak = self.downgrade();
        let chat_weak = chat.downgrade();
        glib::spawn_future_local(async move {
            let info = file
                .query_info_future(
                    "standard::type,standard::size,standard::display-name",
                    gio::FileQueryInfoFlags::NONE,
                    glib::Priority::DEFAULT,
                )
                .await;
            let (Some(win), Some(chat)) = (weak.upgrade(), chat_weak.upgrade()) else {
                return;
            };
            let shown = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string());
            let info = match info {
                Ok(info) if info.file_type() == gio::FileType::Regular => info,
                Ok(_) => {
                    chat.add_notice(&gettext_f(
                        "{} cannot be sent: only files can be sent, not folders.",
                        &[&shown],
                    ));
                    return;
                }
                Err(e) => {
                    chat.add_notice(&gettext_f("{} cannot be sent: {}", &[&shown, e.message()]));
                    return;
                }
            };
            let Some(bridge) = win.bridge().filter(|b| b.is_running()) else {
                chat.add_notice(&gettext_f(
                    "{} cannot be sent: you are not signed in.",
                    &[&shown],
                ));
                return;
            };
            let account = chat.account();
            let id = bridge.send_file(&account, path.clone());
            let transfer = MpTransfer::new(
                id,
                Direction::Send,
                &account,
                &win.contact_name(&bridge, &account),
                &shown,
                info.size().max(0) as u64,
            );
            transfer.set_path(&path.to_string_lossy());
            win.track_transfer(&bridge, &transfer);
            chat.add_transfer(&transfer);
        });
    }

    /// Registers a transfer with the session and answers for it when the user does.
    fn track_transfer(&self, bridge: &Rc<SessionBridge>, transfer: &MpTransfer) {
        bridge.add_transfer(transfer);
        let weak = self.downgrade();
        transfer.connect_respond(move |t, response| {
            if let Some(win) = weak.upgrade() {
                win.respond(t, response);
            }
        });
        let weak = self.downgrade();
        transfer.connect_notify_local(Some("state"), move |t, _| {
            if t.transfer_state().is_final() {
                if let Some(app) = weak.upgrade().and_then(|w| w.application_object()) {
                    app.withdraw_notification(&notification_id(t.id()));
                }
            }
        });
    }

    /// Answers on the transfer `id` (from a notification's button).
    pub fn respond_to_transfer(&self, id: TransferId, response: Response) {
        if let Some(t) = self.bridge().and_then(|b| b.transfer(id)) {
            t.respond(response);
        }
    }

    fn respond(&self, t: &MpTransfer, response: Response) {
        let Some(bridge) = self.bridge() else { return };
        let id = t.id();
        match response {
            Response::Accept if t.transfer_state() == TransferState::Offered => {
                t.accepted();
                let dir = self
                    .application_object()
                    .map(|a| a.settings().download_folder())
                    .unwrap_or_else(crate::store::settings::default_download_folder);
                let weak = Rc::downgrade(&bridge);
                let t = t.clone();
                glib::spawn_future_local(async move {
                    let d = dir.clone();
                    let made = gio::spawn_blocking(move || std::fs::create_dir_all(&d)).await;
                    let Some(bridge) = weak.upgrade() else { return };
                    match made {
                        Ok(Ok(())) => bridge.accept_file(id, dir),
                        Ok(Err(e)) => {
                            bridge.decline_file(id);
                            t.failed(&gettext_f(
                                "The download folder {} cannot be created: {}",
                                &[&dir.display().to_string(), &e.to_string()],
                            ));
                        }
                        Err(_) => bridge.accept_file(id, dir),
                    }
                });
            }
            Response::Decline if t.transfer_state() == TransferState::Offered => {
                bridge.decline_file(id);
                t.declined();
            }
            Response::Cancel if !t.transfer_state().is_final() => {
                bridge.cancel_transfer(id);
                t.cancelled(false);
            }
            _ => {}
        }
    }

    /// A contact offers a file: its line (the window opens if needed) and, when the window is
    /// not focused, a notification with Accept and Decline.
    pub(super) fn file_offered(
        &self,
        bridge: &Rc<SessionBridge>,
        id: TransferId,
        from: &str,
        file_name: &str,
        size: u64,
    ) {
        let name = self.contact_name(bridge, from);
        let transfer = MpTransfer::new(id, Direction::Receive, from, &name, file_name, size);
        self.track_transfer(bridge, &transfer);
        let chat = self.chat_for(from, &name, false);
        // `chat_for` shows the session's transfers in a new window; an existing one needs it.
        let shown = chat
            .conversation()
            .messages()
            .iter::<MpMessage>()
            .flatten()
            .any(|m| m.transfer().is_some_and(|t| t.id() == id));
        if !shown {
            chat.add_transfer(&transfer);
        }
        if !chat.is_active() {
            if let Some(app) = self.application_object() {
                let target = id.to_variant();
                app.notify_with_buttons(
                    &notification_id(id),
                    &gettext_f("{} wants to send you a file", &[&name]),
                    &transfer.title(),
                    &[
                        (gettext("Accept"), "app.accept-file", target.clone()),
                        (gettext("Decline"), "app.decline-file", target),
                    ],
                );
            }
        }
    }

    /// Applies an engine update to its transfer.
    pub(super) fn transfer_update(
        &self,
        bridge: &Rc<SessionBridge>,
        id: TransferId,
        update: TransferUpdate,
    ) {
        let Some(t) = bridge.transfer(id) else { return };
        let was_final = t.transfer_state().is_final();
        match update {
            TransferUpdate::Started => t.started(Instant::now()),
            TransferUpdate::Progress { bytes, total } => t.progress(bytes, total, Instant::now()),
            TransferUpdate::Completed { path, confirmed } => {
                t.completed(&path, confirmed);
                if t.dir() == Direction::Receive {
                    self.notify_received(&t);
                }
            }
            TransferUpdate::Declined => t.declined(),
            TransferUpdate::Failed(reason) => t.failed(&reason),
            TransferUpdate::Cancelled { by_peer } => t.cancelled(by_peer),
        }
        if !was_final && t.transfer_state().is_final() {
            self.log_transfer(&t);
        }
    }

    /// Writes how a transfer ended to the contact's log ("photo.jpg (1.5 MB): Received and
    /// saved as photo.jpg."), as the sender's line.
    fn log_transfer(&self, t: &MpTransfer) {
        let own = t.dir() == Direction::Send;
        let name = if own { gettext("Me") } else { t.peer_name() };
        let line = format!("{}: {}", t.title(), t.status());
        self.log_line(&t.peer(), own, &name, &line, "");
    }

    fn notify_received(&self, t: &MpTransfer) {
        let key = msnp::proto::contacts::account_key(&t.peer());
        let focused = self
            .imp()
            .chats
            .borrow()
            .get(&key)
            .is_some_and(|c| c.is_active());
        if focused {
            return;
        }
        if let Some(app) = self.application_object() {
            app.notify(
                &notification_id(t.id()),
                &gettext_f("File received from {}", &[&t.peer_name()]),
                &t.status(),
                "app.open-chat",
                Some(&t.peer().to_variant()),
            );
        }
    }
}

fn notification_id(id: TransferId) -> String {
    format!("transfer-{id}")
}
