//! How presence statuses are ranked, named and drawn (pure: no GTK).

use msnp::proto::command::Status;

use crate::i18n::gettext;

/// The statuses offered in the status menus, in menu order.
pub const CHOOSABLE: [Status; 7] = [
    Status::Online,
    Status::Busy,
    Status::BeRightBack,
    Status::Away,
    Status::OnThePhone,
    Status::OutToLunch,
    Status::Hidden,
];

/// Sort rank of a contact's status: available first, then busy, then away-like, then offline.
pub fn rank(status: &Status) -> u8 {
    match status {
        Status::Online | Status::Other(_) => 0,
        Status::Busy | Status::OnThePhone => 1,
        Status::Idle | Status::BeRightBack | Status::Away | Status::OutToLunch => 2,
        Status::Hidden | Status::Offline => 3,
    }
}

/// The translated name of a status.
pub fn label(status: &Status) -> String {
    match status {
        Status::Online | Status::Other(_) => gettext("Online"),
        Status::Busy => gettext("Busy"),
        Status::Idle => gettext("Idle"),
        Status::BeRightBack => gettext("Be Right Back"),
        Status::Away => gettext("Away"),
        Status::OnThePhone => gettext("On the Phone"),
        Status::OutToLunch => gettext("Out to Lunch"),
        Status::Hidden => gettext("Appear Offline"),
        Status::Offline => gettext("Offline"),
    }
}

/// The themed icon (from the embedded resources) drawn for a status.
pub fn icon_name(status: &Status) -> &'static str {
    match status {
        Status::Online | Status::Other(_) => "mp-status-online",
        Status::Busy => "mp-status-busy",
        Status::OnThePhone => "mp-status-phone",
        Status::Idle => "mp-status-idle",
        Status::BeRightBack | Status::Away | Status::OutToLunch => "mp-status-away",
        Status::Hidden => "mp-status-hidden",
        Status::Offline => "mp-status-offline",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_order_available_busy_away_offline() {
        assert!(rank(&Status::Online) < rank(&Status::Busy));
        assert!(rank(&Status::OnThePhone) < rank(&Status::Away));
        assert!(rank(&Status::Idle) < rank(&Status::Offline));
        assert_eq!(rank(&Status::Other("XYZ".into())), rank(&Status::Online));
    }

    #[test]
    fn every_choosable_status_is_settable_and_has_an_icon() {
        for s in CHOOSABLE {
            assert!(s.is_settable(), "{s:?}");
            assert!(icon_name(&s).starts_with("mp-status-"));
            assert!(!label(&s).is_empty());
        }
    }
}
