//! The dispatch and notification server: sign-in, SYN, presence, challenges, switchboard
//! requests and the small commands (notification.md). List and group editing is in `lists.rs`.

use std::time::Instant;

use msnp::proto::auth::{challenge_answer, challenge_key_for, md5_login_hash};
use msnp::proto::codec::Frame;
use msnp::proto::command::{parse_u32, ClientCommand, List, LstEntry, ServerCommand, Status, TrId};
use msnp::proto::msnp8::{list_bit, Capabilities};
use msnp::proto::names::{is_valid_account, WireName};
use msnp::proto::payload;

use crate::core::{key, random_digits, unix_now, ConnId, Core, NsConn, NsRole, Out, Outlet};

/// Dialects offered in `VER` that this server speaks, highest first: MSNP8 (when its Passport
/// endpoints run) and every MD5 dialect.
const DIALECTS: &[&str] = &[
    "MSNP8", "MSNP7", "MSNP6", "MSNP5", "MSNP4", "MSNP3", "MSNP2",
];
/// The challenge string of `USR … TWN S` (the historical shape; clients treat it as opaque).
fn twn_challenge() -> String {
    format!(
        "lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct={},kpp=1,kv=5,ver=2.1.0173.1,tpf={}",
        unix_now(),
        crate::core::random_hex(16)
    )
}

/// Phone-like codes sent as `BPR` for contacts.
pub(crate) const BPR_CODES: &[&str] = &["PHH", "PHW", "PHM", "MOB"];
/// Own properties sent as `PRP` in `SYN`.
const PRP_CODES: &[&str] = &["PHH", "PHW", "PHM", "MOB", "MBE"];
/// Properties a client may set with `PRP`.
pub(crate) const SETTABLE_PROPERTIES: &[&str] = &["PHH", "PHW", "PHM", "MOB", "MBE", "WWE"];
/// Longest property value (Escargot closes the connection above it).
pub(crate) const MAX_PROPERTY_CHARS: usize = 95;

impl Core {
    /// Registers a new NS (or dispatch) connection.
    pub(crate) fn ns_connected(
        &mut self,
        role: NsRole,
        outlet: Outlet,
        peer: Option<std::net::SocketAddr>,
    ) -> ConnId {
        let id = self.next_id();
        self.ns.insert(
            id,
            NsConn {
                role,
                outlet,
                peer,
                dialect: None,
                pending_login: None,
                capabilities: None,
                account: None,
                status: None,
                synced: false,
                challenge: None,
                closing: false,
                is_virtual: false,
            },
        );
        id
    }

    /// Whether the connection negotiated MSNP8.
    pub(crate) fn is_msnp8(&self, conn: ConnId) -> bool {
        self.ns
            .get(&conn)
            .is_some_and(|c| c.dialect.as_deref() == Some("MSNP8"))
    }

    /// Whether the connection has signed in.
    pub(crate) fn ns_authenticated(&self, conn: ConnId) -> bool {
        self.ns.get(&conn).is_some_and(|c| c.account.is_some())
    }

