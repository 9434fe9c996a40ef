//! The signed-in account as plain data, and the reducer that applies engine events to it in
//! batches: everything one wake-up of the event loop received becomes one [`Batch`] (the contacts
//! that changed, whether the layout must be recomputed, and what the UI has to do). Pure: tested
//! without GTK.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use msnp::client::{ConversationId, Event, TransferId};
use msnp::proto::command::{AddPrompt, Status};
use msnp::proto::contacts::ContactList;
use msnp::proto::msnp8::Dialect;
use msnp::proto::ns::{LoginError, NsEvent, SignOutReason};
use msnp::proto::payload::{decode_encoded_words, Payload};

use super::roster::Roster;
use crate::i18n::{gettext, gettext_f};

/// How long after going online `ILN`s count as the sign-in burst (no "came online" notices).
pub const SIGN_IN_QUIET: Duration = Duration::from_secs(10);
/// At most this many "came online" notices per [`ONLINE_NOTICE_WINDOW`].
pub const ONLINE_NOTICES_PER_WINDOW: usize = 3;
/// The window of the notice limit.
pub const ONLINE_NOTICE_WINDOW: Duration = Duration::from_secs(60);

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// First sign-in under way (the sign-in page shows progress).
    SigningIn,
    /// Signed in.
    Online,
    /// Was signed in; the engine is reconnecting.
    Reconnecting,
    /// Over (failed, signed out, stopped).
    Ended,
}

/// What kind of sign-in failure, for the message and whether to offer a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Wrong address or password (or MD5 sign-in not enabled on Escargot).
    Credentials,
    /// The server could not be reached or did not answer.
    Unreachable,
    /// The server does not speak MSNP7 / no usable sign-in method.
    Protocol,
    /// Anything else the server said.
    Server,
}

/// Something the UI must do after a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Connecting (attempt 1 is the first).
    Connecting { attempt: u32 },
    /// Signed in; `again` when this is a reconnection.
    SignedIn { again: bool },
    /// The first sign-in failed; the engine should be stopped.
    SignInFailed { kind: FailureKind, message: String },
    /// The connection is lost; the engine retries after `retry_in_secs`.
    Reconnecting { retry_in_secs: u64, reason: String },
    /// Signed out by the server or the user; `elsewhere` for `OUT OTH`.
    SignedOut { elsewhere: bool, message: String },
    /// A contact came online (already rate-limited and outside the sign-in burst).
    ContactOnline { account: String, name: String },
    /// A new e-mail arrived.
    NewMail { from: String, subject: String },
    /// The unread count changed.
    MailCount(u32),
    /// Own status confirmed.
    OwnStatus(Status),
    /// Own display name confirmed.
    OwnName(String),
    /// The lists were synchronised (save the cache).
    ListSynced(Box<ContactList>),
    /// A change to the lists was confirmed with a new list version (save the cache).
    ListChanged,
    /// A conversation exists.
    ConversationOpened {
        conversation: ConversationId,
        with: String,
    },
    /// A text message arrived.
    Message {
        conversation: ConversationId,
        from: String,
        name: String,
        text: String,
        /// `X-MMS-IM-Format`, re-serialised (empty: none).
        format: String,
    },
    /// A nudge arrived.
    Nudge { from: String, name: String },
    /// A contact is typing (only when `TypingUser` matches the sender).
    Typing { from: String, name: String },
    /// A contact joined a conversation.
    Joined {
        conversation: ConversationId,
        account: String,
        name: String,
    },
    /// A contact left a conversation.
    Left {
        conversation: ConversationId,
        account: String,
    },
    /// A sent message was delivered.
    Delivered { id: u64 },
    /// A sent message failed.
    MessageFailed { id: u64, reason: String },
    /// Someone added you and waits for an answer (GTC is "ask").
    AddRequest { account: String, name: String },
    /// A pending request was answered (the person is on AL or BL now).
    AddRequestAnswered { account: String },
    /// Something the user asked for was refused or failed.
    Error(String),
    /// A contact offers a file (`name` is already cleaned by the engine).
    FileOffered {
        transfer: TransferId,
        from: String,
        name: String,
        size: u64,
    },
    /// A file transfer moved on.
    Transfer {
        transfer: TransferId,
        update: TransferUpdate,
    },
    /// The engine ended.
    Stopped,
}

