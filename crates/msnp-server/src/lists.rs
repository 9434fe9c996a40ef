//! Contact-list, group and settings commands (notification.md §4) with their reverse-list and
//! presence effects.

use std::collections::BTreeSet;

use msnp::proto::command::{AddPrompt, List, Privacy, ServerCommand, TrId};
use msnp::proto::names::{
    url_decode, WireName, MAX_DISPLAY_NAME_ENCODED_BYTES, MAX_GROUP_NAME_ENCODED_BYTES,
};

use crate::core::{key, ConnId, Core};
use crate::ns::valid_account;
use crate::store::FlEntry;

impl Core {
    fn account_of(&self, conn: ConnId) -> Option<String> {
        self.ns.get(&conn).and_then(|c| c.account.clone())
    }

    pub(crate) fn on_add(
        &mut self,
        conn: ConnId,
        trid: TrId,
        list: List,
        contact: &str,
        nick: WireName,
        group: Option<u32>,
    ) {
        let Some(me) = self.account_of(conn) else {
            return;
        };
        if list == List::Reverse {
            // Only the server edits the RL: the connection is closed (errors.md §3.2).
            return self.close_ns(conn);
        }
        if nick.as_wire().len() > MAX_DISPLAY_NAME_ENCODED_BYTES {
            return self.close_ns(conn);
        }
        if !valid_account(contact) {
            return self.send_error(conn, 201, Some(trid));
        }
        let contact = key(contact);
        if !self.accounts.contains_key(&contact) {
            return self.send_error(conn, 205, Some(trid));
        }
        let max = self.config.max_list_entries;
        let Some(d) = self.data(&me) else {
            return;
        };
        let before = self.watchers(&me);
        match list {
            List::Forward => {
                let group = group.unwrap_or(0);
                if !d.groups.contains_key(&group) {
                    return self.send_error(conn, 224, Some(trid));
                }
                let existing = d.fl.get(&contact);
                if existing.is_some_and(|e| e.groups.contains(&group)) {
                    return self.send_error(conn, 215, Some(trid));
                }
                if existing.is_none() && d.fl.len() >= max {
                    return self.send_error(conn, 210, Some(trid));
                }
                let newly = existing.is_none();
                let Some(d) = self.data_mut(&me) else {
                    return;
                };
                let entry = d.fl.entry(contact.clone()).or_insert_with(|| FlEntry {
                    nick: nick.as_wire().to_string(),
                    groups: BTreeSet::new(),
                });
                entry.groups.insert(group);
                if entry.groups.len() > 1 {
                    // Joining a real group leaves the implicit group 0.
                    entry.groups.remove(&0);
                }
                let ver = self.bump(&me);
                self.send(
                    conn,
                    &ServerCommand::Add {
                        trid,
                        list,
                        version: ver,
                        account: contact.clone(),
                        name: nick,
                        group: Some(group),
                    },
                );
                if newly {
                    let my_name = self.display_name(&me);
                    if let Some(cd) = self.data_mut(&contact) {
                        cd.rl.insert(me.clone(), my_name.as_wire().to_string());
                    }
                    let cver = self.bump(&contact);
                    if let Some((cid, _)) = self.session_of(&contact) {
                        self.send(
                            cid,
                            &ServerCommand::Add {
                                trid: 0,
                                list: List::Reverse,
                                version: cver,
                                account: me.clone(),
                                name: my_name,
                                group: None,
                            },
                        );
                    }
                    let synced = self.ns.get(&conn).is_some_and(|c| c.synced);
                    if synced {
                        let mut out = Vec::new();
                        for bpr in self.contact_bprs(&me, &contact, ver, true) {
                            out.extend_from_slice(&bpr.to_bytes());
                        }
                        self.send_bytes(conn, out);
                    }
                    if self.ns.get(&conn).is_some_and(|c| c.status.is_some()) {
                        if let Some(iln) = self.iln_for(&me, &contact, trid) {
                            self.send(conn, &iln);
                        }
                    }
                }
            }
            List::Allow | List::Block => {
                let (same, other) = if list == List::Allow {
                    (&d.al, &d.bl)
                } else {
                    (&d.bl, &d.al)
                };
                if same.contains_key(&contact) {
                    return self.send_error(conn, 215, Some(trid));
                }
                if other.contains_key(&contact) {
                    return self.send_error(conn, 219, Some(trid));
                }
                if same.len() >= max {
                    return self.send_error(conn, 210, Some(trid));
                }
                let Some(d) = self.data_mut(&me) else {
                    return;
                };
                let map = if list == List::Allow {
                    &mut d.al
                } else {
                    &mut d.bl
                };
                map.insert(contact.clone(), nick.as_wire().to_string());
                let ver = self.bump(&me);
                self.send(
                    conn,
                    &ServerCommand::Add {
                        trid,
                        list,
                        version: ver,
                        account: contact,
                        name: nick,
                        group: None,
                    },
                );
                self.presence_changed(&me, &before, false);
            }
            List::Reverse => {}
        }
    }