    /// Handles one frame from an NS connection.
    pub(crate) fn ns_frame(&mut self, conn: ConnId, frame: Frame) {
        let Some(c) = self.ns.get(&conn) else {
            return;
        };
        if c.closing {
            return;
        }
        let signed_in = c.account.is_some();
        let cmd = match ClientCommand::parse(&frame) {
            Ok(cmd) => cmd,
            Err(e) => return self.ns_malformed(conn, &frame, e.reason),
        };
        let has_version = c.dialect.is_some();
        match cmd {
            ClientCommand::Ver { trid, dialects } => self.on_ver(conn, trid, &dialects),
            ClientCommand::Out => self.close_ns(conn),
            ClientCommand::Png if !signed_in => self.close_ns(conn),
            ClientCommand::Png => self.send(conn, &ServerCommand::Qng { next: None }),
            ClientCommand::Msg { .. } => self.close_ns(conn),
            cmd if !has_version => {
                // VER must come first (notification.md §1.2).
                self.send_error(conn, 715, cmd.trid());
            }
            // msnp8.md §1.3 (Escargot): INF and MD5 under MSNP8 close the connection.
            ClientCommand::Inf { .. }
            | ClientCommand::UsrMd5Initial { .. }
            | ClientCommand::UsrMd5Response { .. }
                if !signed_in && self.is_msnp8(conn) =>
            {
                self.close_ns(conn)
            }
            ClientCommand::Inf { trid } => self.send(
                conn,
                &ServerCommand::Inf {
                    trid,
                    methods: vec!["MD5".into()],
                },
            ),
            ClientCommand::Cvr { trid, fields } => {
                if fields.len() < 6 {
                    self.send_error(conn, 710, Some(trid));
                } else if self.is_msnp8(conn) {
                    // MSNP8: the client's own version is the recommended and minimum one (as
                    // Escargot answers, msnp8.md §2.2).
                    let v = fields.get(5).cloned().unwrap_or_default();
                    self.send(
                        conn,
                        &ServerCommand::Cvr {
                            trid,
                            fields: vec![
                                v.clone(),
                                v.clone(),
                                v,
                                "http://download.example.invalid/msn".into(),
                                "http://messenger.example.invalid".into(),
                            ],
                        },
                    );
                } else {
                    self.send(
                        conn,
                        &ServerCommand::Cvr {
                            trid,
                            fields: vec![
                                "4.7.3001".into(),
                                "4.7.3001".into(),
                                "4.6.0083".into(),
                                "http://download.example.invalid/msn".into(),
                                "http://messenger.example.invalid".into(),
                            ],
                        },
                    );
                }
            }
            ClientCommand::UsrMd5Initial { trid, account } => {
                self.on_usr_initial(conn, trid, &account)
            }
            ClientCommand::UsrMd5Response { trid, hash } => self.on_usr_response(conn, trid, &hash),
            ClientCommand::UsrTwnInitial { trid, account } if !signed_in && self.is_msnp8(conn) => {
                self.on_usr_twn_initial(conn, trid, &account)
            }
            ClientCommand::UsrTwnResponse { trid, ticket } if !signed_in && self.is_msnp8(conn) => {
                self.on_usr_twn_response(conn, trid, &ticket)
            }
            ClientCommand::UsrTwnInitial { trid, .. }
            | ClientCommand::UsrTwnResponse { trid, .. }
                if signed_in =>
            {
                self.send_error(conn, 207, Some(trid))
            }
            // TWN below MSNP8: closed without a reply (Escargot, msnp8.md §1.3).
            ClientCommand::UsrTwnInitial { .. } | ClientCommand::UsrTwnResponse { .. } => {
                self.close_ns(conn)
            }
            ClientCommand::UsrSb { trid, .. } => {
                if signed_in {
                    self.send_error(conn, 207, Some(trid));
                } else {
                    self.send_error(conn, 911, Some(trid));
                    self.close_ns(conn);
                }
            }
            cmd if !signed_in => match cmd.trid() {
                Some(trid) => self.send_error(conn, 302, Some(trid)),
                None => self.close_ns(conn),
            },
            ClientCommand::Syn { trid, version } => self.on_syn(conn, trid, version),
            ClientCommand::Chg {
                trid,
                status,
                capabilities,
            } => self.on_chg(conn, trid, status, capabilities),
            ClientCommand::Add {
                trid,
                list,
                account,
                nick,
                group,
            } => self.on_add(conn, trid, list, &account, nick, group),
            ClientCommand::Rem {
                trid,
                list,
                account,
                group,
            } => self.on_rem(conn, trid, list, &account, group),
            ClientCommand::Rea {
                trid,
                account,
                name,
            } => self.on_rea(conn, trid, &account, name),
            ClientCommand::Adg { trid, name } => self.on_adg(conn, trid, name),
            ClientCommand::Rmg { trid, group } => self.on_rmg(conn, trid, group),
            ClientCommand::Reg { trid, group, name } => self.on_reg(conn, trid, group, name),
            ClientCommand::Blp { trid, privacy } => self.on_blp(conn, trid, privacy),
            ClientCommand::Gtc { trid, prompt } => self.on_gtc(conn, trid, prompt),
            ClientCommand::Prp {
                trid,
                property,
                value,
            } => self.on_prp(conn, trid, &property, value),
            ClientCommand::Qry {
                trid,
                client_id,
                answer,
            } => self.on_qry(conn, trid, &client_id, &answer),
            ClientCommand::XfrSb { trid } => self.on_xfr_sb(conn, trid),
            ClientCommand::Url { trid, service, .. } => {
                let redirect = match service.as_str() {
                    "INBOX" => "/cgi-bin/HoTMaiL",
                    "FOLDERS" => "/cgi-bin/folders",
                    "COMPOSE" => "/cgi-bin/compose",
                    "PROFILE" | "PERSON" => "/cgi-bin/profile",
                    _ => "/",
                };
                self.send(
                    conn,
                    &ServerCommand::Url {
                        trid,
                        fields: vec![
                            redirect.into(),
                            "https://loginnet.passport.com/ppsecure/md5auth.srf?lc=1033".into(),
                            "2".into(),
                        ],
                    },
                );
            }
            ClientCommand::Snd { trid, .. } => self.send(
                conn,
                &ServerCommand::Snd {
                    trid,
                    fields: vec!["OK".into()],
                },
            ),
            ClientCommand::Sdc { trid, .. } => self.send(
                conn,
                &ServerCommand::Sdc {
                    trid,
                    fields: vec!["OK".into()],
                },
            ),
            ClientCommand::Ims { trid, on } => self.send(
                conn,
                &ServerCommand::Ims {
                    trid,
                    fields: vec!["0".into(), if on { "ON" } else { "OFF" }.into()],
                },
            ),
            // Switchboard commands and anything unknown: a syntax error, never silence.
            other => self.send_error(conn, 200, first_trid(&frame).or(other.trid())),
        }
    }

