//! Postmortems and action items: their states, priorities and the due dates priorities
//! imply.

use serde::{Deserialize, Serialize};
use time::{Date, Duration};

use crate::platform::labelled_enum;

labelled_enum!(
    /// Where a postmortem is: written, reviewed, then published.
    PostmortemStatus, "postmortem_status" {
        Draft => "draft", "Draft";
        InReview => "in_review", "In review";
        Published => "published", "Published";
    }
);

labelled_enum!(
    /// How soon an action item must be done.
    ActionPriority, "action_priority" {
        High => "high", "High";
        Medium => "medium", "Medium";
        Low => "low", "Low";
    }
);

impl ActionPriority {
    /// What the priority means, shown where it is chosen.
    pub fn meaning(self) -> &'static str {
        match self {
            ActionPriority::High => "do now, in the current sprint (due in 7 days)",
            ActionPriority::Medium => "backlog (due in 30 days)",
            ActionPriority::Low => "record for future design (no due date)",
        }
    }

    /// The class the admin pages colour it with.
    pub fn css_class(self) -> &'static str {
        match self {
            ActionPriority::High => "prio-high",
            ActionPriority::Medium => "prio-medium",
            ActionPriority::Low => "prio-low",
        }
    }

    /// The due date an item of this priority gets unless someone sets one.
    pub fn default_due(self, today: Date) -> Option<Date> {
        match self {
            ActionPriority::High => Some(today + Duration::days(7)),
            ActionPriority::Medium => Some(today + Duration::days(30)),
            ActionPriority::Low => None,
        }
    }
}

labelled_enum!(
    /// What an action item does about the incident.
    ActionKind, "action_kind" {
        Detective => "detective", "Detective";
        Preventative => "preventative", "Preventative";
        Corrective => "corrective", "Corrective";
        Other => "other", "Other";
    }
);

labelled_enum!(
    /// Where an action item is.
    ActionStatus, "action_status" {
        Open => "open", "Open";
        InProgress => "in_progress", "In progress";
        Done => "done", "Done";
        WontDo => "wont_do", "Won't do";
    }
);

impl ActionStatus {
    pub fn is_finished(self) -> bool {
        matches!(self, ActionStatus::Done | ActionStatus::WontDo)
    }
}

/// Today in UTC: due dates and "overdue" are counted in UTC days.
pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

/// Overdue: not finished, and its due date has passed.
pub fn is_overdue(status: ActionStatus, due_on: Option<Date>, today: Date) -> bool {
    !status.is_finished() && due_on.is_some_and(|due| due < today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn priorities_set_due_dates() {
        let today = date!(2026 - 11 - 22);
        assert_eq!(
            ActionPriority::High.default_due(today),
            Some(date!(2026 - 11 - 29))
        );
        assert_eq!(
            ActionPriority::Medium.default_due(today),
            Some(date!(2026 - 12 - 22))
        );
        assert_eq!(ActionPriority::Low.default_due(today), None);
    }

    #[test]
    fn only_unfinished_items_past_their_date_are_overdue() {
        let today = date!(2026 - 11 - 22);
        let yesterday = Some(date!(2026 - 11 - 21));
        assert!(is_overdue(ActionStatus::Open, yesterday, today));
        assert!(is_overdue(ActionStatus::InProgress, yesterday, today));
        assert!(!is_overdue(ActionStatus::Done, yesterday, today));
        assert!(!is_overdue(ActionStatus::WontDo, yesterday, today));
        assert!(
            !is_overdue(ActionStatus::Open, Some(today), today),
            "due today is not late"
        );
        assert!(!is_overdue(ActionStatus::Open, None, today));
    }
}
