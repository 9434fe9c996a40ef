//! The switchboard: cookie authentication, CAL/RNG/ANS, the roster, and MSG relay with the
//! acknowledgement modes (switchboard.md).

use std::time::Instant;

use msnp::proto::codec::Frame;
use msnp::proto::command::{AckMode, ClientCommand, ServerCommand, TrId};
use msnp::proto::names::is_valid_account;

use crate::core::{key, random_digits, ConnId, Core, Out, Outlet, SbConn, Switchboard};

impl Core {
    /// Registers a new switchboard connection.
    pub(crate) fn sb_connected(&mut self, outlet: Outlet) -> ConnId {
        let id = self.next_id();
        self.sb_conns.insert(
            id,
            SbConn {
                outlet,
                account: None,
                sb: None,
                closing: false,
            },
        );
        id
    }

    /// Whether the connection has passed `USR`/`ANS`.
    pub(crate) fn sb_authenticated(&self, conn: ConnId) -> bool {
        self.sb_conns.get(&conn).is_some_and(|c| c.sb.is_some())
    }

    /// Handles one frame from a switchboard connection.
    pub(crate) fn sb_frame(&mut self, conn: ConnId, frame: Frame) {
        let Some(c) = self.sb_conns.get(&conn) else {
            return;
        };
        if c.closing {
            return;
        }
        let authed = c.sb.is_some();
        // Malformed commands (wrong parameter count, bad ack mode) close the connection
        // (switchboard.md §7).
        let Ok(cmd) = ClientCommand::parse(&frame) else {
            return self.close_sb(conn);
        };
        match cmd {
            ClientCommand::Out => self.close_sb(conn),
            ClientCommand::UsrSb {
                trid,
                account,
                cookie,
            } if !authed => self.sb_usr(conn, trid, &account, &cookie),
            ClientCommand::Ans {
                trid,
                account,
                cookie,
                session_id,
            } if !authed => self.sb_ans(conn, trid, &account, &cookie, &session_id),
            // Anything before authentication closes the connection.
            _ if !authed => self.close_sb(conn),
            ClientCommand::Cal { trid, account } => self.sb_cal(conn, trid, &account),
            ClientCommand::Msg { trid, ack, payload } => self.sb_msg(conn, trid, ack, payload),
            ClientCommand::UsrSb { trid, .. } | ClientCommand::Ans { trid, .. } => {
                self.sb_send(
                    conn,
                    &ServerCommand::Error {
                        error: msnp::proto::error::ServerError::from_code(715),
                        trid: Some(trid),
                    },
                );
            }
            other => {
                let trid = other.trid().or_else(|| crate::ns::first_trid(&frame));
                self.sb_send(
                    conn,
                    &ServerCommand::Error {
                        error: msnp::proto::error::ServerError::from_code(200),
                        trid,
                    },
                );
            }
        }
    }

    fn sb_fail_auth(&mut self, conn: ConnId, trid: TrId) {
        self.sb_send(
            conn,
            &ServerCommand::Error {
                error: msnp::proto::error::ServerError::from_code(911),
                trid: Some(trid),
            },
        );
        self.close_sb(conn);
    }

    /// Takes a cookie if it is live and belongs to `account`.
    fn take_cookie(&mut self, cookie: &str, account: &str) -> Option<crate::core::Cookie> {
        let c = self.cookies.get(cookie)?;
        if c.account != account || c.expires <= Instant::now() {
            return None;
        }
        self.cookies.remove(cookie)
    }

    fn sb_usr(&mut self, conn: ConnId, trid: TrId, account: &str, cookie: &str) {
        let account = key(account);
        let Some(ck) = self.take_cookie(cookie, &account) else {
            return self.sb_fail_auth(conn, trid);
        };
        if ck.sb.is_some() {
            // An RNG cookie must be used with ANS.
            return self.sb_fail_auth(conn, trid);
        }
        let sb = self.next_id();
        let session_id = loop {
            let s = random_digits(8);
            if !self.sbs.values().any(|b| b.session_id == s) {
                break s;
            }
        };
        self.sbs.insert(
            sb,
            Switchboard {
                session_id,
                members: vec![conn],
            },
        );
        if let Some(c) = self.sb_conns.get_mut(&conn) {
            c.account = Some(account.clone());
            c.sb = Some(sb);
        }
        let name = self.display_name(&account);
        self.sb_send(
            conn,
            &ServerCommand::UsrOk {
                trid,
                account,
                name,
                verified: None,
                restricted: None,
            },
        );
    }