    /// A known command with bad parameters (errors.md §3.2).
    fn ns_malformed(&mut self, conn: ConnId, frame: &Frame, reason: &str) {
        let trid = first_trid(frame);
        match frame.code() {
            // Non-numeric VER TrID, BLP/GTC with a value other than the documented ones.
            "VER" | "BLP" | "GTC" => self.close_ns(conn),
            _ if trid.is_none() => self.send_error(conn, 200, None),
            _ if reason == "missing parameter" => self.send_error(conn, 300, trid),
            _ => self.send_error(conn, 201, trid),
        }
    }

    fn on_ver(&mut self, conn: ConnId, trid: TrId, offered: &[String]) {
        if self.ns.get(&conn).is_some_and(|c| c.dialect.is_some()) {
            self.send_error(conn, 715, Some(trid));
            return self.close_ns(conn);
        }
        let msnp8 = self.msnp8_enabled;
        let chosen = DIALECTS
            .iter()
            .filter(|d| msnp8 || **d != "MSNP8")
            .find(|d| offered.iter().any(|o| o.eq_ignore_ascii_case(d)))
            .map(|d| d.to_string());
        match chosen {
            Some(d) => {
                let mut dialects = vec![d.clone()];
                if offered.iter().any(|o| o == "CVR0") {
                    dialects.push("CVR0".into());
                }
                if let Some(c) = self.ns.get_mut(&conn) {
                    c.dialect = Some(d);
                }
                self.send(conn, &ServerCommand::Ver { trid, dialects });
            }
            None => {
                self.send(
                    conn,
                    &ServerCommand::Ver {
                        trid,
                        dialects: vec!["0".into()],
                    },
                );
                self.close_ns(conn);
            }
        }
    }

