//! The list model the contact list view shows: a flattened `gio::ListStore` of group headers
//! ([`MpGroup`]) and contacts ([`MpContact`]), laid out by [`Roster::layout`]. GTK 4.8 has no
//! list section headers, so headers are items. Every update ends in at most one `splice` (the
//! changed middle between the common prefix and suffix), and presence bursts are debounced.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::time::Duration;

use gtk::gio;
use gtk::glib;
use gtk::prelude::*;

use super::account::AccountState;
use super::roster::{Filter, Row};
use super::{MpContact, MpGroup};

/// How long presence bursts may accumulate before the rows are re-sorted.
pub const RELAYOUT_DELAY: Duration = Duration::from_millis(150);

/// Visible figures after a layout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayoutInfo {
    /// Contact rows shown.
    pub shown: usize,
    /// Contacts on the list.
    pub total: usize,
}

/// Called after every layout.
type LayoutListener = Box<dyn Fn(LayoutInfo)>;

struct Inner {
    state: Rc<RefCell<AccountState>>,
    store: gio::ListStore,
    rows: RefCell<Vec<glib::Object>>,
    contacts: RefCell<HashMap<String, MpContact>>,
    groups: RefCell<HashMap<u32, MpGroup>>,
    filter: RefCell<Filter>,
    collapsed: RefCell<BTreeSet<u32>>,
    pending: Cell<bool>,
    info: Cell<LayoutInfo>,
    listeners: RefCell<Vec<LayoutListener>>,
}

/// The contact list's GTK model, shared by the session bridge and the view.
#[derive(Clone)]
pub struct ContactListModel(Rc<Inner>);

impl ContactListModel {
    /// A model over `state`'s roster.
    pub fn new(state: Rc<RefCell<AccountState>>) -> Self {
        ContactListModel(Rc::new(Inner {
            state,
            store: gio::ListStore::new::<glib::Object>(),
            rows: RefCell::new(Vec::new()),
            contacts: RefCell::new(HashMap::new()),
            groups: RefCell::new(HashMap::new()),
            filter: RefCell::new(Filter::default()),
            collapsed: RefCell::new(BTreeSet::new()),
            pending: Cell::new(false),
            info: Cell::new(LayoutInfo::default()),
            listeners: RefCell::new(Vec::new()),
        }))
    }

    /// The flattened list (items are [`MpGroup`] or [`MpContact`]).
    pub fn store(&self) -> &gio::ListStore {
        &self.0.store
    }

    /// The figures of the last layout.
    pub fn info(&self) -> LayoutInfo {
        self.0.info.get()
    }

    /// Calls `f` after every layout.
    pub fn connect_layout_changed(&self, f: impl Fn(LayoutInfo) + 'static) {
        self.0.listeners.borrow_mut().push(Box::new(f));
    }

    /// The object of a contact, if it is on the list.
    pub fn contact(&self, key: &str) -> Option<MpContact> {
        self.0.contacts.borrow().get(key).cloned()
    }

    /// Applies changed contacts at once (icons, names) and lays out now or soon.
    pub fn apply(&self, changed: &BTreeSet<String>, relayout: bool, now: bool) {
        {
            let state = self.0.state.borrow();
            let mut objects = self.0.contacts.borrow_mut();
            for key in changed {
                match state.roster.get(key) {
                    Some(data) => match objects.get(key) {
                        Some(obj) => obj.update(data),
                        None => {
                            objects.insert(key.clone(), MpContact::new(data));
                        }
                    },
                    None => {
                        objects.remove(key);
                    }
                }
            }
        }
        if relayout {
            if now {
                self.relayout();
            } else {
                self.schedule_relayout();
            }
        }
    }

    /// Lays out after [`RELAYOUT_DELAY`], once for everything that arrives meanwhile.
    pub fn schedule_relayout(&self) {
        if self.0.pending.replace(true) {
            return;
        }
        let weak = Rc::downgrade(&self.0);
        glib::timeout_add_local_once(RELAYOUT_DELAY, move || {
            if let Some(inner) = weak.upgrade() {
                let model = ContactListModel(inner);
                if model.0.pending.get() {
                    model.relayout();
                }
            }
        });
    }

