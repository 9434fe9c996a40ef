//! Models: plain data and reducers (`roster`, `account`, `idle`, `presence`: no GTK, tested
//! without a display) and the GObjects the views bind to (`contact`, `group`, `contact_list`).

pub mod account;
pub mod contact;
pub mod contact_list;
pub mod group;
pub mod idle;
pub mod list_ops;
pub mod presence;
pub mod roster;

pub use contact::MpContact;
pub use contact_list::ContactListModel;
pub use group::MpGroup;