    fn on_usr_initial(&mut self, conn: ConnId, trid: TrId, account: &str) {
        let Some(c) = self.ns.get(&conn) else {
            return;
        };
        if c.account.is_some() {
            return self.send_error(conn, 207, Some(trid));
        }
        if !account.contains('@') {
            self.send_error(conn, 911, Some(trid));
            return self.close_ns(conn);
        }
        if c.role == NsRole::Dispatch {
            let cmd = ServerCommand::XfrNs {
                trid,
                address: self.ns_public.clone(),
                current: Some(self.ds_public.clone()),
            };
            self.send(conn, &cmd);
            return self.close_ns(conn);
        }
        // A fresh, time-like salt per attempt (historical form `1056561624.17795`), also for
        // unknown accounts so that they cannot be told apart before the password step.
        let salt = format!("{}.{}", unix_now(), random_digits(9));
        if let Some(c) = self.ns.get_mut(&conn) {
            c.pending_login = Some((key(account), salt.clone()));
        }
        self.send(conn, &ServerCommand::UsrMd5Salt { trid, salt });
    }

    fn on_usr_response(&mut self, conn: ConnId, trid: TrId, hash: &str) {
        let Some(c) = self.ns.get_mut(&conn) else {
            return;
        };
        if c.account.is_some() {
            return self.send_error(conn, 207, Some(trid));
        }
        let pending = c.pending_login.take();
        let ok = match &pending {
            Some((account, salt)) => self
                .accounts
                .get(account)
                .is_some_and(|a| md5_login_hash(salt, &a.password) == hash),
            None => false,
        };
        let Some((account, _)) = pending.filter(|_| ok) else {
            self.send_error(conn, 911, Some(trid));
            return self.close_ns(conn);
        };
        self.finish_login(conn, trid, &account, None);
    }

    fn on_usr_twn_initial(&mut self, conn: ConnId, trid: TrId, account: &str) {
        let Some(c) = self.ns.get(&conn) else {
            return;
        };
        if !account.contains('@') {
            self.send_error(conn, 911, Some(trid));
            return self.close_ns(conn);
        }
        if c.role == NsRole::Dispatch {
            let cmd = ServerCommand::XfrNs {
                trid,
                address: self.ns_public.clone(),
                current: Some(self.ds_public.clone()),
            };
            self.send(conn, &cmd);
            return self.close_ns(conn);
        }
        let challenge = twn_challenge();
        if let Some(c) = self.ns.get_mut(&conn) {
            c.pending_login = Some((key(account), challenge.clone()));
        }
        self.send(conn, &ServerCommand::UsrTwnChallenge { trid, challenge });
    }

    fn on_usr_twn_response(&mut self, conn: ConnId, trid: TrId, ticket: &str) {
        let pending = self.ns.get_mut(&conn).and_then(|c| c.pending_login.take());
        let redeemed = self.redeem_ticket(ticket);
        let account = match (pending, redeemed) {
            (Some((want, _)), Some(got)) if want == got => got,
            // Unknown, expired, used or someone else's ticket (msnp8.md §3.7).
            _ => {
                self.send_error(conn, 911, Some(trid));
                return self.close_ns(conn);
            }
        };
        self.finish_login(conn, trid, &account, Some("0"));
    }

    /// `USR … OK` (with MSNP8's fourth parameter when `restricted` is given) and the profile.
    fn finish_login(&mut self, conn: ConnId, trid: TrId, account: &str, restricted: Option<&str>) {
        self.login(conn, account);
        let name = self.display_name(account);
        self.send(
            conn,
            &ServerCommand::UsrOk {
                trid,
                account: account.to_string(),
                name,
                verified: Some("1".into()),
                restricted: restricted.map(str::to_string),
            },
        );
        // A virtual session has no socket: it is "on" the server's own machine.
        let (ip, port) = self.ns.get(&conn).and_then(|c| c.peer).map_or_else(
            || ("127.0.0.1".to_string(), 0),
            |a| (a.ip().to_string(), a.port()),
        );
        self.send(
            conn,
            &ServerCommand::Msg {
                sender: "Hotmail".into(),
                sender_name: WireName::from_wire("Hotmail"),
                payload: payload::profile(account, unix_now(), &ip, port),
            },
        );
    }

