//! An email subscriber and where it stands.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::platform::labelled_enum;

labelled_enum!(
    /// Where an address stands: nothing but the confirmation reaches it before it is
    /// confirmed, and nothing at all once the mail server refused it for good.
    EmailState, "email_subscriber_state" {
        Unconfirmed => "unconfirmed", "Waiting for confirmation";
        Confirmed => "confirmed", "Confirmed";
        Bounced => "bounced", "Bounced";
    }
);

labelled_enum!(
    /// Where a subscriber came from.
    EmailSource, "text" {
        Public => "public", "Status page";
        Admin => "admin", "Added by an admin";
        Api => "api", "API";
        Import => "import", "Imported";
    }
);

#[derive(Debug, Clone)]
pub struct EmailSubscriberRow {
    pub id: Uuid,
    pub email: String,
    pub state: EmailState,
    /// Empty: everything.
    pub component_ids: Vec<Uuid>,
    pub confirm_sent_at: Option<OffsetDateTime>,
    pub confirm_expires_at: Option<OffsetDateTime>,
    pub confirmed_at: Option<OffsetDateTime>,
    pub bounced_at: Option<OffsetDateTime>,
    pub bounce_reason: Option<String>,
    pub source: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// How long a confirmation link works; the address is forgotten after that.
pub const CONFIRM_FOR: time::Duration = time::Duration::hours(48);

/// Confirmation emails (or "already subscribed" notes) one address gets a day.
pub const MAILS_PER_ADDRESS_PER_DAY: i64 = 3;

/// Public subscribe attempts one network makes an hour.
pub const ATTEMPTS_PER_NETWORK_PER_HOUR: i64 = 10;
