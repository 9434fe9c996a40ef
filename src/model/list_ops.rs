//! The contact-list operations the user asks for (add, remove, block, move…) as the sequences of
//! notification-server requests that carry them out, and the wording of their failures. Pure:
//! tested without GTK or a server.

use msnp::proto::command::List;
use msnp::proto::contacts::ContactEntry;
use msnp::proto::error::ServerError;
use msnp::proto::ns::{NsRequest, OpError};

use crate::i18n::{gettext, gettext_f};

fn add(list: List, account: &str, nick: Option<&str>, group: Option<u32>) -> NsRequest {
    NsRequest::AddContact {
        list,
        account: account.to_string(),
        nick: nick.map(str::to_string),
        group,
    }
}

fn rem(list: List, account: &str, group: Option<u32>) -> NsRequest {
    NsRequest::RemoveContact {
        list,
        account: account.to_string(),
        group,
    }
}

/// Adds `account` to the contact list in `group` (`None`: Other Contacts), then allows them (as
/// the official clients did) unless they are on the block list or already allowed.
pub fn add_contact(
    account: &str,
    group: Option<u32>,
    known: Option<&ContactEntry>,
) -> Vec<NsRequest> {
    let nick = known
        .map(|e| e.name.as_str())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(account);
    let mut out = vec![add(
        List::Forward,
        account,
        Some(nick),
        Some(group.unwrap_or(0)),
    )];
    if !known.is_some_and(|e| e.block || e.allow) {
        out.push(add(List::Allow, account, Some(nick), None));
    }
    out
}

/// Blocks a contact: off the allow list (if there), onto the block list.
pub fn block(entry: &ContactEntry) -> Vec<NsRequest> {
    let mut out = Vec::new();
    if entry.block {
        return out;
    }
    if entry.allow {
        out.push(rem(List::Allow, &entry.account, None));
    }
    out.push(add(List::Block, &entry.account, Some(&entry.name), None));
    out
}

/// Unblocks a contact: off the block list, onto the allow list.
pub fn unblock(entry: &ContactEntry) -> Vec<NsRequest> {
    if !entry.block {
        return Vec::new();
    }
    vec![
        rem(List::Block, &entry.account, None),
        add(List::Allow, &entry.account, Some(&entry.name), None),
    ]
}

/// Removes a contact from the contact list; with `also_block` they are blocked as well.
pub fn remove(entry: &ContactEntry, also_block: bool) -> Vec<NsRequest> {
    let mut out = vec![rem(List::Forward, &entry.account, None)];
    if also_block {
        out.extend(block(entry));
    }
    out
}

/// Moves a contact from group `from` to group `to`: added to the new group first, so the contact
/// is never without a group.
pub fn move_to_group(entry: &ContactEntry, from: u32, to: u32) -> Vec<NsRequest> {
    if from == to || entry.groups.contains(&to) && !entry.groups.contains(&from) {
        return Vec::new();
    }
    let mut out = copy_to_group(entry, to);
    out.push(rem(List::Forward, &entry.account, Some(from)));
    out
}

/// Puts a contact into group `to` as well.
pub fn copy_to_group(entry: &ContactEntry, to: u32) -> Vec<NsRequest> {
    if entry.groups.contains(&to) {
        return Vec::new();
    }
    vec![add(
        List::Forward,
        &entry.account,
        Some(&entry.name),
        Some(to),
    )]
}

/// The contacts of `members` that are in group `group`.
pub fn members_of(group: u32, members: &[ContactEntry]) -> Vec<&ContactEntry> {
    members
        .iter()
        .filter(|e| e.forward && e.groups.contains(&group))
        .collect()
}

/// Deletes group `group` (never group 0). Its members are first taken out of it; those in no
/// other group are moved to Other Contacts, so nobody is lost whatever the server does with
/// the members of a removed group.
pub fn remove_group(group: u32, members: &[ContactEntry]) -> Vec<NsRequest> {
    if group == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for e in members_of(group, members) {
        if e.groups.iter().all(|g| *g == group) {
            out.extend(move_to_group(e, group, 0));
        } else {
            out.push(rem(List::Forward, &e.account, Some(group)));
        }
    }
    out.push(NsRequest::RemoveGroup(group));
    out
}

/// The answer to "X has added you to their contact list".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Allow them to see you, and add them to the contact list.
    AllowAndAdd,
    /// Allow them to see you.
    Allow,
    /// Block them.
    Block,
}