    pub(crate) fn on_rem(
        &mut self,
        conn: ConnId,
        trid: TrId,
        list: List,
        contact: &str,
        group: Option<u32>,
    ) {
        let Some(me) = self.account_of(conn) else {
            return;
        };
        if list == List::Reverse {
            return self.close_ns(conn);
        }
        let contact = key(contact);
        let Some(d) = self.data(&me) else {
            return;
        };
        let before = self.watchers(&me);
        match list {
            List::Forward => {
                let Some(entry) = d.fl.get(&contact) else {
                    return self.send_error(conn, 216, Some(trid));
                };
                if let Some(g) = group {
                    if !d.groups.contains_key(&g) {
                        return self.send_error(conn, 224, Some(trid));
                    }
                    if !entry.groups.contains(&g) {
                        return self.send_error(conn, 225, Some(trid));
                    }
                    if let Some(e) = self.data_mut(&me).and_then(|d| d.fl.get_mut(&contact)) {
                        e.groups.remove(&g);
                        if e.groups.is_empty() {
                            e.groups.insert(0);
                        }
                    }
                    let ver = self.bump(&me);
                    return self.send(
                        conn,
                        &ServerCommand::Rem {
                            trid,
                            list,
                            version: ver,
                            account: contact,
                            group: Some(g),
                        },
                    );
                }
                if let Some(d) = self.data_mut(&me) {
                    d.fl.remove(&contact);
                }
                let ver = self.bump(&me);
                self.send(
                    conn,
                    &ServerCommand::Rem {
                        trid,
                        list,
                        version: ver,
                        account: contact.clone(),
                        group: None,
                    },
                );
                let had = self
                    .data_mut(&contact)
                    .is_some_and(|cd| cd.rl.remove(&me).is_some());
                if had {
                    let cver = self.bump(&contact);
                    if let Some((cid, _)) = self.session_of(&contact) {
                        self.send(
                            cid,
                            &ServerCommand::Rem {
                                trid: 0,
                                list: List::Reverse,
                                version: cver,
                                account: me.clone(),
                                group: None,
                            },
                        );
                    }
                }
            }
            List::Allow | List::Block => {
                let present = if list == List::Allow {
                    d.al.contains_key(&contact)
                } else {
                    d.bl.contains_key(&contact)
                };
                if !present {
                    return self.send_error(conn, 216, Some(trid));
                }
                if let Some(d) = self.data_mut(&me) {
                    if list == List::Allow {
                        d.al.remove(&contact);
                    } else {
                        d.bl.remove(&contact);
                    }
                }
                let ver = self.bump(&me);
                self.send(
                    conn,
                    &ServerCommand::Rem {
                        trid,
                        list,
                        version: ver,
                        account: contact,
                        group: None,
                    },
                );
                self.presence_changed(&me, &before, false);
            }
            List::Reverse => {}
        }
    }