/// What happened to a file transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferUpdate {
    /// Bytes start to flow.
    Started,
    /// `bytes` of `total` moved.
    Progress { bytes: u64, total: u64 },
    /// The file is complete (`path`: the saved or the sent file).
    Completed { path: String, confirmed: bool },
    /// The contact declined the offer.
    Declined,
    /// It failed (the engine's words).
    Failed(String),
    /// Cancelled by the contact (`by_peer`) or this side.
    Cancelled { by_peer: bool },
}

/// The outcome of one batch of events.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Contacts whose shown data changed (keys).
    pub changed: BTreeSet<String>,
    /// Whether rows must be re-laid out (membership, order, groups, counts).
    pub relayout: bool,
    /// What the UI must do, in order.
    pub effects: Vec<Effect>,
}

/// The account's state as the UI sees it.
#[derive(Debug)]
pub struct AccountState {
    /// The account signing in.
    pub account: String,
    /// Contacts and groups with presence.
    pub roster: Roster,
    /// Where the session stands.
    pub phase: Phase,
    /// Own status (as confirmed by the server).
    pub status: Status,
    /// Own display name.
    pub display_name: String,
    /// Unread e-mails in the inbox.
    pub unread_mail: u32,
    /// The web address of the inbox, from the initial e-mail notice (may be empty).
    pub inbox_url: String,
    /// The last synchronised lists (for the cache).
    pub list: Option<ContactList>,
    /// "Added you" requests not answered yet: key → (account, name).
    pub pending_requests: std::collections::BTreeMap<String, (String, String)>,
    /// The protocol version of the current (or last) session.
    pub dialect: Option<Dialect>,
    online_since: Option<Instant>,
    notices: Vec<Instant>,
    ever_signed_in: bool,
}

impl AccountState {
    /// A state for `account`, starting from the cached lists if any.
    pub fn new(account: &str, cache: Option<&ContactList>) -> Self {
        let mut roster = Roster::default();
        if let Some(list) = cache {
            roster.sync(list);
        }
        AccountState {
            account: account.to_string(),
            roster,
            phase: Phase::SigningIn,
            status: Status::Offline,
            display_name: String::new(),
            unread_mail: 0,
            inbox_url: String::new(),
            list: cache.cloned(),
            pending_requests: Default::default(),
            dialect: None,
            online_since: None,
            notices: Vec::new(),
            ever_signed_in: false,
        }
    }

    /// Applies every event of one wake-up.
    pub fn apply_batch(&mut self, events: impl IntoIterator<Item = Event>, now: Instant) -> Batch {
        let mut batch = Batch::default();
        for event in events {
            self.apply(event, now, &mut batch);
        }
        batch
    }

    fn go_offline(&mut self, batch: &mut Batch) {
        let changed = self.roster.all_offline();
        if !changed.is_empty() {
            batch.relayout = true;
        }
        batch.changed.extend(changed);
        self.online_since = None;
        self.status = Status::Offline;
    }

    fn online_notice_allowed(&mut self, now: Instant) -> bool {
        match self.online_since {
            Some(t) if now.duration_since(t) >= SIGN_IN_QUIET => {}
            _ => return false,
        }
        self.notices
            .retain(|t| now.duration_since(*t) < ONLINE_NOTICE_WINDOW);
        if self.notices.len() >= ONLINE_NOTICES_PER_WINDOW {
            return false;
        }
        self.notices.push(now);
        true
    }

