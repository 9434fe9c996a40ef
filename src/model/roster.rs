//! The contact list as plain data, and its layout: contacts grouped by their MSN groups, sorted
//! by presence then name, filtered by the search text and the "show offline" switch. Pure (no
//! GTK), so sorting, filtering and grouping are tested without a display.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use msnp::proto::command::Status;
use msnp::proto::contacts::{account_key, ContactEntry, ContactList};

use super::presence;
use crate::i18n::gettext;

/// One forward-list contact as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactData {
    /// The account (e-mail address) as the server spells it.
    pub account: String,
    /// The stored nickname (from the lists).
    pub nick: String,
    /// The display name last seen in presence (`ILN`/`NLN`), if any.
    pub presence_name: Option<String>,
    /// The current status ([`Status::Offline`] when not online).
    pub status: Status,
    /// Group ids (never empty: group 0 holds the ungrouped).
    pub groups: Vec<u32>,
    /// On the block list (shown with a "blocked" badge).
    pub blocked: bool,
    /// Lower-case name and account, for searching and sorting.
    sort_name: String,
    search_account: String,
}

impl ContactData {
    /// A contact from its list entry, offline.
    pub fn from_entry(entry: &ContactEntry) -> Self {
        let mut c = ContactData {
            account: entry.account.clone(),
            nick: entry.name.clone(),
            presence_name: None,
            status: Status::Offline,
            groups: Vec::new(),
            blocked: entry.block,
            sort_name: String::new(),
            search_account: entry.account.to_lowercase(),
        };
        c.set_groups(&entry.groups);
        c.refresh_keys();
        c
    }

    fn set_groups(&mut self, groups: &[u32]) {
        self.groups = if groups.is_empty() {
            vec![0]
        } else {
            groups.to_vec()
        };
    }

    fn refresh_keys(&mut self) {
        self.sort_name = self.display_name().to_lowercase();
    }

    /// The name to show: the current display name, else the stored nickname, else the account.
    pub fn display_name(&self) -> &str {
        match &self.presence_name {
            Some(n) if !n.trim().is_empty() => n,
            _ if !self.nick.trim().is_empty() => &self.nick,
            _ => &self.account,
        }
    }

    /// Whether the contact is online (any status but offline).
    pub fn is_online(&self) -> bool {
        self.status.is_online()
    }

    fn matches(&self, needle: &str) -> bool {
        needle.is_empty() || self.sort_name.contains(needle) || self.search_account.contains(needle)
    }
}

/// What to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Search text (matched case-insensitively against names and addresses).
    pub text: String,
    /// Show offline contacts.
    pub show_offline: bool,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            text: String::new(),
            show_offline: true,
        }
    }
}

/// One row of the flattened list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Row {
    /// A group header.
    Group(u32),
    /// A contact inside a group (a contact in two groups appears twice).
    Contact {
        /// The group it is shown in.
        group: u32,
        /// Its key in the roster (lower-case account).
        key: String,
    },
}

/// A group header's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    /// Group id.
    pub id: u32,
    /// Name (translated "Other Contacts" for group 0 when the server gave none).
    pub name: String,
    /// Members online.
    pub online: u32,
    /// All members.
    pub total: u32,
}

/// The forward list with presence.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    contacts: BTreeMap<String, ContactData>,
    groups: BTreeMap<u32, String>,
}

impl Roster {
    /// Replaces everything with a synchronised list; presence of contacts still on it is kept.
    /// Returns the keys whose data changed (added, removed or different).
    pub fn sync(&mut self, list: &ContactList) -> BTreeSet<String> {
        let mut changed = BTreeSet::new();
        let mut next = BTreeMap::new();
        for (key, entry) in list.contacts.iter().filter(|(_, e)| e.forward) {
            let key = account_key(key);
            let mut data = ContactData::from_entry(entry);
            if let Some(old) = self.contacts.get(&key) {
                data.presence_name = old.presence_name.clone();
                data.status = old.status.clone();
                data.refresh_keys();
                if *old != data {
                    changed.insert(key.clone());
                }
            } else {
                changed.insert(key.clone());
            }
            next.insert(key, data);
        }
        for key in self.contacts.keys() {
            if !next.contains_key(key) {
                changed.insert(key.clone());
            }
        }
        self.contacts = next;
        self.groups = list.groups.clone();
        changed
    }

