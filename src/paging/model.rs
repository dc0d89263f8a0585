//! The types of pages.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::oncall::policies::Step;
use crate::platform::labelled_enum;

labelled_enum!(
    /// Where a page is in its run.
    PageState, "page_state" {
        CountingDown => "counting_down", "Counting down";
        Paging => "paging", "Paging";
        Acknowledged => "acknowledged", "Acknowledged";
        Resolved => "resolved", "Resolved";
        Exhausted => "exhausted", "Nobody answered";
        Muted => "muted", "Muted (acked mode)";
    }
);

impl PageState {
    /// Whether steps may still run.
    pub fn running(self) -> bool {
        matches!(self, PageState::CountingDown | PageState::Paging)
    }
}

/// How someone acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AckVia {
    /// The admin UI (the Alerts page or the group page).
    Web,
    Api,
    Cli,
    /// The signed link in a notification.
    Link,
    /// The monitoring tool acknowledged the alert.
    Source,
    /// In the Pushover app, on the emergency notification.
    Pushover,
}

impl AckVia {
    pub fn as_str(self) -> &'static str {
        match self {
            AckVia::Web => "web",
            AckVia::Api => "api",
            AckVia::Cli => "cli",
            AckVia::Link => "link",
            AckVia::Source => "source",
            AckVia::Pushover => "pushover",
        }
    }

    /// In words, after "acknowledged": "from the link in a notification".
    pub fn words(self) -> &'static str {
        match self {
            AckVia::Web => "in Fireline",
            AckVia::Api => "through the API",
            AckVia::Cli => "from the command line",
            AckVia::Link => "from the link in a notification",
            AckVia::Source => "by the monitoring tool",
            AckVia::Pushover => "in the Pushover app",
        }
    }
}

/// A page as stored, with its group and team as people name them.
#[derive(Debug, Clone)]
pub struct PageRow {
    pub id: Uuid,
    pub number: i64,
    pub alert_group_id: Uuid,
    pub group_number: i64,
    pub group_title: String,
    pub team_id: Option<Uuid>,
    pub team_name: Option<String>,
    pub policy_id: Option<Uuid>,
    pub steps: Vec<Step>,
    pub repeat: i32,
    pub state: PageState,
    pub step_index: i32,
    pub round: i32,
    pub due_at: Option<OffsetDateTime>,
    pub countdown_target: Option<String>,
    pub started_at: OffsetDateTime,
    pub acknowledged_by: Option<Uuid>,
    pub acknowledged_by_name: Option<String>,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub acknowledged_via: Option<String>,
    pub ended_at: Option<OffsetDateTime>,
}

impl PageRow {
    /// How people name it: `PAGE-12`.
    pub fn reference(&self) -> String {
        reference(self.number)
    }

    /// Seconds until the running countdown pages someone.
    pub fn countdown_seconds(&self, now: OffsetDateTime) -> Option<i64> {
        if self.state != PageState::CountingDown {
            return None;
        }
        self.due_at.map(|due| (due - now).whole_seconds().max(0))
    }
}

/// `PAGE-12`
pub fn reference(number: i64) -> String {
    format!("PAGE-{number}")
}

/// One thing a page did.
#[derive(Debug, Clone)]
pub struct PageEventRow {
    pub at: OffsetDateTime,
    pub kind: String,
    pub body: String,
    pub user_id: Option<Uuid>,
}

/// Someone a page reached.
#[derive(Debug, Clone)]
pub struct RecipientRow {
    pub user_id: Uuid,
    pub name: String,
    pub paged_at: OffsetDateTime,
    pub reason: String,
}