    /// Sets the search text and the offline switch, and lays out at once.
    pub fn set_filter(&self, filter: Filter) {
        if *self.0.filter.borrow() == filter {
            return;
        }
        *self.0.filter.borrow_mut() = filter;
        self.relayout();
    }

    /// The current filter.
    pub fn filter(&self) -> Filter {
        self.0.filter.borrow().clone()
    }

    /// Collapses or expands a group.
    pub fn toggle_group(&self, id: u32) {
        let expanded = {
            let mut c = self.0.collapsed.borrow_mut();
            if !c.remove(&id) {
                c.insert(id);
                false
            } else {
                true
            }
        };
        if let Some(g) = self.0.groups.borrow().get(&id) {
            g.set_expanded(expanded);
        }
        self.relayout();
    }

    /// Recomputes the rows from the roster and splices the difference into the store.
    pub fn relayout(&self) {
        self.0.pending.set(false);
        let state = self.0.state.borrow();
        let (rows, summaries) = state
            .roster
            .layout(&self.0.filter.borrow(), &self.0.collapsed.borrow());
        let mut groups = self.0.groups.borrow_mut();
        for s in &summaries {
            groups
                .entry(s.id)
                .or_insert_with(|| MpGroup::new(s.id))
                .update(s);
        }
        let mut contacts = self.0.contacts.borrow_mut();
        let mut shown = 0;
        let new: Vec<glib::Object> = rows
            .iter()
            .filter_map(|row| match row {
                Row::Group(id) => groups.get(id).map(|g| g.clone().upcast()),
                Row::Contact { key, .. } => {
                    shown += 1;
                    let obj = match contacts.get(key) {
                        Some(o) => o.clone(),
                        None => {
                            let data = state.roster.get(key)?;
                            let o = MpContact::new(data);
                            contacts.insert(key.clone(), o.clone());
                            o
                        }
                    };
                    Some(obj.upcast())
                }
            })
            .collect();
        let info = LayoutInfo {
            shown,
            total: state.roster.len(),
        };
        drop(contacts);
        drop(groups);
        drop(state);
        self.splice_to(new);
        self.0.info.set(info);
        for f in self.0.listeners.borrow().iter() {
            f(info);
        }
    }

    fn splice_to(&self, new: Vec<glib::Object>) {
        let (pos, removed, added) = {
            let old = self.0.rows.borrow();
            let (pos, removed, added) = splice_range(&old, &new);
            (pos, removed, new[added].to_vec())
        };
        if removed > 0 || !added.is_empty() {
            self.0.store.splice(pos as u32, removed as u32, &added);
        }
        *self.0.rows.borrow_mut() = new;
    }
}

/// The smallest single splice turning `old` into `new`: (position, removed count, range of
/// `new` to insert), from the common prefix and suffix.
pub fn splice_range<T: PartialEq>(old: &[T], new: &[T]) -> (usize, usize, std::ops::Range<usize>) {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let room = old.len().min(new.len()) - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(room)
        .take_while(|(a, b)| a == b)
        .count();
    (
        prefix,
        old.len() - prefix - suffix,
        prefix..new.len() - suffix,
    )
}

#[cfg(test)]
mod tests {
    use super::splice_range;

    #[test]
    fn splice_covers_only_the_changed_middle() {
        assert_eq!(splice_range(&[1, 2, 3, 4], &[1, 2, 3, 4]), (4, 0, 4..4));
        assert_eq!(splice_range(&[1, 2, 3, 4], &[1, 3, 2, 4]), (1, 2, 1..3));
        assert_eq!(splice_range::<i32>(&[], &[1, 2]), (0, 0, 0..2));
        assert_eq!(splice_range(&[1, 2], &[]), (0, 2, 0..0));
        assert_eq!(splice_range(&[1, 1, 1], &[1, 1]), (2, 1, 2..2));
        // Moving one item to the front touches the span it crossed.
        assert_eq!(splice_range(&[1, 2, 3, 9], &[9, 1, 2, 3]), (0, 4, 0..4));
    }
}
