//! Models: plain data and reducers (`roster`, `account`, `idle`, `presence`: no GTK, tested
//! without a display) and the GObjects the views bind to (`contact`, `group`, `contact_list`,
//! `conversation`, `message`, `transfer`).

pub mod account;
pub mod contact;
pub mod contact_list;
pub mod conversation;
pub mod group;
pub mod idle;
pub mod list_ops;
pub mod message;
pub mod presence;
pub mod rich_text;
pub mod roster;
pub mod transfer;

pub use contact::MpContact;
pub use contact_list::ContactListModel;
pub use group::MpGroup;