    fn apply(&mut self, event: Event, now: Instant, batch: &mut Batch) {
        let fx = &mut batch.effects;
        match event {
            Event::Connecting { attempt } => fx.push(Effect::Connecting { attempt }),
            Event::Reconnecting {
                retry_in_secs,
                reason,
            } => {
                if self.ever_signed_in {
                    self.phase = Phase::Reconnecting;
                    self.go_offline(batch);
                    batch.effects.push(Effect::Reconnecting {
                        retry_in_secs,
                        reason,
                    });
                }
                // Before the first sign-in, LoginFailed already ended the attempt.
            }
            Event::RequestRefused { reason, .. } => fx.push(Effect::Error(reason)),
            Event::EngineFailed(text) => {
                if self.phase == Phase::SigningIn {
                    fx.push(Effect::SignInFailed {
                        kind: FailureKind::Server,
                        message: text,
                    });
                } else {
                    fx.push(Effect::Error(text));
                }
                self.phase = Phase::Ended;
            }
            Event::Stopped => {
                self.phase = Phase::Ended;
                self.go_offline(batch);
                batch.effects.push(Effect::Stopped);
            }
            Event::ConversationOpened { conversation, with } => {
                fx.push(Effect::ConversationOpened { conversation, with })
            }
            Event::Joined {
                conversation,
                account,
                name,
            } => fx.push(Effect::Joined {
                conversation,
                account,
                name,
            }),
            Event::Left {
                conversation,
                account,
            } => fx.push(Effect::Left {
                conversation,
                account,
            }),
            Event::FileOffered {
                transfer,
                from,
                name,
                size,
                ..
            } => fx.push(Effect::FileOffered {
                transfer,
                from,
                name,
                size,
            }),
            Event::TransferStarted { transfer } => fx.push(Effect::Transfer {
                transfer,
                update: TransferUpdate::Started,
            }),
            Event::TransferProgress {
                transfer,
                bytes,
                total,
            } => fx.push(Effect::Transfer {
                transfer,
                update: TransferUpdate::Progress { bytes, total },
            }),
            Event::TransferCompleted {
                transfer,
                path,
                confirmed,
            } => fx.push(Effect::Transfer {
                transfer,
                update: TransferUpdate::Completed {
                    path: path.to_string_lossy().into_owned(),
                    confirmed,
                },
            }),
            Event::TransferDeclined { transfer } => fx.push(Effect::Transfer {
                transfer,
                update: TransferUpdate::Declined,
            }),
            Event::TransferFailed { transfer, reason } => fx.push(Effect::Transfer {
                transfer,
                update: TransferUpdate::Failed(reason),
            }),
            Event::TransferCancelled { transfer, by_peer } => fx.push(Effect::Transfer {
                transfer,
                update: TransferUpdate::Cancelled { by_peer },
            }),
            Event::Message {
                conversation,
                from,
                name,
                payload,
            } => {
                let name = name.decode();
                match Payload::parse(&payload) {
                    Payload::Text(t) => fx.push(Effect::Message {
                        conversation,
                        from,
                        name,
                        text: t.text,
                        format: t.format.map(|f| f.to_header_value()).unwrap_or_default(),
                    }),
                    Payload::Nudge => fx.push(Effect::Nudge { from, name }),
                    Payload::Typing { user } if user.eq_ignore_ascii_case(&from) => {
                        fx.push(Effect::Typing { from, name })
                    }
                    _ => {}
                }
            }
            Event::MessageDelivered { id } => fx.push(Effect::Delivered { id }),
            Event::MessageFailed { id, reason } => fx.push(Effect::MessageFailed { id, reason }),
            Event::CallFailed {
                account, reason, ..
            } => fx.push(Effect::Error(gettext_f(
                "Could not reach {}: {}",
                &[&account, &reason],
            ))),
            Event::Ns(ns) => self.apply_ns(ns, now, batch),
        }
    }