    /// Binds `conn` to `account`, sending `OUT OTH` to an older session of the same account.
    pub(crate) fn login(&mut self, conn: ConnId, account: &str) {
        if let Some(&old) = self.online.get(account) {
            if old != conn {
                self.send(
                    old,
                    &ServerCommand::Out {
                        reason: Some("OTH".into()),
                    },
                );
                self.sign_out(old);
                self.close_ns(old);
            }
        }
        if let Some(c) = self.ns.get_mut(&conn) {
            c.account = Some(account.to_string());
            c.status = None;
            c.capabilities = None;
            c.synced = false;
        }
        self.online.insert(account.to_string(), conn);
    }

    fn on_syn(&mut self, conn: ConnId, trid: TrId, cached: u32) {
        let Some(account) = self.ns.get(&conn).and_then(|c| c.account.clone()) else {
            return;
        };
        self.syn_log
            .entry(account.clone())
            .or_default()
            .push(cached);
        if let Some(c) = self.ns.get_mut(&conn) {
            c.synced = true;
        }
        if self.is_msnp8(conn) {
            return self.on_syn8(conn, trid, cached, &account);
        }
        let Some(d) = self.data(&account) else {
            return;
        };
        let ver = d.version;
        let mut out = ServerCommand::Syn { trid, version: ver }.to_bytes();
        if cached == ver {
            return self.send_bytes(conn, out);
        }
        let mut push = |cmd: ServerCommand| out.extend_from_slice(&cmd.to_frame().to_bytes());
        push(ServerCommand::Gtc {
            trid,
            version: ver,
            prompt: d.gtc,
        });
        push(ServerCommand::Blp {
            trid,
            version: ver,
            privacy: d.blp,
        });
        for code in PRP_CODES {
            let value = match (d.property(code), *code) {
                (Some(v), _) => Some(v.to_string()),
                (None, "MOB" | "MBE") => Some("N".to_string()),
                (None, _) => None,
            };
            push(ServerCommand::Prp {
                trid: Some(trid),
                version: Some(ver),
                property: code.to_string(),
                value: value.map(WireName::from_wire),
            });
        }
        let count = d.groups.len() as u32;
        for (i, (id, name)) in d.groups.iter().enumerate() {
            push(ServerCommand::Lsg {
                trid,
                version: ver,
                index: i as u32 + 1,
                count,
                group: *id,
                name: WireName::from_wire(name.as_str()),
            });
        }
        let count = d.fl.len() as u32;
        if count == 0 {
            push(empty_lst(trid, msnp::proto::command::List::Forward, ver));
        }
        for (i, (contact, entry)) in d.fl.iter().enumerate() {
            push(ServerCommand::Lst {
                trid,
                list: msnp::proto::command::List::Forward,
                version: ver,
                index: i as u32 + 1,
                count,
                entry: Some(LstEntry {
                    account: contact.clone(),
                    name: WireName::from_wire(entry.nick.as_str()),
                    groups: Some(entry.groups.iter().copied().collect()),
                }),
            });
            for bpr in self.contact_bprs(&account, contact, ver, false) {
                push(bpr);
            }
        }
        use msnp::proto::command::List;
        for (list, map) in [
            (List::Allow, &d.al),
            (List::Block, &d.bl),
            (List::Reverse, &d.rl),
        ] {
            let count = map.len() as u32;
            if count == 0 {
                push(empty_lst(trid, list, ver));
            }
            for (i, (contact, name)) in map.iter().enumerate() {
                push(ServerCommand::Lst {
                    trid,
                    list,
                    version: ver,
                    index: i as u32 + 1,
                    count,
                    entry: Some(LstEntry {
                        account: contact.clone(),
                        name: WireName::from_wire(name.as_str()),
                        groups: None,
                    }),
                });
            }
        }
        self.send_bytes(conn, out);
    }

