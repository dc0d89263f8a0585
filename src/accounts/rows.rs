//! The user as the other account tables see it: sessions and tokens resolve to one.

use time::OffsetDateTime;
use uuid::Uuid;

use super::model::Role;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub disabled_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// The zone the user chose for the admin UI; `None` follows the browser.
    #[sqlx(default)]
    pub time_zone: Option<String>,
}

impl UserRow {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}
