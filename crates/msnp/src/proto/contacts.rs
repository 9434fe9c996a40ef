//! The account's contact-list data (notification.md §2–§4): the four lists, groups, settings,
//! phone properties and the list version. Built from a SYN reply and kept current from the
//! replies to list commands; serialisable so a client can cache it between sign-ins.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::command::{AddPrompt, List, Privacy};

/// One person on any of the lists.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContactEntry {
    /// The account (e-mail address).
    pub account: String,
    /// The stored nickname / display name, URL-decoded.
    pub name: String,
    /// On the forward list (you follow them).
    pub forward: bool,
    /// On the allow list.
    pub allow: bool,
    /// On the block list.
    pub block: bool,
    /// On the reverse list (they follow you).
    pub reverse: bool,
    /// Group ids, for forward-list contacts.
    pub groups: Vec<u32>,
    /// Phone and mobile properties from BPR (`PHH`, `PHW`, `PHM`, `MOB`, …), URL-decoded.
    pub phones: BTreeMap<String, String>,
}

impl ContactEntry {
    /// Whether the entry is on `list`.
    pub fn on(&self, list: List) -> bool {
        match list {
            List::Forward => self.forward,
            List::Allow => self.allow,
            List::Block => self.block,
            List::Reverse => self.reverse,
        }
    }

    fn set(&mut self, list: List, value: bool) {
        match list {
            List::Forward => self.forward = value,
            List::Allow => self.allow = value,
            List::Block => self.block = value,
            List::Reverse => self.reverse = value,
        }
    }

    /// A pending "added you" request: on RL but on neither AL nor BL (§2.3).
    pub fn is_pending(&self) -> bool {
        self.reverse && !self.allow && !self.block
    }

    fn is_empty(&self) -> bool {
        !(self.forward || self.allow || self.block || self.reverse)
    }
}

/// The whole contact-list data of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactList {
    /// The list version (0 when nothing is known).
    pub version: u32,
    /// GTC: whether to ask when someone adds you.
    pub add_prompt: AddPrompt,
    /// BLP: the default for people on neither AL nor BL.
    pub privacy: Privacy,
    /// Group id → decoded name.
    pub groups: BTreeMap<u32, String>,
    /// Account (lower-case) → entry.
    pub contacts: BTreeMap<String, ContactEntry>,
    /// Own properties from PRP (`PHH`, `MOB`, …), decoded.
    pub properties: BTreeMap<String, String>,
}

impl Default for ContactList {
    fn default() -> Self {
        ContactList {
            version: 0,
            add_prompt: AddPrompt::Ask,
            privacy: Privacy::AllowAll,
            groups: BTreeMap::new(),
            contacts: BTreeMap::new(),
            properties: BTreeMap::new(),
        }
    }
}

/// The key used for an account in [`ContactList::contacts`]: account names compare
/// case-insensitively.
pub fn account_key(account: &str) -> String {
    account.to_ascii_lowercase()
}

impl ContactList {
    /// The entry for an account, if any.
    pub fn get(&self, account: &str) -> Option<&ContactEntry> {
        self.contacts.get(&account_key(account))
    }

    /// Entries on `list`.
    pub fn on_list(&self, list: List) -> impl Iterator<Item = &ContactEntry> {
        self.contacts.values().filter(move |c| c.on(list))
    }

    /// Pending "added you" requests (§2.3).
    pub fn pending(&self) -> impl Iterator<Item = &ContactEntry> {
        self.contacts.values().filter(|c| c.is_pending())
    }

    /// Puts `account` on `list` (with `group` for FL), creating the entry when needed.
    pub fn add(
        &mut self,
        list: List,
        account: &str,
        name: &str,
        group: Option<u32>,
    ) -> &ContactEntry {
        let entry = self
            .contacts
            .entry(account_key(account))
            .or_insert_with(|| ContactEntry {
                account: account.to_string(),
                name: name.to_string(),
                ..ContactEntry::default()
            });
        entry.set(list, true);
        if list == List::Forward || entry.name.is_empty() {
            entry.name = name.to_string();
        }
        if list == List::Forward {
            let group = group.unwrap_or(0);
            if !entry.groups.contains(&group) {
                entry.groups.push(group);
                entry.groups.sort_unstable();
            }
        }
        entry
    }

    /// Removes `account` from `list` (or only from `group` on FL). Returns the entry as it is
    /// afterwards (`None` once it is on no list).
    pub fn remove(
        &mut self,
        list: List,
        account: &str,
        group: Option<u32>,
    ) -> Option<ContactEntry> {
        let key = account_key(account);
        let entry = self.contacts.get_mut(&key)?;
        match (list, group) {
            (List::Forward, Some(g)) => {
                entry.groups.retain(|&x| x != g);
                if entry.groups.is_empty() {
                    // Removing the last group leaves the contact in group 0 (it stays on the FL).
                    entry.groups.push(0);
                }
            }
            (List::Forward, None) => {
                entry.forward = false;
                entry.groups.clear();
            }
            (list, _) => entry.set(list, false),
        }
        if entry.is_empty() {
            self.contacts.remove(&key);
            return None;
        }
        Some(entry.clone())
    }

    /// Removes a group; its members move to group 0 (the portable behaviour, §4.4).
    pub fn remove_group(&mut self, group: u32) {
        self.groups.remove(&group);
        for c in self.contacts.values_mut() {
            if c.groups.contains(&group) {
                c.groups.retain(|&g| g != group);
                if c.forward && c.groups.is_empty() {
                    c.groups.push(0);
                }
            }
        }
    }

    /// Sets a contact's stored name.
    pub fn rename(&mut self, account: &str, name: &str) {
        if let Some(c) = self.contacts.get_mut(&account_key(account)) {
            c.name = name.to_string();
        }
    }

    /// Sets a contact's phone property.
    pub fn set_phone(&mut self, account: &str, property: &str, value: Option<String>) {
        if let Some(c) = self.contacts.get_mut(&account_key(account)) {
            match value {
                Some(v) => c.phones.insert(property.to_string(), v),
                None => c.phones.remove(property),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_remove_and_pending() {
        let mut l = ContactList::default();
        l.add(List::Forward, "Bob@example.com", "Bob", Some(1));
        l.add(List::Forward, "bob@example.com", "Bob", Some(2));
        assert_eq!(l.get("BOB@example.com").unwrap().groups, vec![1, 2]);
        l.add(List::Reverse, "erin@example.com", "Erin", None);
        assert_eq!(l.pending().count(), 1);
        l.add(List::Allow, "erin@example.com", "Erin", None);
        assert_eq!(l.pending().count(), 0);
        l.remove(List::Forward, "bob@example.com", Some(1));
        assert_eq!(l.get("bob@example.com").unwrap().groups, vec![2]);
        assert!(l.remove(List::Forward, "bob@example.com", None).is_none());
        assert!(l.get("bob@example.com").is_none());
    }

    #[test]
    fn removing_a_group_ungroups_members() {
        let mut l = ContactList::default();
        l.groups.insert(0, "Other Contacts".into());
        l.groups.insert(1, "Friends".into());
        l.add(List::Forward, "bob@example.com", "Bob", Some(1));
        l.remove_group(1);
        assert_eq!(l.get("bob@example.com").unwrap().groups, vec![0]);
        assert!(!l.groups.contains_key(&1));
    }

    #[test]
    fn serde_round_trip() {
        let mut l = ContactList {
            version: 12,
            ..ContactList::default()
        };
        l.add(List::Forward, "bob@example.com", "Bob", Some(1));
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(serde_json::from_str::<ContactList>(&json).unwrap(), l);
    }
}
