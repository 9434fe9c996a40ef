//! Automatic Idle: go to `IDL` after a while without input and come back when input returns,
//! never replacing a status the user chose to say they are away. Pure: fed idle times.

use std::time::Duration;

use msnp::proto::command::Status;

/// Decides when to switch to Idle and back.
#[derive(Debug, Clone)]
pub struct AutoIdle {
    /// Input-free time after which the status becomes Idle (zero: never).
    pub threshold: Duration,
    /// The status to restore, while Idle was set automatically.
    restore: Option<Status>,
}

impl AutoIdle {
    /// A tracker with the given threshold.
    pub fn new(threshold: Duration) -> Self {
        AutoIdle {
            threshold,
            restore: None,
        }
    }

    /// Whether Idle is currently set automatically.
    pub fn is_auto_idle(&self) -> bool {
        self.restore.is_some()
    }

    /// The user chose a status: forget any automatic Idle.
    pub fn user_chose(&mut self) {
        self.restore = None;
    }

    /// Feeds the current input-free time and own status; returns the status to set, if any.
    pub fn update(&mut self, idle_for: Duration, current: &Status) -> Option<Status> {
        match &self.restore {
            None => {
                let eligible =
                    matches!(current, Status::Online | Status::Busy | Status::OnThePhone);
                if eligible && !self.threshold.is_zero() && idle_for >= self.threshold {
                    self.restore = Some(current.clone());
                    Some(Status::Idle)
                } else {
                    None
                }
            }
            Some(previous) => {
                if idle_for >= self.threshold && !self.threshold.is_zero() {
                    return None;
                }
                let previous = previous.clone();
                self.restore = None;
                // Somebody (the user, another session) changed it meanwhile: leave it.
                (*current == Status::Idle).then_some(previous)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn goes_idle_after_the_threshold_and_comes_back() {
        let mut a = AutoIdle::new(5 * MIN);
        assert_eq!(a.update(4 * MIN, &Status::Online), None);
        assert_eq!(a.update(5 * MIN, &Status::Online), Some(Status::Idle));
        assert!(a.is_auto_idle());
        assert_eq!(a.update(6 * MIN, &Status::Idle), None);
        assert_eq!(
            a.update(Duration::from_secs(1), &Status::Idle),
            Some(Status::Online)
        );
        assert!(!a.is_auto_idle());
    }

    #[test]
    fn restores_busy() {
        let mut a = AutoIdle::new(MIN);
        assert_eq!(a.update(MIN, &Status::Busy), Some(Status::Idle));
        assert_eq!(a.update(Duration::ZERO, &Status::Idle), Some(Status::Busy));
    }

    #[test]
    fn never_replaces_away_like_or_hidden_statuses() {
        let mut a = AutoIdle::new(MIN);
        for s in [
            Status::Away,
            Status::BeRightBack,
            Status::OutToLunch,
            Status::Hidden,
            Status::Offline,
        ] {
            assert_eq!(a.update(10 * MIN, &s), None, "{s:?}");
        }
    }

    #[test]
    fn a_manual_change_while_idle_is_kept() {
        let mut a = AutoIdle::new(MIN);
        a.update(MIN, &Status::Online);
        assert_eq!(a.update(Duration::ZERO, &Status::Away), None);
        let mut b = AutoIdle::new(MIN);
        b.update(MIN, &Status::Online);
        b.user_chose();
        assert_eq!(b.update(Duration::ZERO, &Status::Idle), None);
    }

    #[test]
    fn zero_threshold_disables() {
        let mut a = AutoIdle::new(Duration::ZERO);
        assert_eq!(a.update(100 * MIN, &Status::Online), None);
    }
}
