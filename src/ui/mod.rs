//! Widgets, one per file, each with its `resources/ui/*.ui` template.

pub mod a11y;
pub mod add_contact_dialog;
pub mod chat_window;
pub mod contact_actions;
pub mod contact_details;
pub mod contact_list_page;
pub mod contact_row;
pub mod group_row;
pub mod history_window;
pub mod message_row;
pub mod preferences;
pub mod sign_in_page;
pub mod transfer_row;
pub mod transfers;
pub mod urgency;
pub mod window;

pub use add_contact_dialog::MpAddContactDialog;
pub use chat_window::MpChatWindow;
pub use contact_list_page::MpContactListPage;
pub use history_window::MpHistoryWindow;
pub use preferences::MpPreferencesWindow;
pub use sign_in_page::MpSignInPage;
pub use window::MpWindow;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod history_bench;
#[cfg(test)]
mod smoke_tests;
