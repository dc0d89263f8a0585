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

/// A [`UserRow`] from a query record that has its columns (and maybe more).
macro_rules! user_row {
    ($r:ident) => {
        $crate::accounts::UserRow {
            id: $r.id,
            email: $r.email,
            name: $r.name,
            role: $r.role,
            disabled_at: $r.disabled_at,
            created_at: $r.created_at,
            time_zone: $r.time_zone,
        }
    };
}
pub(super) use user_row;