    pub(crate) fn on_rea(&mut self, conn: ConnId, trid: TrId, target: &str, name: WireName) {
        let Some(me) = self.account_of(conn) else {
            return;
        };
        if name.as_wire().len() > MAX_DISPLAY_NAME_ENCODED_BYTES {
            // Historical servers drop the connection (errors.md §3.2).
            return self.close_ns(conn);
        }
        if url_decode(name.as_wire()).trim().is_empty() {
            return self.send_error(conn, 209, Some(trid));
        }
        let target = key(target);
        if target == me {
            let before = self.watchers(&me);
            if let Some(d) = self.data_mut(&me) {
                d.display_name = name.as_wire().to_string();
            }
            let ver = self.bump(&me);
            self.send(
                conn,
                &ServerCommand::Rea {
                    trid,
                    version: ver,
                    account: me.clone(),
                    name,
                },
            );
            return self.presence_changed(&me, &before, true);
        }
        let Some(d) = self.data_mut(&me) else {
            return;
        };
        let wire = name.as_wire().to_string();
        let mut found = false;
        if let Some(e) = d.fl.get_mut(&target) {
            e.nick = wire.clone();
            found = true;
        }
        for map in [&mut d.al, &mut d.bl] {
            if let Some(n) = map.get_mut(&target) {
                *n = wire.clone();
                found = true;
            }
        }
        if !found {
            return self.send_error(conn, 216, Some(trid));
        }
        let ver = self.bump(&me);
        self.send(
            conn,
            &ServerCommand::Rea {
                trid,
                version: ver,
                account: target,
                name,
            },
        );
    }

    /// Checks a group name: `Err(code)` when refused.
    fn check_group_name(&self, me: &str, name: &WireName, except: Option<u32>) -> Result<(), u16> {
        if name.as_wire().len() > MAX_GROUP_NAME_ENCODED_BYTES {
            return Err(229);
        }
        if url_decode(name.as_wire()).trim().is_empty() {
            return Err(201);
        }
        let wanted = url_decode(name.as_wire());
        let taken = self.data(me).is_some_and(|d| {
            d.groups
                .iter()
                .any(|(id, n)| Some(*id) != except && url_decode(n) == wanted)
        });
        if taken {
            return Err(228);
        }
        Ok(())
    }

    pub(crate) fn on_adg(&mut self, conn: ConnId, trid: TrId, name: WireName) {
        let Some(me) = self.account_of(conn) else {
            return;
        };
        if let Err(code) = self.check_group_name(&me, &name, None) {
            return self.send_error(conn, code, Some(trid));
        }
        let max = self.config.max_groups;
        let Some(d) = self.data_mut(&me) else {
            return;
        };
        if d.groups.len() >= max {
            return self.send_error(conn, 223, Some(trid));
        }
        let id = (1..)
            .find(|i| !d.groups.contains_key(i))
            .unwrap_or(u32::MAX);
        d.groups.insert(id, name.as_wire().to_string());
        let ver = self.bump(&me);
        self.send(
            conn,
            &ServerCommand::Adg {
                trid,
                version: ver,
                name,
                group: id,
            },
        );
    }

    pub(crate) fn on_rmg(&mut self, conn: ConnId, trid: TrId, group: u32) {
        let Some(me) = self.account_of(conn) else {
            return;
        };
        if group == 0 {
            return self.send_error(conn, 230, Some(trid));
        }
        let Some(d) = self.data_mut(&me) else {
            return;
        };
        if d.groups.remove(&group).is_none() {
            return self.send_error(conn, 224, Some(trid));
        }
        // Members are ungrouped, not removed (the Escargot behaviour; notification.md §4.4).
        for e in d.fl.values_mut() {
            if e.groups.remove(&group) && e.groups.is_empty() {
                e.groups.insert(0);
            }
        }
        let ver = self.bump(&me);
        self.send(
            conn,
            &ServerCommand::Rmg {
                trid,
                version: ver,
                group,
            },
        );
    }