    /// MSNP8 `SYN` (msnp8.md §4): `SYN tr ver contacts groups`, `GTC`, `BLP`, the `PRP`s that
    /// have a value, the `LSG`s, then one `LST` per contact with its list mask, each followed
    /// by its non-empty `BPR`s — none with TrID or version. A current version gets `SYN tr ver`.
    fn on_syn8(&mut self, conn: ConnId, trid: TrId, cached: u32, account: &str) {
        let Some(d) = self.data(account) else {
            return;
        };
        let ver = d.version;
        if cached == ver {
            return self.send(conn, &ServerCommand::Syn { trid, version: ver });
        }
        let mut contacts: std::collections::BTreeMap<&str, (u32, &str)> = Default::default();
        for (list, names) in [
            (List::Allow, &d.al),
            (List::Block, &d.bl),
            (List::Reverse, &d.rl),
        ] {
            for (contact, name) in names {
                let e = contacts
                    .entry(contact.as_str())
                    .or_insert((0, name.as_str()));
                e.0 |= list_bit(list);
            }
        }
        for (contact, entry) in &d.fl {
            let e = contacts
                .entry(contact.as_str())
                .or_insert((0, entry.nick.as_str()));
            e.0 |= list_bit(List::Forward);
            e.1 = entry.nick.as_str();
        }
        let mut out = ServerCommand::Syn8 {
            trid,
            version: ver,
            contacts: contacts.len() as u32,
            groups: d.groups.len() as u32,
        }
        .to_bytes();
        let mut push = |cmd: ServerCommand| out.extend_from_slice(&cmd.to_bytes());
        push(ServerCommand::Gtc8 { prompt: d.gtc });
        push(ServerCommand::Blp8 { privacy: d.blp });
        for code in PRP_CODES {
            if let Some(v) = d.property(code).filter(|v| !v.is_empty()) {
                push(ServerCommand::Prp {
                    trid: None,
                    version: None,
                    property: code.to_string(),
                    value: Some(WireName::from_wire(v)),
                });
            }
        }
        for (id, name) in &d.groups {
            push(ServerCommand::Lsg8 {
                group: *id,
                name: WireName::from_wire(name.as_str()),
            });
        }
        for (contact, (mask, name)) in &contacts {
            let groups =
                d.fl.get(*contact)
                    .map(|e| e.groups.iter().copied().collect::<Vec<u32>>());
            push(ServerCommand::Lst8 {
                account: contact.to_string(),
                name: WireName::from_wire(*name),
                lists: *mask,
                groups,
            });
            if mask & list_bit(List::Forward) != 0 {
                for bpr in self.contact_bprs(account, contact, ver, false) {
                    if let ServerCommand::Bpr {
                        property,
                        value: Some(value),
                        ..
                    } = bpr
                    {
                        if !value.as_wire().is_empty() {
                            push(ServerCommand::Bpr {
                                version: None,
                                account: None,
                                property,
                                value: Some(value),
                            });
                        }
                    }
                }
            }
        }
        self.send_bytes(conn, out);
    }

    /// `BPR` lines describing `contact`'s phone data as `viewer` may see it. With `always`, four
    /// lines are returned even when everything is blank (after `ADD FL`); otherwise only when
    /// something is set.
    pub(crate) fn contact_bprs(
        &self,
        viewer: &str,
        contact: &str,
        version: u32,
        always: bool,
    ) -> Vec<ServerCommand> {
        let visible = self
            .data(contact)
            .filter(|d| d.al.contains_key(viewer) && !d.bl.contains_key(viewer));
        let value = |code: &str| visible.and_then(|d| d.property(code)).map(str::to_string);
        let any = BPR_CODES
            .iter()
            .any(|c| value(c).is_some_and(|v| !(*c == "MOB" && v == "N")));
        if !any && !always {
            return Vec::new();
        }
        BPR_CODES
            .iter()
            .map(|code| ServerCommand::Bpr {
                version: Some(version),
                account: Some(contact.to_string()),
                property: code.to_string(),
                value: match (value(code), *code) {
                    (Some(v), _) => Some(WireName::from_wire(v)),
                    (None, "MOB") => Some(WireName::from_wire("N")),
                    (None, _) => None,
                },
            })
            .collect()
    }

