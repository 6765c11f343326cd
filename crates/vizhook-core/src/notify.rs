//! Alert grouping for `vizhook receive`, as pure decisions: whether a routed event notifies its
//! receiver now, repeats later, or is suppressed, and when a success "recovers" an earlier
//! failure. The store applies [`decide`] inside the transaction that stores the event, so the
//! state survives restarts and two concurrent events of one group cannot both notify.

use std::time::Duration;

use time::OffsetDateTime;

/// What a routed event asks of its receiver's group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// An ordinary match: notify, unless the group notified within its repeat interval.
    Fire,
    /// A success that may recover a failing group: notify only if the group is firing.
    Resolve,
}

/// What a receiver is told, when it is told anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The first notification of a group (or the first after it recovered or its repeat
    /// interval ran out).
    Firing,
    /// The group recovered.
    Resolved,
}

impl Notice {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "firing" => Some(Self::Firing),
            "resolved" => Some(Self::Resolved),
            _ => None,
        }
    }
}

/// The remembered state of one group of one receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupState {
    /// Whether the group has fired since it last recovered.
    pub firing: bool,
    /// When the group last notified its receiver.
    pub last_notified: Option<OffsetDateTime>,
}

/// Decides one routed event for one group: the notice to send (if any) and the group's new
/// state. `repeat_interval` zero means every event notifies.
pub fn decide(
    intent: Intent,
    state: Option<GroupState>,
    repeat_interval: Duration,
    now: OffsetDateTime,
) -> (Option<Notice>, GroupState) {
    let state = state.unwrap_or(GroupState {
        firing: false,
        last_notified: None,
    });
    match intent {
        Intent::Fire => {
            let quiet = !repeat_interval.is_zero()
                && state.firing
                && state
                    .last_notified
                    .is_some_and(|at| quiet_until(at, repeat_interval).is_none_or(|end| now < end));
            if quiet {
                (
                    None,
                    GroupState {
                        firing: true,
                        ..state
                    },
                )
            } else {
                let state = GroupState {
                    firing: true,
                    last_notified: Some(now),
                };
                (Some(Notice::Firing), state)
            }
        }
        Intent::Resolve if state.firing => (
            Some(Notice::Resolved),
            GroupState {
                firing: false,
                last_notified: Some(now),
            },
        ),
        Intent::Resolve => (None, state),
    }
}

/// When a group that notified at `at` may notify again; `None` when that is beyond the
/// calendar (an interval meant as "never repeat").
fn quiet_until(at: OffsetDateTime, repeat_interval: Duration) -> Option<OffsetDateTime> {
    time::Duration::try_from(repeat_interval)
        .ok()
        .and_then(|interval| at.checked_add(interval))
}

/// The failure a success recovers: `DatasourceRefreshSucceeded` → `DatasourceRefreshFailed`,
/// and so for any `…Succeeded` event type (also the legacy `…-refresh-succeeded` names).
pub fn failure_of(event_type: &str) -> Option<String> {
    if let Some(stem) = event_type.strip_suffix("Succeeded") {
        return Some(format!("{stem}Failed"));
    }
    event_type
        .strip_suffix("-succeeded")
        .map(|stem| format!("{stem}-failed"))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);
    const HOUR: Duration = Duration::from_secs(3600);

    fn at(minutes: i64) -> OffsetDateTime {
        T0 + time::Duration::minutes(minutes)
    }

    /// Runs a sequence of (minute, intent) through one group; returns the notices.
    fn run(repeat: Duration, steps: &[(i64, Intent)]) -> Vec<Option<Notice>> {
        let mut state = None;
        steps
            .iter()
            .map(|(minute, intent)| {
                let (notice, next) = decide(*intent, state, repeat, at(*minute));
                state = Some(next);
                notice
            })
            .collect()
    }

    #[test]
    fn table() {
        use Intent::*;
        use Notice::*;
        type Case<'a> = (&'a str, Duration, &'a [(i64, Intent)], &'a [Option<Notice>]);
        let cases: &[Case<'_>] = &[
            (
                "no repeat interval: every event notifies",
                Duration::ZERO,
                &[(0, Fire), (1, Fire)],
                &[Some(Firing), Some(Firing)],
            ),
            (
                "failing every five minutes pages once an hour",
                HOUR,
                &[(0, Fire), (5, Fire), (55, Fire), (60, Fire), (65, Fire)],
                &[Some(Firing), None, None, Some(Firing), None],
            ),
            (
                "recovery after a failure",
                HOUR,
                &[(0, Fire), (10, Resolve)],
                &[Some(Firing), Some(Resolved)],
            ),
            (
                "recovery only once",
                HOUR,
                &[(0, Fire), (10, Resolve), (20, Resolve)],
                &[Some(Firing), Some(Resolved), None],
            ),
            (
                "no recovery without a failure",
                HOUR,
                &[(0, Resolve)],
                &[None],
            ),
            (
                "a failure after recovery pages at once",
                HOUR,
                &[(0, Fire), (10, Resolve), (11, Fire)],
                &[Some(Firing), Some(Resolved), Some(Firing)],
            ),
            (
                "suppressed repeats still recover",
                HOUR,
                &[(0, Fire), (5, Fire), (6, Resolve)],
                &[Some(Firing), None, Some(Resolved)],
            ),
        ];
        for (name, repeat, steps, expected) in cases {
            assert_eq!(run(*repeat, steps), *expected, "{name}");
        }
    }

    #[test]
    fn failures_of_successes() {
        assert_eq!(
            failure_of("DatasourceRefreshSucceeded").as_deref(),
            Some("DatasourceRefreshFailed")
        );
        assert_eq!(
            failure_of("workbook-refresh-succeeded").as_deref(),
            Some("workbook-refresh-failed")
        );
        assert_eq!(failure_of("WorkbookCreated"), None);
        assert_eq!(
            Notice::parse(Notice::Resolved.as_str()),
            Some(Notice::Resolved)
        );
    }
}