    /// Applies a changed list entry; returns whether the roster changed.
    pub fn update_entry(&mut self, entry: &ContactEntry) -> bool {
        let key = account_key(&entry.account);
        if !entry.forward {
            return self.contacts.remove(&key).is_some();
        }
        match self.contacts.get_mut(&key) {
            Some(c) => {
                let before = c.clone();
                c.nick = entry.name.clone();
                c.blocked = entry.block;
                c.set_groups(&entry.groups);
                c.refresh_keys();
                *c != before
            }
            None => {
                self.contacts.insert(key, ContactData::from_entry(entry));
                true
            }
        }
    }

    /// Removes a contact; returns whether it was there.
    pub fn remove(&mut self, account: &str) -> bool {
        self.contacts.remove(&account_key(account)).is_some()
    }

    /// Replaces the groups.
    pub fn set_groups(&mut self, groups: &[(u32, String)]) {
        self.groups = groups.iter().cloned().collect();
    }

    /// Sets a contact's presence. Returns `Some(was_online)` when it is on the list and something
    /// changed.
    pub fn set_presence(
        &mut self,
        account: &str,
        status: Status,
        name: Option<&str>,
    ) -> Option<bool> {
        let c = self.contacts.get_mut(&account_key(account))?;
        let was_online = c.is_online();
        let mut changed = c.status != status;
        c.status = status;
        if let Some(name) = name {
            if c.presence_name.as_deref() != Some(name) {
                c.presence_name = Some(name.to_string());
                changed = true;
            }
        }
        if changed {
            c.refresh_keys();
            Some(was_online)
        } else {
            None
        }
    }

    /// Marks everybody offline (signed out or connection lost); returns the keys that changed.
    pub fn all_offline(&mut self) -> BTreeSet<String> {
        let mut changed = BTreeSet::new();
        for (key, c) in self.contacts.iter_mut() {
            if c.status != Status::Offline {
                c.status = Status::Offline;
                changed.insert(key.clone());
            }
        }
        changed
    }

    /// A contact by key (lower-case account) or account.
    pub fn get(&self, account: &str) -> Option<&ContactData> {
        self.contacts.get(&account_key(account))
    }

    /// All contacts, by key.
    pub fn contacts(&self) -> impl Iterator<Item = (&String, &ContactData)> {
        self.contacts.iter()
    }

    /// Number of contacts.
    pub fn len(&self) -> usize {
        self.contacts.len()
    }