    fn apply_ns(&mut self, event: NsEvent, now: Instant, batch: &mut Batch) {
        match event {
            NsEvent::SignedIn {
                display_name,
                account,
                dialect,
                ..
            } => {
                self.dialect = Some(dialect);
                let again = self.ever_signed_in;
                self.ever_signed_in = true;
                self.phase = Phase::Online;
                self.account = account;
                self.display_name = display_name;
                batch
                    .effects
                    .push(Effect::OwnName(self.display_name.clone()));
                batch.effects.push(Effect::SignedIn { again });
            }
            NsEvent::ListSynced { list, .. } => {
                let changed = self.roster.sync(&list);
                batch.changed.extend(changed);
                batch.relayout = true;
                self.list = Some(list.clone());
                batch.effects.push(Effect::ListSynced(Box::new(list)));
            }
            NsEvent::ContactChanged { entry } => {
                let key = msnp::proto::contacts::account_key(&entry.account);
                if (entry.allow || entry.block) && self.pending_requests.remove(&key).is_some() {
                    batch.effects.push(Effect::AddRequestAnswered {
                        account: entry.account.clone(),
                    });
                }
                if let Some(list) = self.list.as_mut() {
                    list.contacts.insert(
                        msnp::proto::contacts::account_key(&entry.account),
                        entry.clone(),
                    );
                }
                if self.roster.update_entry(&entry) {
                    batch
                        .changed
                        .insert(msnp::proto::contacts::account_key(&entry.account));
                    batch.relayout = true;
                }
            }
            NsEvent::ContactRemoved { account } => {
                if let Some(list) = self.list.as_mut() {
                    list.contacts
                        .remove(&msnp::proto::contacts::account_key(&account));
                }
                if self.roster.remove(&account) {
                    batch
                        .changed
                        .insert(msnp::proto::contacts::account_key(&account));
                    batch.relayout = true;
                }
            }
            NsEvent::ListVersion { version } => {
                if let Some(list) = self.list.as_mut() {
                    if list.version != version {
                        list.version = version;
                        batch.effects.push(Effect::ListChanged);
                    }
                }
            }
            NsEvent::GroupsChanged { groups } => {
                if let Some(list) = self.list.as_mut() {
                    list.groups = groups.iter().cloned().collect();
                }
                self.roster.set_groups(&groups);
                batch.relayout = true;
            }
            NsEvent::Presence {
                account,
                status,
                name,
                ..
            } => {
                if account.eq_ignore_ascii_case(&self.account) {
                    return;
                }
                if let Some(was_online) = self.roster.set_presence(&account, status, Some(&name)) {
                    batch
                        .changed
                        .insert(msnp::proto::contacts::account_key(&account));
                    batch.relayout = true;
                    if !was_online && self.online_notice_allowed(now) {
                        let shown = self
                            .roster
                            .get(&account)
                            .map(|c| c.display_name().to_string())
                            .unwrap_or(name);
                        batch.effects.push(Effect::ContactOnline {
                            account,
                            name: shown,
                        });
                    }
                }
            }
            NsEvent::Offline { account } => {
                if self
                    .roster
                    .set_presence(&account, Status::Offline, None)
                    .is_some()
                {
                    batch
                        .changed
                        .insert(msnp::proto::contacts::account_key(&account));
                    batch.relayout = true;
                }
            }
            NsEvent::OwnStatus(status) => {
                if self.online_since.is_none() {
                    self.online_since = Some(now);
                }
                self.status = status.clone();
                batch.effects.push(Effect::OwnStatus(status));
            }
            NsEvent::OwnDisplayName(name) => {
                self.display_name = name.clone();
                batch.effects.push(Effect::OwnName(name));
            }
            NsEvent::ServerMessage { payload } => self.apply_server_message(&payload, batch),
            NsEvent::LoginFailed(error) => {
                if self.phase == Phase::SigningIn {
                    self.phase = Phase::Ended;
                    let (kind, message) = describe_login_error(&error);
                    batch.effects.push(Effect::SignInFailed { kind, message });
                } else if !error.is_transient() {
                    // A reconnection was refused (password changed elsewhere, …): stop.
                    self.phase = Phase::Ended;
                    let (_, message) = describe_login_error(&error);
                    self.go_offline(batch);
                    batch.effects.push(Effect::SignedOut {
                        elsewhere: false,
                        message,
                    });
                }
            }
            NsEvent::SignedOut(reason) => match reason {
                SignOutReason::User => {
                    self.phase = Phase::Ended;
                    self.go_offline(batch);
                }
                SignOutReason::OtherLocation => {
                    self.phase = Phase::Ended;
                    self.go_offline(batch);
                    batch.effects.push(Effect::SignedOut {
                        elsewhere: true,
                        message: gettext(
                            "You were signed out because this account signed in on another computer.",
                        ),
                    });
                }
                // Followed by Reconnecting from the engine.
                SignOutReason::ServerShutdown | SignOutReason::Other(_) => {}
            },
            NsEvent::ConnectionLost { .. } => {}
            NsEvent::OpFailed { request, error, .. } => {
                batch
                    .effects
                    .push(Effect::Error(super::list_ops::describe_failure(
                        &request, &error,
                    )))
            }
            NsEvent::SwitchboardFailed { error, .. } => batch.effects.push(Effect::Error(
                gettext_f("Could not open a conversation: {}", &[&error.to_string()]),
            )),
            NsEvent::AddedBy {
                account,
                name,
                pending: true,
            } => {
                let ask = self
                    .list
                    .as_ref()
                    .is_none_or(|l| l.add_prompt == AddPrompt::Ask);
                let key = msnp::proto::contacts::account_key(&account);
                if ask && !self.pending_requests.contains_key(&key) {
                    self.pending_requests
                        .insert(key, (account.clone(), name.clone()));
                    batch.effects.push(Effect::AddRequest { account, name });
                }
            }
            NsEvent::SettingsChanged {
                privacy,
                add_prompt,
            } => {
                if let Some(list) = self.list.as_mut() {
                    list.privacy = privacy;
                    list.add_prompt = add_prompt;
                }
            }
            NsEvent::Redirect { .. }
            | NsEvent::PassportNeeded { .. }
            | NsEvent::AddedBy { .. }
            | NsEvent::RemovedBy { .. }
            | NsEvent::Invited { .. }
            | NsEvent::SwitchboardReady { .. }
            | NsEvent::OpDone { .. } => {}
        }
    }