impl Answer {
    /// The name used in action targets.
    pub fn code(self) -> &'static str {
        match self {
            Answer::AllowAndAdd => "allow-add",
            Answer::Allow => "allow",
            Answer::Block => "block",
        }
    }

    /// The answer for an action target.
    pub fn from_code(code: &str) -> Option<Self> {
        [Answer::AllowAndAdd, Answer::Allow, Answer::Block]
            .into_iter()
            .find(|a| a.code() == code)
    }
}

/// Answers a pending "added you" request of `account` (called `name`).
pub fn answer_request(account: &str, name: &str, answer: Answer) -> Vec<NsRequest> {
    let nick = if name.trim().is_empty() {
        account
    } else {
        name
    };
    match answer {
        Answer::AllowAndAdd => vec![
            add(List::Allow, account, Some(nick), None),
            add(List::Forward, account, Some(nick), Some(0)),
        ],
        Answer::Allow => vec![add(List::Allow, account, Some(nick), None)],
        Answer::Block => vec![add(List::Block, account, Some(nick), None)],
    }
}

/// What a failed list request means, in words.
pub fn describe_failure(request: &NsRequest, error: &OpError) -> String {
    let OpError::Server(code) = error else {
        return gettext_f(
            "The change to your contact list failed: {}",
            &[&error.to_string()],
        );
    };
    match request {
        NsRequest::AddContact { list, account, .. } => match (code, list) {
            (ServerError::InvalidParameter, _) | (ServerError::InvalidPrincipalName, _) => {
                gettext_f("“{}” is not a valid e-mail address.", &[account])
            }
            (ServerError::InvalidPrincipal, _) => gettext_f(
                "{} could not be added: there is no MSN account with that address.",
                &[account],
            ),
            (ServerError::ListFull, _) => gettext_f(
                "{} could not be added: your contact list is full. Remove someone first.",
                &[account],
            ),
            (ServerError::AlreadyThere, List::Forward) => {
                gettext_f("{} is already on your contact list.", &[account])
            }
            (ServerError::AlreadyThere, List::Block) => {
                gettext_f("{} is already blocked.", &[account])
            }
            (ServerError::AlreadyThere, _) => {
                gettext_f("{} is already allowed to see you.", &[account])
            }
            (ServerError::OnOppositeList, _) => gettext_f(
                "{} is both allowed and blocked; unblock or block them again.",
                &[account],
            ),
            (ServerError::InvalidGroup, _) | (ServerError::InvalidGroupId, _) => gettext_f(
                "{} could not be added: that group no longer exists.",
                &[account],
            ),
            _ => gettext_f("{} could not be added: {}", &[account, &code.message()]),
        },
        NsRequest::RemoveContact { account, .. } => match code {
            ServerError::NotOnList => gettext_f("{} was not on that list any more.", &[account]),
            ServerError::NotInGroup => gettext_f("{} was not in that group any more.", &[account]),
            _ => gettext_f("{} could not be removed: {}", &[account, &code.message()]),
        },
        NsRequest::AddGroup(name) | NsRequest::RenameGroup { name, .. } => match code {
            ServerError::GroupNameExists => {
                gettext_f("There already is a group called “{}”.", &[name])
            }
            ServerError::GroupNameTooLong => gettext("That group name is too long."),
            ServerError::TooManyGroups => gettext("You cannot have more than 30 groups."),
            _ => code.message(),
        },
        _ => code.message(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(allow: bool, block: bool, groups: &[u32]) -> ContactEntry {
        ContactEntry {
            account: "bob@example.com".into(),
            name: "Bob".into(),
            forward: true,
            allow,
            block,
            groups: groups.to_vec(),
            ..ContactEntry::default()
        }
    }

    #[test]
    fn adding_puts_the_contact_on_fl_then_al() {
        assert_eq!(
            add_contact("new@example.com", Some(2), None),
            [
                add(
                    List::Forward,
                    "new@example.com",
                    Some("new@example.com"),
                    Some(2)
                ),
                add(
                    List::Allow,
                    "new@example.com",
                    Some("new@example.com"),
                    None
                ),
            ]
        );
        assert_eq!(
            add_contact("new@example.com", None, None)[0],
            add(
                List::Forward,
                "new@example.com",
                Some("new@example.com"),
                Some(0)
            )
        );
        // Someone on the block list stays blocked.
        let blocked = entry(false, true, &[]);
        assert_eq!(
            add_contact("bob@example.com", None, Some(&blocked)),
            [add(List::Forward, "bob@example.com", Some("Bob"), Some(0))]
        );
    }

    #[test]
    fn block_is_rem_al_then_add_bl_and_back() {
        let e = entry(true, false, &[0]);
        assert_eq!(
            block(&e),
            [
                rem(List::Allow, "bob@example.com", None),
                add(List::Block, "bob@example.com", Some("Bob"), None),
            ]
        );
        assert_eq!(
            block(&entry(false, false, &[0])),
            [add(List::Block, "bob@example.com", Some("Bob"), None)]
        );
        assert!(block(&entry(false, true, &[0])).is_empty());
        assert_eq!(
            unblock(&entry(false, true, &[0])),
            [
                rem(List::Block, "bob@example.com", None),
                add(List::Allow, "bob@example.com", Some("Bob"), None),
            ]
        );
        assert!(unblock(&e).is_empty());
    }

    #[test]
    fn move_adds_to_the_new_group_before_leaving_the_old() {
        let e = entry(true, false, &[1]);
        assert_eq!(
            move_to_group(&e, 1, 2),
            [
                add(List::Forward, "bob@example.com", Some("Bob"), Some(2)),
                rem(List::Forward, "bob@example.com", Some(1)),
            ]
        );
        assert!(move_to_group(&e, 1, 1).is_empty());
        assert_eq!(
            copy_to_group(&e, 3),
            [add(List::Forward, "bob@example.com", Some("Bob"), Some(3))]
        );
        assert!(copy_to_group(&e, 1).is_empty());
    }

    #[test]
    fn remove_can_also_block() {
        let e = entry(true, false, &[0]);
        assert_eq!(
            remove(&e, false),
            [rem(List::Forward, "bob@example.com", None)]
        );
        assert_eq!(
            remove(&e, true),
            [
                rem(List::Forward, "bob@example.com", None),
                rem(List::Allow, "bob@example.com", None),
                add(List::Block, "bob@example.com", Some("Bob"), None),
            ]
        );
    }

    #[test]
    fn removing_a_group_moves_its_only_members_to_other_contacts_first() {
        let only = entry(true, false, &[2]);
        let mut both = entry(true, false, &[1, 2]);
        both.account = "ann@example.com".into();
        let mut elsewhere = entry(true, false, &[1]);
        elsewhere.account = "cy@example.com".into();
        assert_eq!(
            remove_group(2, &[only, both, elsewhere]),
            [
                add(List::Forward, "bob@example.com", Some("Bob"), Some(0)),
                rem(List::Forward, "bob@example.com", Some(2)),
                rem(List::Forward, "ann@example.com", Some(2)),
                NsRequest::RemoveGroup(2),
            ]
        );
        assert!(remove_group(0, &[]).is_empty());
    }

    #[test]
    fn answering_a_request() {
        assert_eq!(
            answer_request("ann@example.com", "Ann", Answer::AllowAndAdd),
            [
                add(List::Allow, "ann@example.com", Some("Ann"), None),
                add(List::Forward, "ann@example.com", Some("Ann"), Some(0)),
            ]
        );
        assert_eq!(
            answer_request("ann@example.com", "", Answer::Block),
            [add(
                List::Block,
                "ann@example.com",
                Some("ann@example.com"),
                None
            )]
        );
        for a in [Answer::AllowAndAdd, Answer::Allow, Answer::Block] {
            assert_eq!(Answer::from_code(a.code()), Some(a));
        }
    }

    #[test]
    fn add_errors_are_sentences() {
        let req = add(List::Forward, "x@example.com", None, Some(0));
        let say =
            |code: u16| describe_failure(&req, &OpError::Server(ServerError::from_code(code)));
        assert!(say(201).contains("not a valid e-mail address"));
        assert!(say(205).contains("no MSN account"));
        assert!(say(210).contains("full"));
        assert!(say(215).contains("already on your contact list"));
        assert!(say(219).contains("both allowed and blocked"));
        assert!(say(224).contains("group no longer exists"));
        assert!(say(500).starts_with("x@example.com could not be added: "));
        let group = NsRequest::AddGroup("Friends".into());
        assert!(
            describe_failure(&group, &OpError::Server(ServerError::GroupNameExists))
                .contains("“Friends”")
        );
        assert!(describe_failure(&req, &OpError::Timeout).contains("did not answer"));
    }
}