    fn sb_ans(&mut self, conn: ConnId, trid: TrId, account: &str, cookie: &str, sid: &str) {
        let account = key(account);
        let valid = self.cookies.get(cookie).and_then(|c| c.sb).and_then(|sb| {
            self.sbs
                .get(&sb)
                .filter(|b| b.session_id == sid)
                .map(|_| sb)
        });
        let Some(sb) = valid else {
            return self.sb_fail_auth(conn, trid);
        };
        if self.take_cookie(cookie, &account).is_none() {
            return self.sb_fail_auth(conn, trid);
        }
        let members: Vec<ConnId> = self
            .sbs
            .get(&sb)
            .map(|b| b.members.clone())
            .unwrap_or_default();
        let roster: Vec<(ConnId, String)> = members
            .iter()
            .filter_map(|m| {
                let a = self.sb_conns.get(m)?.account.clone()?;
                Some((*m, a))
            })
            .collect();
        let count = roster.len() as u32;
        for (i, (_, a)) in roster.iter().enumerate() {
            self.sb_send(
                conn,
                &ServerCommand::Iro {
                    trid,
                    index: i as u32 + 1,
                    count,
                    account: a.clone(),
                    name: self.display_name(a),
                    capabilities: None,
                },
            );
        }
        if let Some(c) = self.sb_conns.get_mut(&conn) {
            c.account = Some(account.clone());
            c.sb = Some(sb);
        }
        if let Some(b) = self.sbs.get_mut(&sb) {
            b.members.push(conn);
        }
        self.sb_send(conn, &ServerCommand::AnsOk { trid });
        let joi = ServerCommand::Joi {
            account: account.clone(),
            name: self.display_name(&account),
            capabilities: None,
        };
        for (m, _) in &roster {
            self.sb_send(*m, &joi);
        }
    }

    fn sb_cal(&mut self, conn: ConnId, trid: TrId, callee: &str) {
        let err = |core: &mut Core, code: u16| {
            core.sb_send(
                conn,
                &ServerCommand::Error {
                    error: msnp::proto::error::ServerError::from_code(code),
                    trid: Some(trid),
                },
            );
        };
        let Some((caller, sb)) = self
            .sb_conns
            .get(&conn)
            .and_then(|c| Some((c.account.clone()?, c.sb?)))
        else {
            return;
        };
        if !is_valid_account(callee) {
            return err(self, 208);
        }
        let callee = key(callee);
        let now = Instant::now();
        let present = self.sbs.get(&sb).is_some_and(|b| {
            b.members.iter().any(|m| {
                self.sb_conns
                    .get(m)
                    .is_some_and(|c| c.account.as_deref() == Some(callee.as_str()))
            })
        });
        let ringing = self
            .cookies
            .values()
            .any(|c| c.sb == Some(sb) && c.account == callee && c.expires > now);
        if callee == caller || present || ringing {
            return err(self, 215);
        }
        let reachable = self.public_status(&callee).is_some() && self.allows(&callee, &caller);
        let Some((callee_conn, _)) = self.session_of(&callee).filter(|_| reachable) else {
            return err(self, 217);
        };
        let Some(session_id) = self.sbs.get(&sb).map(|b| b.session_id.clone()) else {
            return;
        };
        let cookie = self.new_cookie(&callee, Some(sb));
        let rng = ServerCommand::Rng {
            session_id: session_id.clone(),
            address: self.sb_public.clone(),
            cookie,
            inviter: caller.clone(),
            inviter_name: self.display_name(&caller),
        };
        self.send(callee_conn, &rng);
        self.sb_send(conn, &ServerCommand::CalRinging { trid, session_id });
    }

    fn sb_msg(&mut self, conn: ConnId, trid: TrId, ack: AckMode, payload: Vec<u8>) {
        let Some((sender, sb)) = self
            .sb_conns
            .get(&conn)
            .and_then(|c| Some((c.account.clone()?, c.sb?)))
        else {
            return;
        };
        let others: Vec<ConnId> = self
            .sbs
            .get(&sb)
            .map(|b| b.members.iter().copied().filter(|m| *m != conn).collect())
            .unwrap_or_default();
        let bytes = ServerCommand::Msg {
            sender: sender.clone(),
            sender_name: self.display_name(&sender),
            payload,
        }
        .to_bytes();
        let mut delivered = !others.is_empty();
        for m in &others {
            let ok = match self.sb_conns.get(m) {
                Some(c) if !c.closing => c.outlet.push(Out::Data(bytes.clone())),
                _ => false,
            };
            delivered &= ok;
        }
        let reply = match (ack, delivered) {
            (AckMode::Acknowledged | AckMode::Data, true) => Some(ServerCommand::Ack { trid }),
            (AckMode::Acknowledged | AckMode::Data | AckMode::NakOnly, false) => {
                Some(ServerCommand::Nak { trid })
            }
            _ => None,
        };
        if let Some(r) = reply {
            self.sb_send(conn, &r);
        }
    }

    /// Forgets a closed switchboard connection: the others get `BYE`; an empty session ends.
    pub(crate) fn sb_disconnected(&mut self, conn: ConnId) {
        let Some(c) = self.sb_conns.remove(&conn) else {
            return;
        };
        let (Some(account), Some(sb)) = (c.account, c.sb) else {
            return;
        };
        let Some(b) = self.sbs.get_mut(&sb) else {
            return;
        };
        b.members.retain(|m| *m != conn);
        let rest = b.members.clone();
        if rest.is_empty() {
            self.sbs.remove(&sb);
            self.cookies.retain(|_, ck| ck.sb != Some(sb));
            return;
        }
        let bye = ServerCommand::Bye {
            account,
            reason: None,
        };
        for m in rest {
            self.sb_send(m, &bye);
        }
    }
}