    pub(crate) fn on_reg(&mut self, conn: ConnId, trid: TrId, group: u32, name: WireName) {
        let Some(me) = self.account_of(conn) else {
            return;
        };
        if !self
            .data(&me)
            .is_some_and(|d| d.groups.contains_key(&group))
        {
            return self.send_error(conn, 224, Some(trid));
        }
        if let Err(code) = self.check_group_name(&me, &name, Some(group)) {
            return self.send_error(conn, code, Some(trid));
        }
        if let Some(d) = self.data_mut(&me) {
            d.groups.insert(group, name.as_wire().to_string());
        }
        let ver = self.bump(&me);
        self.send(
            conn,
            &ServerCommand::Reg {
                trid,
                version: ver,
                group,
                name,
            },
        );
    }

    pub(crate) fn on_blp(&mut self, conn: ConnId, trid: TrId, privacy: Privacy) {
        let Some(me) = self.account_of(conn) else {
            return;
        };
        if self.data(&me).is_some_and(|d| d.blp == privacy) {
            return self.send_error(conn, 218, Some(trid));
        }
        let before = self.watchers(&me);
        if let Some(d) = self.data_mut(&me) {
            d.blp = privacy;
        }
        let ver = self.bump(&me);
        self.send(
            conn,
            &ServerCommand::Blp {
                trid,
                version: ver,
                privacy,
            },
        );
        self.presence_changed(&me, &before, false);
    }

    pub(crate) fn on_gtc(&mut self, conn: ConnId, trid: TrId, prompt: AddPrompt) {
        let Some(me) = self.account_of(conn) else {
            return;
        };
        if self.data(&me).is_some_and(|d| d.gtc == prompt) {
            return self.send_error(conn, 218, Some(trid));
        }
        if let Some(d) = self.data_mut(&me) {
            d.gtc = prompt;
        }
        let ver = self.bump(&me);
        self.send(
            conn,
            &ServerCommand::Gtc {
                trid,
                version: ver,
                prompt,
            },
        );
    }

    pub(crate) fn on_prp(
        &mut self,
        conn: ConnId,
        trid: TrId,
        property: &str,
        value: Option<WireName>,
    ) {
        let Some(me) = self.account_of(conn) else {
            return;
        };
        if !crate::ns::SETTABLE_PROPERTIES.contains(&property) {
            // `MFN` and unknown keys do not exist in MSNP7 (errors.md §2.3).
            return self.send_error(conn, 715, Some(trid));
        }
        if value.as_ref().is_some_and(|v| {
            url_decode(v.as_wire()).chars().count() > crate::ns::MAX_PROPERTY_CHARS
        }) {
            return self.close_ns(conn);
        }
        let wire = value
            .as_ref()
            .map(|v| v.as_wire().to_string())
            .unwrap_or_default();
        if let Some(d) = self.data_mut(&me) {
            d.properties.insert(property.to_string(), wire.clone());
        }
        let ver = self.bump(&me);
        self.send(
            conn,
            &ServerCommand::Prp {
                trid: Some(trid),
                version: Some(ver),
                property: property.to_string(),
                value: value.clone(),
            },
        );
        if !crate::ns::BPR_CODES.contains(&property) {
            return;
        }
        // Contacts who follow me and whom I allow see the new value (notification.md §2.5).
        let viewers: Vec<String> = self
            .data(&me)
            .map(|d| {
                d.rl.keys()
                    .filter(|w| d.al.contains_key(*w) && !d.bl.contains_key(*w))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for w in viewers {
            let wver = self.bump(&w);
            if let Some((wid, _)) = self.session_of(&w) {
                self.send(
                    wid,
                    &ServerCommand::Bpr {
                        version: Some(wver),
                        account: Some(me.clone()),
                        property: property.to_string(),
                        value: value.clone(),
                    },
                );
            }
        }
    }
}