    fn apply_server_message(&mut self, payload: &[u8], batch: &mut Batch) {
        let parsed = Payload::parse(payload);
        match &parsed {
            Payload::InitialEmail {
                inbox_unread,
                inbox_url,
                ..
            } => {
                self.unread_mail = *inbox_unread;
                self.inbox_url = inbox_url.trim().to_string();
                batch.effects.push(Effect::MailCount(self.unread_mail));
            }
            Payload::NewEmail {
                from,
                from_addr,
                subject,
                ..
            } => {
                let delta = parsed.inbox_delta();
                self.unread_mail = self.unread_mail.saturating_add_signed(delta as i32);
                let from = decode_encoded_words(from);
                let from = if from.trim().is_empty() {
                    from_addr.clone()
                } else {
                    from
                };
                batch.effects.push(Effect::NewMail {
                    from,
                    subject: decode_encoded_words(subject),
                });
                batch.effects.push(Effect::MailCount(self.unread_mail));
            }
            Payload::ActiveMail { .. } => {
                let delta = parsed
                    .inbox_delta()
                    .clamp(i64::from(i32::MIN), i64::from(i32::MAX));
                self.unread_mail = self.unread_mail.saturating_add_signed(delta as i32);
                batch.effects.push(Effect::MailCount(self.unread_mail));
            }
            Payload::SystemMessage { .. } => {
                if let Some(minutes) = parsed.maintenance_minutes() {
                    batch.effects.push(Effect::Error(gettext_f(
                        "The server will shut down for maintenance in {} minutes.",
                        &[&minutes.to_string()],
                    )));
                }
            }
            _ => {}
        }
    }
}