    /// Whether there are no contacts.
    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty()
    }

    /// Number of contacts online.
    pub fn online_count(&self) -> usize {
        self.contacts.values().filter(|c| c.is_online()).count()
    }

    /// The name of a group.
    pub fn group_name(&self, id: u32) -> String {
        match self.groups.get(&id) {
            // The server's English name of group 0 is shown translated.
            Some(n) if !(n.trim().is_empty() || id == 0 && n == "Other Contacts") => n.clone(),
            _ if id == 0 => gettext("Other Contacts"),
            _ => gettext("Unnamed Group"),
        }
    }

    /// The rows to show, and the figures of every group that has a header among them.
    ///
    /// Groups are ordered by name with "Other Contacts" (group 0) last; contacts within a group
    /// by presence rank, then name, then address. While searching, groups without a match are
    /// left out; otherwise every group is shown, empty ones included. Collapsed groups show their
    /// header only.
    pub fn layout(
        &self,
        filter: &Filter,
        collapsed: &BTreeSet<u32>,
    ) -> (Vec<Row>, Vec<GroupSummary>) {
        let needle = filter.text.trim().to_lowercase();
        let mut members: HashMap<u32, Vec<(&String, &ContactData)>> = HashMap::new();
        let mut summaries: BTreeMap<u32, GroupSummary> = BTreeMap::new();
        for id in self.groups.keys().copied().chain(std::iter::once(0)) {
            summaries.entry(id).or_insert_with(|| GroupSummary {
                id,
                name: self.group_name(id),
                online: 0,
                total: 0,
            });
        }
        for (key, c) in &self.contacts {
            for &g in &c.groups {
                let g = if self.groups.contains_key(&g) { g } else { 0 };
                let s = summaries.entry(g).or_insert_with(|| GroupSummary {
                    id: g,
                    name: self.group_name(g),
                    online: 0,
                    total: 0,
                });
                s.total += 1;
                if c.is_online() {
                    s.online += 1;
                }
                if (filter.show_offline || c.is_online() || !needle.is_empty())
                    && c.matches(&needle)
                {
                    members.entry(g).or_default().push((key, c));
                }
            }
        }
        let mut order: Vec<&GroupSummary> = summaries.values().collect();
        order.sort_by(|a, b| {
            (a.id == 0)
                .cmp(&(b.id == 0))
                .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
                .then(a.id.cmp(&b.id))
        });
        let mut rows = Vec::with_capacity(self.contacts.len() + order.len());
        let mut shown = Vec::new();
        for s in order {
            let list = members.remove(&s.id).unwrap_or_default();
            if !needle.is_empty() && list.is_empty() {
                continue;
            }
            // Group 0 only matters when somebody is in it.
            if s.id == 0 && s.total == 0 {
                continue;
            }
            rows.push(Row::Group(s.id));
            shown.push(s.clone());
            if collapsed.contains(&s.id) && needle.is_empty() {
                continue;
            }
            let mut list = list;
            list.sort_by(|(ka, a), (kb, b)| {
                presence::rank(&a.status)
                    .cmp(&presence::rank(&b.status))
                    .then_with(|| a.sort_name.cmp(&b.sort_name))
                    .then_with(|| ka.cmp(kb))
            });
            rows.extend(list.into_iter().map(|(key, _)| Row::Contact {
                group: s.id,
                key: key.clone(),
            }));
        }
        (rows, shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use msnp::proto::command::List;

    fn list() -> ContactList {
        let mut l = ContactList::default();
        l.groups.insert(0, "Other Contacts".into());
        l.groups.insert(1, "Work".into());
        l.groups.insert(2, "Friends".into());
        l.add(List::Forward, "zed@example.com", "Zed", Some(2));
        l.add(List::Forward, "amy@example.com", "amy", Some(2));
        l.add(List::Forward, "Bob@Example.com", "Bob", Some(2));
        l.add(List::Forward, "bob@example.com", "Bob", Some(1));
        l.add(List::Forward, "carol@example.com", "Carol", None);
        l.add(List::Reverse, "stranger@example.com", "Stranger", None);
        l
    }

    fn contacts(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|r| match r {
                Row::Group(g) => format!("#{g}"),
                Row::Contact { key, .. } => key.clone(),
            })
            .collect()
    }

    #[test]
    fn groups_by_name_then_other_contacts_and_sorts_by_presence_then_name() {
        let mut r = Roster::default();
        r.sync(&list());
        assert_eq!(r.len(), 4, "reverse-list-only entries are not contacts");
        r.set_presence("zed@example.com", Status::Online, Some("Zed"));
        r.set_presence("bob@example.com", Status::Away, None);
        let (rows, groups) = r.layout(&Filter::default(), &BTreeSet::new());
        assert_eq!(
            contacts(&rows),
            [
                "#2",
                "zed@example.com",
                "bob@example.com",
                "amy@example.com",
                "#1",
                "bob@example.com",
                "#0",
                "carol@example.com"
            ]
        );
        assert_eq!(groups[0].name, "Friends");
        assert_eq!((groups[0].online, groups[0].total), (2, 3));
        assert_eq!((groups[1].online, groups[1].total), (1, 1));
        assert_eq!((groups[2].online, groups[2].total), (0, 1));
    }

    #[test]
    fn hiding_offline_keeps_headers_and_counts() {
        let mut r = Roster::default();
        r.sync(&list());
        r.set_presence("amy@example.com", Status::Busy, None);
        let filter = Filter {
            text: String::new(),
            show_offline: false,
        };
        let (rows, groups) = r.layout(&filter, &BTreeSet::new());
        assert_eq!(contacts(&rows), ["#2", "amy@example.com", "#1", "#0"]);
        assert_eq!((groups[0].online, groups[0].total), (1, 3));
    }

    #[test]
    fn search_matches_names_and_addresses_case_insensitively_and_drops_empty_groups() {
        let mut r = Roster::default();
        r.sync(&list());
        let by_name = Filter {
            text: "  CAR ".into(),
            show_offline: false,
        };
        let (rows, _) = r.layout(&by_name, &BTreeSet::new());
        assert_eq!(contacts(&rows), ["#0", "carol@example.com"]);
        let by_address = Filter {
            text: "example.COM".into(),
            show_offline: true,
        };
        assert_eq!(r.layout(&by_address, &BTreeSet::new()).0.len(), 8);
        let nothing = Filter {
            text: "nobody".into(),
            show_offline: true,
        };
        assert!(r.layout(&nothing, &BTreeSet::new()).0.is_empty());
    }

    #[test]
    fn collapsed_groups_show_only_their_header() {
        let mut r = Roster::default();
        r.sync(&list());
        let collapsed = BTreeSet::from([2]);
        let (rows, _) = r.layout(&Filter::default(), &collapsed);
        assert_eq!(
            contacts(&rows),
            ["#2", "#1", "bob@example.com", "#0", "carol@example.com"]
        );
    }

    #[test]
    fn presence_names_win_over_nicknames_and_reorder() {
        let mut r = Roster::default();
        r.sync(&list());
        assert_eq!(r.get("ZED@example.com").unwrap().display_name(), "Zed");
        assert_eq!(
            r.set_presence("zed@example.com", Status::Online, Some("Aardvark")),
            Some(false)
        );
        assert_eq!(
            r.set_presence("zed@example.com", Status::Online, Some("Aardvark")),
            None
        );
        let (rows, _) = r.layout(&Filter::default(), &BTreeSet::new());
        assert_eq!(contacts(&rows)[1], "zed@example.com");
        assert_eq!(
            r.set_presence("nobody@example.com", Status::Online, None),
            None
        );
    }

    #[test]
    fn resync_keeps_presence_and_reports_changes() {
        let mut r = Roster::default();
        r.sync(&list());
        r.set_presence("amy@example.com", Status::Online, Some("Amy!"));
        let mut l = list();
        l.remove(List::Forward, "zed@example.com", None);
        let changed = r.sync(&l);
        assert_eq!(changed, BTreeSet::from(["zed@example.com".to_string()]));
        assert_eq!(r.get("amy@example.com").unwrap().status, Status::Online);
        assert_eq!(r.all_offline().len(), 1);
        assert_eq!(r.online_count(), 0);
    }

    #[test]
    fn layout_of_five_thousand_contacts_is_fast() {
        let mut l = ContactList::default();
        for g in 1..=10 {
            l.groups.insert(g, format!("Group {g}"));
        }
        for i in 0..5000u32 {
            l.add(
                List::Forward,
                &format!("user{i}@example.com"),
                &format!("User {i}"),
                Some(i % 10 + 1),
            );
        }
        let mut r = Roster::default();
        r.sync(&l);
        for i in (0..5000).step_by(3) {
            r.set_presence(&format!("user{i}@example.com"), Status::Online, None);
        }
        let t = std::time::Instant::now();
        let (rows, groups) = r.layout(&Filter::default(), &BTreeSet::new());
        let took = t.elapsed();
        assert_eq!(rows.len(), 5010);
        assert_eq!(groups.iter().map(|g| g.total).sum::<u32>(), 5000);
        assert!(took < std::time::Duration::from_millis(500), "{took:?}");
    }
}
