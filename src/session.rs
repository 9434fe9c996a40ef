//! The bridge between the GTK main thread and the protocol engine thread. It owns the engine's
//! channels, drains the event channel with `glib::spawn_future_local` (`recv().await`, then
//! `try_recv()` until empty), applies everything of one wake-up as one batch to the
//! [`AccountState`] and the [`ContactListModel`] (one splice), and hands the resulting effects
//! to the UI. User actions become [`Request`]s; sending never blocks (unbounded channel).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Instant;

use gtk::glib;
use std::path::PathBuf;

use msnp::client::{self, ClientConfig, Event, Request, TransferId};
use msnp::proto::command::{AckMode, Status};
use msnp::proto::ns::NsRequest;
use msnp::proto::payload;

use crate::i18n::gettext;
use crate::model::account::{AccountState, Effect};
use crate::model::transfer::MpTransfer;
use crate::model::ContactListModel;

/// Most events applied in one batch, so a flood cannot starve the main loop.
const MAX_BATCH: usize = 20_000;

/// A running engine and the state it feeds.
pub struct SessionBridge {
    requests: async_channel::Sender<Request>,
    state: Rc<RefCell<AccountState>>,
    model: ContactListModel,
    next_id: Cell<u64>,
    /// The next id of a file the user sends (the engine numbers incoming offers itself).
    next_transfer: Cell<TransferId>,
    /// Every file transfer of this session, oldest first.
    transfers: RefCell<Vec<MpTransfer>>,
    running: Cell<bool>,
    events: async_channel::Receiver<Event>,
}

impl std::fmt::Debug for SessionBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionBridge")
            .field("account", &self.state.borrow().account)
            .finish()
    }
}