/// The user-facing text for a sign-in failure.
pub fn describe_login_error(error: &LoginError) -> (FailureKind, String) {
    match error {
        LoginError::AuthenticationFailed => (
            FailureKind::Credentials,
            gettext(
                "Wrong e-mail address or password. On the Escargot network, signing in with this app also needs “old MSN support” turned on for your account on the Escargot website.",
            ),
        ),
        LoginError::VersionRefused => (
            FailureKind::Protocol,
            gettext(
                "The server supports none of the protocol versions offered. Check the protocol under Advanced.",
            ),
        ),
        LoginError::NoAuthMethod => (
            FailureKind::Protocol,
            gettext("The server offers no sign-in method this app supports."),
        ),
        LoginError::TooManyRedirects => (
            FailureKind::Server,
            gettext("The server redirected the sign-in too many times."),
        ),
        LoginError::Server(e) => (
            FailureKind::Server,
            gettext_f("The server refused the sign-in: {}", &[&e.to_string()]),
        ),
        LoginError::InvalidAccount => (
            FailureKind::Credentials,
            gettext("That is not a valid e-mail address for this server."),
        ),
        LoginError::TicketRejected => (
            FailureKind::Credentials,
            gettext("The server did not accept the Passport sign-in. Try again."),
        ),
        LoginError::Passport(e) => (
            if matches!(e, msnp::proto::passport::PassportError::WrongPassword) {
                FailureKind::Credentials
            } else {
                FailureKind::Unreachable
            },
            gettext_f("Passport sign-in failed: {}", &[&e.to_string()]),
        ),
        LoginError::NoAnswer(reason) => (
            FailureKind::Unreachable,
            gettext_f(
                "Could not reach the server. Check the server address and your connection. ({})",
                &[reason],
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use msnp::proto::command::List;
    use msnp::proto::names::WireName;

    fn ns(e: NsEvent) -> Event {
        Event::Ns(e)
    }

    fn list() -> ContactList {
        let mut l = ContactList::default();
        l.groups.insert(0, "Other Contacts".into());
        l.add(List::Forward, "bob@example.com", "Bob", None);
        l.add(List::Forward, "carol@example.com", "Carol", None);
        l
    }

    fn presence(account: &str, code: &str) -> Event {
        ns(NsEvent::Presence {
            account: account.into(),
            status: Status::from_code(code),
            name: account.split('@').next().unwrap().into(),
            capabilities: None,
        })
    }

    fn signed_in(state: &mut AccountState, t0: Instant) -> Batch {
        state.apply_batch(
            [
                Event::Connecting { attempt: 1 },
                ns(NsEvent::SignedIn {
                    account: "me@example.com".into(),
                    display_name: "Me".into(),
                    verified: true,
                    dialect: msnp::proto::msnp8::Dialect::Msnp7,
                }),
                ns(NsEvent::ListSynced {
                    list: list(),
                    from_cache: false,
                }),
                ns(NsEvent::OwnStatus(Status::Online)),
                presence("bob@example.com", "NLN"),
            ],
            t0,
        )
    }

    #[test]
    fn a_new_list_version_is_kept_for_the_cache() {
        let mut s = AccountState::new("me@example.com", None);
        let t0 = Instant::now();
        signed_in(&mut s, t0);
        let v = s.list.as_ref().unwrap().version;
        let b = s.apply_batch([ns(NsEvent::ListVersion { version: v + 3 })], t0);
        assert_eq!(b.effects, vec![Effect::ListChanged]);
        assert_eq!(s.list.as_ref().unwrap().version, v + 3);
        let b = s.apply_batch([ns(NsEvent::ListVersion { version: v + 3 })], t0);
        assert!(
            b.effects.is_empty(),
            "the same version again changes nothing"
        );
    }

    #[test]
    fn a_sign_in_burst_is_one_batch_without_online_notices() {
        let mut s = AccountState::new("me@example.com", None);
        let t0 = Instant::now();
        let b = signed_in(&mut s, t0);
        assert!(b.relayout);
        assert_eq!(b.changed.len(), 2);
        assert!(b.effects.contains(&Effect::SignedIn { again: false }));
        assert!(b.effects.contains(&Effect::OwnStatus(Status::Online)));
        assert!(!b
            .effects
            .iter()
            .any(|e| matches!(e, Effect::ContactOnline { .. })));
        assert_eq!(s.phase, Phase::Online);
        assert_eq!(s.roster.online_count(), 1);
        assert_eq!(s.dialect, Some(msnp::proto::msnp8::Dialect::Msnp7));
    }

    #[test]
    fn online_notices_after_the_burst_are_rate_limited() {
        let mut s = AccountState::new("me@example.com", None);
        let t0 = Instant::now();
        signed_in(&mut s, t0);
        let later = t0 + SIGN_IN_QUIET + Duration::from_secs(1);
        let mut notices = 0;
        for i in 0..6 {
            let account = if i % 2 == 0 {
                "carol@example.com"
            } else {
                "bob@example.com"
            };
            let b = s.apply_batch(
                [
                    ns(NsEvent::Offline {
                        account: account.into(),
                    }),
                    presence(account, "NLN"),
                ],
                later + Duration::from_secs(i),
            );
            notices += b
                .effects
                .iter()
                .filter(|e| matches!(e, Effect::ContactOnline { .. }))
                .count();
        }
        assert_eq!(notices, ONLINE_NOTICES_PER_WINDOW);
        // A status change among online statuses is no "came online".
        let b = s.apply_batch(
            [presence("bob@example.com", "AWY")],
            later + ONLINE_NOTICE_WINDOW * 2,
        );
        assert!(b.effects.is_empty());
        assert_eq!(b.changed.len(), 1);
    }

    #[test]
    fn own_presence_lines_and_strangers_change_nothing() {
        let mut s = AccountState::new("me@example.com", None);
        signed_in(&mut s, Instant::now());
        let b = s.apply_batch(
            [
                presence("ME@example.com", "NLN"),
                presence("who@example.com", "NLN"),
            ],
            Instant::now(),
        );
        assert_eq!(b, Batch::default());
    }

    #[test]
    fn a_lost_connection_greys_everybody_and_restores() {
        let mut s = AccountState::new("me@example.com", None);
        let t0 = Instant::now();
        signed_in(&mut s, t0);
        let b = s.apply_batch(
            [
                ns(NsEvent::ConnectionLost {
                    reason: "closed".into(),
                }),
                Event::Reconnecting {
                    retry_in_secs: 8,
                    reason: "closed".into(),
                },
            ],
            t0,
        );
        assert_eq!(s.phase, Phase::Reconnecting);
        assert_eq!(s.roster.online_count(), 0);
        assert!(b.changed.contains("bob@example.com"));
        assert!(matches!(
            b.effects[0],
            Effect::Reconnecting {
                retry_in_secs: 8,
                ..
            }
        ));
        let b = s.apply_batch(
            [ns(NsEvent::SignedIn {
                account: "me@example.com".into(),
                display_name: "Me".into(),
                verified: true,
                dialect: msnp::proto::msnp8::Dialect::Msnp7,
            })],
            t0,
        );
        assert!(b.effects.contains(&Effect::SignedIn { again: true }));
    }

    #[test]
    fn first_sign_in_failures_are_explained() {
        let mut s = AccountState::new("me@example.com", None);
        let b = s.apply_batch(
            [
                ns(NsEvent::LoginFailed(LoginError::AuthenticationFailed)),
                Event::Reconnecting {
                    retry_in_secs: 1,
                    reason: "x".into(),
                },
            ],
            Instant::now(),
        );
        assert_eq!(b.effects.len(), 1);
        let Effect::SignInFailed { kind, message } = &b.effects[0] else {
            panic!("{:?}", b.effects);
        };
        assert_eq!(*kind, FailureKind::Credentials);
        assert!(message.contains("old MSN support"));
        let (kind, _) = describe_login_error(&LoginError::NoAnswer("refused".into()));
        assert_eq!(kind, FailureKind::Unreachable);
        let (kind, _) = describe_login_error(&LoginError::VersionRefused);
        assert_eq!(kind, FailureKind::Protocol);
    }

    #[test]
    fn add_requests_are_remembered_until_answered() {
        let mut s = AccountState::new("me@example.com", None);
        signed_in(&mut s, Instant::now());
        let added = || {
            ns(NsEvent::AddedBy {
                account: "Ann@example.com".into(),
                name: "Ann".into(),
                pending: true,
            })
        };
        let b = s.apply_batch([added(), added()], Instant::now());
        assert_eq!(
            b.effects,
            [Effect::AddRequest {
                account: "Ann@example.com".into(),
                name: "Ann".into()
            }]
        );
        let mut entry = msnp::proto::contacts::ContactEntry {
            account: "Ann@example.com".into(),
            name: "Ann".into(),
            reverse: true,
            ..Default::default()
        };
        let b = s.apply_batch(
            [ns(NsEvent::ContactChanged {
                entry: entry.clone(),
            })],
            Instant::now(),
        );
        assert!(b.effects.is_empty());
        entry.allow = true;
        let b = s.apply_batch([ns(NsEvent::ContactChanged { entry })], Instant::now());
        assert_eq!(
            b.effects,
            [Effect::AddRequestAnswered {
                account: "Ann@example.com".into()
            }]
        );
        // GTC "N": no prompt.
        s.apply_batch(
            [ns(NsEvent::SettingsChanged {
                privacy: msnp::proto::command::Privacy::AllowAll,
                add_prompt: AddPrompt::DontAsk,
            })],
            Instant::now(),
        );
        let b = s.apply_batch(
            [ns(NsEvent::AddedBy {
                account: "cy@example.com".into(),
                name: "Cy".into(),
                pending: true,
            })],
            Instant::now(),
        );
        assert!(b.effects.is_empty());
    }

    #[test]
    fn list_failures_are_worded() {
        let mut s = AccountState::new("me@example.com", None);
        let b = s.apply_batch(
            [ns(NsEvent::OpFailed {
                op: 3,
                request: msnp::proto::ns::NsRequest::AddContact {
                    list: List::Forward,
                    account: "nobody@example.com".into(),
                    nick: None,
                    group: Some(0),
                },
                error: msnp::proto::ns::OpError::Server(
                    msnp::proto::error::ServerError::InvalidPrincipal,
                ),
            })],
            Instant::now(),
        );
        assert_eq!(
            b.effects,
            [Effect::Error(
                "nobody@example.com could not be added: there is no MSN account with that address."
                    .into()
            )]
        );
    }

    #[test]
    fn signed_out_elsewhere_is_reported() {
        let mut s = AccountState::new("me@example.com", None);
        signed_in(&mut s, Instant::now());
        let b = s.apply_batch(
            [ns(NsEvent::SignedOut(SignOutReason::OtherLocation))],
            Instant::now(),
        );
        assert!(matches!(
            b.effects[0],
            Effect::SignedOut {
                elsewhere: true,
                ..
            }
        ));
        assert_eq!(s.phase, Phase::Ended);
    }

    #[test]
    fn mail_counts_follow_hotmail_messages() {
        let mut s = AccountState::new("me@example.com", None);
        let initial = b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinitialemailnotification; charset=UTF-8\r\n\r\nInbox-Unread: 2\r\nFolders-Unread: 0\r\n\r\n".to_vec();
        let new = b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsemailnotification; charset=UTF-8\r\n\r\nFrom: Ann\r\nFrom-Addr: ann@example.com\r\nSubject: =?utf-8?Q?Hello?=\r\nDest-Folder: ACTIVE\r\n\r\n".to_vec();
        let b = s.apply_batch(
            [
                ns(NsEvent::ServerMessage { payload: initial }),
                ns(NsEvent::ServerMessage { payload: new }),
            ],
            Instant::now(),
        );
        assert_eq!(s.unread_mail, 3);
        assert_eq!(s.inbox_url, "");
        assert!(b.effects.contains(&Effect::NewMail {
            from: "Ann".into(),
            subject: "Hello".into()
        }));
    }

    #[test]
    fn messages_are_decoded_as_text() {
        let mut s = AccountState::new("me@example.com", None);
        let b = s.apply_batch(
            [Event::Message {
                conversation: 1,
                from: "bob@example.com".into(),
                name: WireName::from_wire("Bob%20<b>"),
                payload: msnp::proto::payload::text_message_plain("hi <i>there</i>"),
            }],
            Instant::now(),
        );
        assert_eq!(
            b.effects,
            [Effect::Message {
                conversation: 1,
                from: "bob@example.com".into(),
                name: "Bob <b>".into(),
                text: "hi <i>there</i>".into(),
                format: String::new(),
            }]
        );
    }

    #[test]
    fn transfer_events_become_effects() {
        let mut s = AccountState::new("me@example.com", None);
        let b = s.apply_batch(
            [
                Event::FileOffered {
                    transfer: 1 << 32,
                    conversation: 3,
                    from: "bob@example.com".into(),
                    cookie: 42,
                    name: "notes.txt".into(),
                    size: 2045,
                },
                Event::TransferProgress {
                    transfer: 1,
                    bytes: 10,
                    total: 20,
                },
                Event::TransferCompleted {
                    transfer: 1,
                    path: "/tmp/x".into(),
                    confirmed: false,
                },
                Event::TransferCancelled {
                    transfer: 2,
                    by_peer: true,
                },
            ],
            Instant::now(),
        );
        assert_eq!(
            b.effects,
            [
                Effect::FileOffered {
                    transfer: 1 << 32,
                    from: "bob@example.com".into(),
                    name: "notes.txt".into(),
                    size: 2045,
                },
                Effect::Transfer {
                    transfer: 1,
                    update: TransferUpdate::Progress {
                        bytes: 10,
                        total: 20
                    },
                },
                Effect::Transfer {
                    transfer: 1,
                    update: TransferUpdate::Completed {
                        path: "/tmp/x".into(),
                        confirmed: false
                    },
                },
                Effect::Transfer {
                    transfer: 2,
                    update: TransferUpdate::Cancelled { by_peer: true },
                },
            ]
        );
    }

    #[test]
    fn typing_is_trusted_only_from_its_sender() {
        let mut s = AccountState::new("me@example.com", None);
        let typing = |from: &str, user: &str| Event::Message {
            conversation: 1,
            from: from.into(),
            name: WireName::from_wire("Bob"),
            payload: msnp::proto::payload::typing(user),
        };
        let b = s.apply_batch(
            [
                typing("bob@example.com", "bob@example.com"),
                typing("bob@example.com", "eve@example.com"),
            ],
            Instant::now(),
        );
        assert_eq!(
            b.effects,
            [Effect::Typing {
                from: "bob@example.com".into(),
                name: "Bob".into(),
            }]
        );
    }
}
