//! R6–R7: which remote calendars can be linked (and which can be the
//! primary one), and a valid selection.

use crate::store::RemoteKind;

/// Why a remote calendar cannot be connected (R6), if it cannot.
pub fn refusal(kind: &RemoteKind) -> Option<&'static str> {
    match kind {
        RemoteKind::Events => None,
        RemoteKind::Reminders => Some("a reminders list (VTODO only), not a calendar"),
        RemoteKind::Subscribed { .. } => Some(
            "a subscribed (webcal) calendar: iCloud does not hold its events, so it cannot be \
             connected as an iCloud calendar; add its URL as an ICS source instead \
             (calproxy connect --ics URL --name NAME)",
        ),
    }
}

/// Why a calendar cannot be the primary one (R1: system events are written
/// into it), if it cannot: a read-only calendar (shared read-only, or an
/// ICS feed) can only block time, as a conflict calendar.
pub fn primary_refusal(read_only: bool) -> Option<&'static str> {
    read_only.then_some(
        "it is read-only (a calendar shared read-only, or an ICS feed); choose it as a conflict calendar",
    )
}

/// A selection problem (R7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectionProblem {
    /// The same calendar is both primary and a conflict calendar.
    PrimaryAlsoConflict,
    /// A calendar is listed twice.
    Duplicate,
}

/// Checks a user's choice: one primary, distinct conflict calendars (R7).
pub fn check_selection<T: PartialEq>(
    primary: Option<&T>,
    conflicts: &[T],
) -> Result<(), SelectionProblem> {
    if let Some(p) = primary {
        if conflicts.contains(p) {
            return Err(SelectionProblem::PrimaryAlsoConflict);
        }
    }
    for (i, c) in conflicts.iter().enumerate() {
        if conflicts[..i].contains(c) {
            return Err(SelectionProblem::Duplicate);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r6_subscribed_and_reminders_are_refused() {
        assert!(refusal(&RemoteKind::Events).is_none());
        assert!(refusal(&RemoteKind::Reminders).is_some());
        let why = refusal(&RemoteKind::Subscribed { source: None }).unwrap();
        assert!(why.contains("webcal") && why.contains("--ics"), "{why}");
    }

    #[test]
    fn r1_a_read_only_calendar_cannot_be_primary() {
        assert!(primary_refusal(false).is_none());
        assert!(primary_refusal(true).unwrap().contains("conflict"));
    }

    #[test]
    fn r7_primary_cannot_also_be_a_conflict() {
        assert_eq!(
            check_selection(Some(&1), &[1, 2]),
            Err(SelectionProblem::PrimaryAlsoConflict)
        );
        assert_eq!(
            check_selection(None, &[2, 2]),
            Err(SelectionProblem::Duplicate)
        );
        assert!(check_selection(Some(&1), &[2, 3]).is_ok());
    }
}
