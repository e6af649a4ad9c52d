//! R6–R7: which remote calendars can be linked, and a valid selection.

use crate::store::RemoteKind;

/// Why a remote calendar cannot be connected (R6), if it cannot.
pub fn refusal(kind: &RemoteKind) -> Option<&'static str> {
    match kind {
        RemoteKind::Events => None,
        RemoteKind::Reminders => Some("a reminders list (VTODO only), not a calendar"),
        RemoteKind::Subscribed { .. } => {
            Some("a subscribed (webcal) calendar: iCloud does not hold its events, so it cannot be connected")
        }
    }
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
        assert!(refusal(&RemoteKind::Subscribed { source: None })
            .unwrap()
            .contains("webcal"));
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