    fn on_chg(&mut self, conn: ConnId, trid: TrId, status: Status, capabilities: Option<String>) {
        if !status.is_settable() {
            // `CHG FLN` and unknown codes: invalid parameter (errors.md §3.2).
            return self.send_error(conn, 201, Some(trid));
        }
        let reply_caps = if self.is_msnp8(conn) {
            // msnp8.md §5.1 (Escargot): without a numeric capabilities parameter the CHG is
            // ignored silently.
            let Some(caps) = capabilities.as_deref().and_then(Capabilities::parse) else {
                return;
            };
            if let Some(c) = self.ns.get_mut(&conn) {
                c.capabilities = Some(caps.0);
            }
            capabilities
        } else {
            None
        };
        let first = self.ns.get(&conn).is_some_and(|c| c.status.is_none());
        self.send(
            conn,
            &ServerCommand::Chg {
                trid,
                status: status.clone(),
                capabilities: reply_caps,
            },
        );
        self.apply_status(conn, status, trid);
        if first && self.config.challenges {
            self.send_challenge(conn);
        }
    }

    /// Sends `CHL 0 …` and arms the answer timer.
    pub(crate) fn send_challenge(&mut self, conn: ConnId) -> Option<String> {
        let challenge = random_digits(20);
        let deadline = Instant::now() + self.config.challenge_timeout;
        let c = self.ns.get_mut(&conn)?;
        if c.closing || c.account.is_none() {
            return None;
        }
        c.challenge = Some(challenge.clone());
        c.outlet.push(Out::Data(
            ServerCommand::Chl {
                trid: 0,
                challenge: challenge.clone(),
            }
            .to_bytes(),
        ));
        c.outlet.push(Out::Deadline(Some(deadline)));
        Some(challenge)
    }

    fn on_qry(&mut self, conn: ConnId, trid: TrId, client_id: &str, answer: &[u8]) {
        let Some(c) = self.ns.get_mut(&conn) else {
            return;
        };
        let Some(challenge) = c.challenge.take() else {
            // No challenge outstanding: the command is not expected here.
            return self.send_error(conn, 715, Some(trid));
        };
        let ok = challenge_key_for(client_id)
            .is_some_and(|k| challenge_answer(&challenge, k).as_bytes() == answer);
        if ok {
            c.outlet.push(Out::Deadline(None));
            self.send(conn, &ServerCommand::Qry { trid });
        } else {
            self.send_error(conn, 540, Some(trid));
            self.close_ns(conn);
        }
    }

    fn on_xfr_sb(&mut self, conn: ConnId, trid: TrId) {
        let Some(c) = self.ns.get(&conn) else {
            return;
        };
        let Some(account) = c.account.clone() else {
            return;
        };
        if !c.status.as_ref().is_some_and(Status::is_online) {
            return self.send_error(conn, 913, Some(trid));
        }
        let cookie = self.new_cookie(&account, None);
        let cmd = ServerCommand::XfrSb {
            trid,
            address: self.sb_public.clone(),
            cookie,
        };
        self.send(conn, &cmd);
    }

    /// Signs in a virtual session (demo contacts, the bot) without a socket.
    pub(crate) fn virtual_login(&mut self, account: &str, outlet: Outlet) -> ConnId {
        let id = self.ns_connected(NsRole::Notification, outlet, None);
        if let Some(c) = self.ns.get_mut(&id) {
            c.dialect = Some("MSNP7".into());
            c.is_virtual = true;
        }
        self.login(id, account);
        if let Some(c) = self.ns.get_mut(&id) {
            c.synced = true;
        }
        id
    }
}

/// The TrID of a line if its second token is a number.
pub(crate) fn first_trid(frame: &Frame) -> Option<TrId> {
    frame.tokens().nth(1).and_then(parse_u32)
}

fn empty_lst(trid: TrId, list: msnp::proto::command::List, version: u32) -> ServerCommand {
    ServerCommand::Lst {
        trid,
        list,
        version,
        index: 0,
        count: 0,
        entry: None,
    }
}

/// Whether an address is acceptable in list commands.
pub(crate) fn valid_account(account: &str) -> bool {
    is_valid_account(account)
}