impl SessionBridge {
    /// Starts the engine with `config` and calls `on_effects` after every batch.
    pub fn start(
        config: ClientConfig,
        on_effects: impl Fn(&Rc<SessionBridge>, Vec<Effect>) + 'static,
    ) -> std::io::Result<Rc<Self>> {
        let state = Rc::new(RefCell::new(AccountState::new(
            &config.account,
            config.cache.as_ref(),
        )));
        let model = ContactListModel::new(state.clone());
        if config.cache.is_some() {
            // Show the cached list (offline) at once.
            let keys = state
                .borrow()
                .roster
                .contacts()
                .map(|(k, _)| k.clone())
                .collect();
            model.apply(&keys, true, true);
        }
        let session = client::start(config)?;
        let bridge = Rc::new(SessionBridge {
            requests: session.requests.clone(),
            state,
            model,
            next_id: Cell::new(1),
            next_transfer: Cell::new(1),
            transfers: RefCell::new(Vec::new()),
            running: Cell::new(true),
            events: session.events.clone(),
        });
        // The engine thread ends on its own after Shutdown; nothing to join on the main thread.
        drop(session);
        let weak = Rc::downgrade(&bridge);
        let events = bridge.events.clone();
        glib::spawn_future_local(async move {
            while let Ok(first) = events.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match events.try_recv() {
                        Ok(e) => batch.push(e),
                        Err(_) => break,
                    }
                }
                let Some(bridge) = weak.upgrade() else { break };
                let stopped = batch.iter().any(|e| matches!(e, Event::Stopped));
                let effects = bridge.apply(batch);
                on_effects(&bridge, effects);
                if stopped {
                    bridge.running.set(false);
                    bridge.end_transfers(&gettext("the connection ended"));
                    break;
                }
            }
        });
        Ok(bridge)
    }

    /// Applies one batch of events; returns the effects for the UI.
    fn apply(&self, events: Vec<Event>) -> Vec<Effect> {
        let batch = self.state.borrow_mut().apply_batch(events, Instant::now());
        // Lay out at once when the whole list arrived, else wait for the burst to settle.
        let now = batch
            .effects
            .iter()
            .any(|e| matches!(e, Effect::ListSynced(_) | Effect::SignedIn { .. }));
        self.model.apply(&batch.changed, batch.relayout, now);
        batch.effects
    }

    /// The shared account state.
    pub fn state(&self) -> &Rc<RefCell<AccountState>> {
        &self.state
    }

    /// The contact list model.
    pub fn model(&self) -> &ContactListModel {
        &self.model
    }

    /// The account.
    pub fn account(&self) -> String {
        self.state.borrow().account.clone()
    }

    /// Whether the engine thread still runs.
    pub fn is_running(&self) -> bool {
        self.running.get()
    }

    fn send(&self, request: Request) {
        // Unbounded: never blocks. Fails only once the engine has stopped.
        let _ = self.requests.try_send(request);
    }

    /// `CHG`.
    pub fn set_status(&self, status: Status) {
        self.send(Request::Ns(NsRequest::SetStatus(status)));
    }

    /// `REA` of the own name.
    pub fn set_display_name(&self, name: &str) {
        self.send(Request::Ns(NsRequest::SetDisplayName(name.to_string())));
    }

    /// Sends list requests in order (the engine pipelines them; the server answers in order).
    pub fn send_ns(&self, requests: Vec<NsRequest>) {
        for request in requests {
            self.send(Request::Ns(request));
        }
    }

    /// `BLP` and/or `GTC`.
    pub fn set_privacy(
        &self,
        privacy: Option<msnp::proto::command::Privacy>,
        add_prompt: Option<msnp::proto::command::AddPrompt>,
    ) {
        if let Some(p) = privacy {
            self.send(Request::Ns(NsRequest::SetPrivacy(p)));
        }
        if let Some(a) = add_prompt {
            self.send(Request::Ns(NsRequest::SetAddPrompt(a)));
        }
    }

    /// The list entry of `account` (any list), if known.
    pub fn entry(&self, account: &str) -> Option<msnp::proto::contacts::ContactEntry> {
        let state = self.state.borrow();
        let list = state.list.as_ref()?;
        list.contacts
            .get(&msnp::proto::contacts::account_key(account))
            .cloned()
    }

    /// The groups (id, shown name), group 0 last.
    pub fn groups(&self) -> Vec<(u32, String)> {
        let state = self.state.borrow();
        let mut ids: Vec<u32> = state
            .list
            .as_ref()
            .map(|l| l.groups.keys().copied().collect())
            .unwrap_or_default();
        if !ids.contains(&0) {
            ids.push(0);
        }
        let mut out: Vec<(u32, String)> = ids
            .into_iter()
            .map(|id| (id, state.roster.group_name(id)))
            .collect();
        out.sort_by_key(|(id, name)| (*id == 0, name.to_lowercase()));
        out
    }

    /// Reconnect now instead of waiting.
    pub fn retry_now(&self) {
        self.send(Request::RetryNow);
    }

    /// Sends a plain text message to `to`; returns the message ids (long text is split).
    pub fn send_text(&self, to: &str, text: &str) -> Vec<u64> {
        let mut ids = Vec::new();
        for piece in payload::split_text_payloads(text, &None, payload::MAX_SB_PAYLOAD) {
            let id = self.next_id.get();
            self.next_id.set(id + 1);
            ids.push(id);
            self.send(Request::SendTo {
                id,
                to: to.to_string(),
                ack: AckMode::Acknowledged,
                payload: piece,
            });
        }
        ids
    }

    /// Sends a typing notification to `to` (ack mode U: fire and forget).
    pub fn send_typing(&self, to: &str) {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let me = self.account();
        self.send(Request::SendTo {
            id,
            to: to.to_string(),
            ack: AckMode::Unacknowledged,
            payload: payload::typing(&me),
        });
    }

    /// Sends a nudge to `to`; returns its message id.
    pub fn send_nudge(&self, to: &str) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.send(Request::SendTo {
            id,
            to: to.to_string(),
            ack: AckMode::NakOnly,
            payload: payload::nudge(),
        });
        id
    }

    /// Offers the file at `path` to `to`; returns the transfer id the events will name.
    pub fn send_file(&self, to: &str, path: PathBuf) -> TransferId {
        let transfer = self.next_transfer.get();
        self.next_transfer.set(transfer + 1);
        self.send(Request::SendFile {
            transfer,
            to: to.to_string(),
            path,
        });
        transfer
    }

    /// Accepts an offered file into the folder `dir` (the engine never overwrites a file).
    pub fn accept_file(&self, transfer: TransferId, dir: PathBuf) {
        self.send(Request::AcceptFile { transfer, dir });
    }

    /// Declines an offered file.
    pub fn decline_file(&self, transfer: TransferId) {
        self.send(Request::DeclineFile { transfer });
    }

    /// Stops a transfer in either direction.
    pub fn cancel_transfer(&self, transfer: TransferId) {
        self.send(Request::CancelTransfer { transfer });
    }

    /// Remembers the model of a transfer.
    pub fn add_transfer(&self, transfer: &MpTransfer) {
        self.transfers.borrow_mut().push(transfer.clone());
    }

    /// The transfer with this id.
    pub fn transfer(&self, id: TransferId) -> Option<MpTransfer> {
        self.transfers
            .borrow()
            .iter()
            .find(|t| t.id() == id)
            .cloned()
    }

    /// The transfers with the contact `account`, oldest first.
    pub fn transfers_with(&self, account: &str) -> Vec<MpTransfer> {
        let key = msnp::proto::contacts::account_key(account);
        self.transfers
            .borrow()
            .iter()
            .filter(|t| msnp::proto::contacts::account_key(&t.peer()) == key)
            .cloned()
            .collect()
    }

    /// Ends the transfers still running (their engine is going away).
    fn end_transfers(&self, reason: &str) {
        let transfers = self.transfers.borrow().clone();
        for t in transfers {
            t.failed(reason);
        }
    }

    /// Signs out and stops the engine. Transfers still running end with it.
    pub fn shutdown(&self) {
        self.end_transfers(&gettext("you signed out"));
        self.send(Request::Shutdown);
    }

    /// Signs out and waits (at most `timeout`) for the engine to say goodbye. Only for quitting,
    /// when the windows are gone and a short wait lets `OUT` reach the server.
    pub fn shutdown_and_wait(&self, timeout: std::time::Duration) {
        self.shutdown();
        let end = Instant::now() + timeout;
        while Instant::now() < end && self.running.get() {
            match self.events.try_recv() {
                Ok(Event::Stopped) => break,
                Ok(_) => {}
                Err(async_channel::TryRecvError::Closed) => break,
                Err(async_channel::TryRecvError::Empty) => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
            }
        }
    }
}
