//! Contact methods: how a person is reached, and which urgencies reach each method. The
//! commands check each kind's settings and write an audit entry, for every front door.

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::alerts::AlertUrgency;
use crate::platform::audit::{self, AuditAction};
use crate::platform::command::CommandError;
use crate::platform::labelled_enum;
use crate::platform::text;

labelled_enum!(
    /// How a person is reached.
    ContactKind, "contact_kind" {
        Email => "email", "Email";
        Ntfy => "ntfy", "ntfy push";
        Pushover => "pushover", "Pushover";
        TwilioSms => "twilio_sms", "SMS (Twilio)";
        Slack => "slack", "Slack";
        Mattermost => "mattermost", "Mattermost";
        Discord => "discord", "Discord";
        Matrix => "matrix", "Matrix";
        Webhook => "webhook", "Webhook";
    }
);

/// A kind's settings, as stored (`contact_methods.settings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactSettings {
    /// email
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// ntfy: the server (default `https://ntfy.sh`) and topic, and a token for protected
    /// servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Pushover
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_key: Option<String>,
    /// Twilio SMS, E.164 (`+4915112345678`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Slack, Mattermost, Discord incoming webhook; or a generic webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Matrix
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homeserver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// Generic webhook: the `whsec_` secret it is signed with (made when it is added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl ContactSettings {
    /// The settings without secrets, as front doors show them.
    pub fn shown(&self) -> ContactSettings {
        let hide = |s: &Option<String>| s.as_ref().map(|_| "••••".to_owned());
        ContactSettings {
            token: hide(&self.token),
            access_token: hide(&self.access_token),
            secret: hide(&self.secret),
            ..self.clone()
        }
    }
}

/// Whose a contact method is: a person's, or a team's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    User(Uuid),
    Team(Uuid),
}

/// A contact method as stored.
#[derive(Debug, Clone)]
pub struct ContactRow {
    pub id: Uuid,
    /// The person it reaches; `None` for a team's channel.
    pub user_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub kind: ContactKind,
    pub settings: ContactSettings,
    pub urgencies: Vec<AlertUrgency>,
    pub label: Option<String>,
    pub failure: Option<String>,
    pub failed_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

struct Stored {
    id: Uuid,
    user_id: Option<Uuid>,
    team_id: Option<Uuid>,
    kind: ContactKind,
    settings: serde_json::Value,
    urgencies: Vec<AlertUrgency>,
    label: Option<String>,
    failure: Option<String>,
    failed_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

impl From<Stored> for ContactRow {
    fn from(s: Stored) -> Self {
        ContactRow {
            settings: serde_json::from_value(s.settings).unwrap_or_default(),
            id: s.id,
            user_id: s.user_id,
            team_id: s.team_id,
            kind: s.kind,
            urgencies: s.urgencies,
            label: s.label,
            failure: s.failure,
            failed_at: s.failed_at,
            created_at: s.created_at,
        }
    }
}

macro_rules! contact_rows {
    ($after:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Stored,
            r#"SELECT id, user_id, team_id, kind AS "kind: ContactKind", settings,
                      urgencies AS "urgencies: Vec<AlertUrgency>", label, failure, failed_at,
                      created_at
               FROM contact_methods "# + $after
            $(, $arg)*
        )
    };
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<ContactRow>> {
    Ok(contact_rows!("WHERE id = $1", id)
        .fetch_optional(db)
        .await?
        .map(ContactRow::from))
}

/// A person's contact methods, or a team's channels, oldest first.
pub async fn of_owner(db: impl PgExecutor<'_>, owner: Owner) -> sqlx::Result<Vec<ContactRow>> {
    let (user, team) = match owner {
        Owner::User(id) => (Some(id), None),
        Owner::Team(id) => (None, Some(id)),
    };
    let rows = contact_rows!(
        "WHERE user_id IS NOT DISTINCT FROM $1 AND team_id IS NOT DISTINCT FROM $2
         ORDER BY created_at, id",
        user,
        team
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(ContactRow::from).collect())
}

/// The team's channels that `urgency` reaches.
pub async fn team_channels(
    db: impl PgExecutor<'_>,
    team_id: Uuid,
    urgency: AlertUrgency,
) -> sqlx::Result<Vec<ContactRow>> {
    let rows = contact_rows!(
        "WHERE team_id = $1 AND $2 = ANY(urgencies) ORDER BY created_at, id",
        team_id,
        urgency as AlertUrgency
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(ContactRow::from).collect())
}

/// The contact methods of `user_ids` that `urgency` reaches.
pub async fn reaching(
    db: impl PgExecutor<'_>,
    user_ids: &[Uuid],
    urgency: AlertUrgency,
) -> sqlx::Result<Vec<ContactRow>> {
    let rows = contact_rows!(
        "WHERE user_id = ANY($1) AND $2 = ANY(urgencies) ORDER BY user_id, created_at, id",
        user_ids,
        urgency as AlertUrgency
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(ContactRow::from).collect())
}

/// A contact method as a front door gives it.
#[derive(Debug, Clone)]
pub struct NewContact {
    pub kind: ContactKind,
    pub settings: ContactSettings,
    /// Default: critical only.
    pub urgencies: Option<Vec<AlertUrgency>>,
    pub label: Option<String>,
}

/// Changes to a contact method; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ContactChanges {
    pub settings: Option<ContactSettings>,
    pub urgencies: Option<Vec<AlertUrgency>>,
    pub label: Option<Option<String>>,
}

fn required<'a>(
    field: &'static str,
    value: &'a Option<String>,
    what: &str,
) -> Result<&'a str, CommandError> {
    match value.as_deref().map(str::trim) {
        Some(v) if v.chars().count() > 2000 => {
            Err(CommandError::invalid(field, "That is too long."))
        }
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(CommandError::invalid(field, format!("Give {what}."))),
    }
}

fn web_url(field: &'static str, raw: &str) -> Result<(), CommandError> {
    crate::webhooks::guard::parse_url(raw)
        .map(drop)
        .map_err(|message| CommandError::invalid(field, message))
}

/// Check the settings of `kind`, keeping only its own fields (trimmed).
pub(crate) fn check(
    kind: ContactKind,
    s: ContactSettings,
) -> Result<ContactSettings, CommandError> {
    let own = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Ok(match kind {
        ContactKind::Email => {
            let address = required("settings.address", &s.address, "the email address")?;
            let address = crate::accounts::Email::parse(address)
                .map_err(|e| CommandError::invalid("settings.address", e.to_string()))?;
            ContactSettings {
                address: Some(address.as_str().to_owned()),
                ..Default::default()
            }
        }
        ContactKind::Ntfy => {
            let topic = required("settings.topic", &s.topic, "the ntfy topic")?;
            if !topic
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(CommandError::invalid(
                    "settings.topic",
                    "An ntfy topic has letters, digits, - and _ only.",
                ));
            }
            let server = own(&s.server).unwrap_or_else(|| "https://ntfy.sh".into());
            web_url("settings.server", &server)?;
            ContactSettings {
                server: Some(server),
                topic: Some(topic.to_owned()),
                token: own(&s.token),
                ..Default::default()
            }
        }
        ContactKind::Pushover => {
            let key = required("settings.user_key", &s.user_key, "the Pushover user key")?;
            if key.len() != 30 || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(CommandError::invalid(
                    "settings.user_key",
                    "A Pushover user key is 30 letters and digits.",
                ));
            }
            ContactSettings {
                user_key: Some(key.to_owned()),
                ..Default::default()
            }
        }
        ContactKind::TwilioSms => {
            let phone = required("settings.phone", &s.phone, "the phone number")?;
            let digits = phone.strip_prefix('+').unwrap_or("");
            if !(8..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(CommandError::invalid(
                    "settings.phone",
                    "Write the number with its country code, e.g. +4915112345678.",
                ));
            }
            ContactSettings {
                phone: Some(phone.to_owned()),
                ..Default::default()
            }
        }
        ContactKind::Slack | ContactKind::Mattermost | ContactKind::Discord => {
            let url = required("settings.url", &s.url, "the incoming webhook's URL")?;
            web_url("settings.url", url)?;
            ContactSettings {
                url: Some(url.to_owned()),
                ..Default::default()
            }
        }
        ContactKind::Webhook => {
            let url = required("settings.url", &s.url, "the URL to post to")?;
            web_url("settings.url", url)?;
            let secret = own(&s.secret)
                .unwrap_or_else(|| crate::webhooks::signing::Secret::generate().expose());
            ContactSettings {
                url: Some(url.to_owned()),
                secret: Some(secret),
                ..Default::default()
            }
        }
        ContactKind::Matrix => {
            let homeserver = required(
                "settings.homeserver",
                &s.homeserver,
                "the Matrix homeserver's URL",
            )?;
            web_url("settings.homeserver", homeserver)?;
            let room = required(
                "settings.room_id",
                &s.room_id,
                "the room id (!abc:example.org)",
            )?;
            if !room.starts_with('!') || !room.contains(':') {
                return Err(CommandError::invalid(
                    "settings.room_id",
                    "A room id looks like !abc123:example.org.",
                ));
            }
            let token = required(
                "settings.access_token",
                &s.access_token,
                "the bot's access token",
            )?;
            ContactSettings {
                homeserver: Some(homeserver.to_owned()),
                room_id: Some(room.to_owned()),
                access_token: Some(token.to_owned()),
                ..Default::default()
            }
        }
    })
}

fn check_label(label: Option<String>) -> Result<Option<String>, CommandError> {
    let label = label.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty());
    if let Some(label) = &label {
        text::NAME.check("label", label)?;
    }
    Ok(label)
}

/// Add a contact method for a person, or a channel for a team. A person's default
/// urgency is critical; a team channel's, critical and high.
#[tracing::instrument(skip_all)]
pub async fn create(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    owner: Owner,
    new: NewContact,
) -> Result<Uuid, CommandError> {
    let (user_id, team_id) = match owner {
        Owner::User(id) => (Some(id), None),
        Owner::Team(id) => (None, Some(id)),
    };
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)
               OR EXISTS (SELECT 1 FROM teams WHERE id = $2) AS "exists!""#,
        user_id,
        team_id
    )
    .fetch_one(&mut *conn)
    .await?;
    if !exists {
        return Err(CommandError::NotFound);
    }
    let settings = check(new.kind, new.settings)?;
    if team_id.is_some()
        && matches!(
            new.kind,
            ContactKind::Pushover | ContactKind::TwilioSms | ContactKind::Email
        )
    {
        return Err(CommandError::invalid(
            "kind",
            "A team's channel is a chat room, an ntfy topic or a webhook; people add their own phones.",
        ));
    }
    let urgencies = new.urgencies.unwrap_or_else(|| match owner {
        Owner::User(_) => vec![AlertUrgency::Critical],
        Owner::Team(_) => vec![AlertUrgency::Critical, AlertUrgency::High],
    });
    let label = check_label(new.label)?;
    let id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO contact_methods (id, user_id, team_id, kind, settings, urgencies, label)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        id,
        user_id,
        team_id,
        new.kind as ContactKind,
        serde_json::to_value(&settings).unwrap_or_default(),
        &urgencies as &[AlertUrgency],
        label
    )
    .execute(&mut *conn)
    .await?;
    let action = AuditAction::ContactMethodAdded {
        contact_id: id,
        user_id,
        team_id,
        kind: new.kind.as_str().to_owned(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(id)
}

/// Change a contact method; new settings clear its recorded failure.
#[tracing::instrument(skip_all, fields(contact_id = %id))]
pub async fn update(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    change: ContactChanges,
) -> Result<(), CommandError> {
    let current = find(&mut *conn, id).await?.ok_or(CommandError::NotFound)?;
    let fresh = change.settings.is_some();
    let settings = match change.settings {
        Some(s) => {
            // A secret left out (or shown masked) is kept.
            let mut s = s;
            for (new, old) in [
                (&mut s.token, &current.settings.token),
                (&mut s.access_token, &current.settings.access_token),
                (&mut s.secret, &current.settings.secret),
            ] {
                if new.as_deref().is_none_or(|v| v == "••••") {
                    new.clone_from(old);
                }
            }
            check(current.kind, s)?
        }
        None => current.settings,
    };
    let urgencies = change.urgencies.unwrap_or(current.urgencies);
    let label = match change.label {
        Some(label) => check_label(label)?,
        None => current.label,
    };
    sqlx::query!(
        "UPDATE contact_methods SET settings = $2, urgencies = $3, label = $4, updated_at = now(),
                failure = CASE WHEN $5 THEN NULL ELSE failure END,
                failed_at = CASE WHEN $5 THEN NULL ELSE failed_at END
         WHERE id = $1",
        id,
        serde_json::to_value(&settings).unwrap_or_default(),
        &urgencies as &[AlertUrgency],
        label,
        fresh
    )
    .execute(&mut *conn)
    .await?;
    let action = AuditAction::ContactMethodChanged {
        contact_id: id,
        user_id: current.user_id,
        team_id: current.team_id,
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(contact_id = %id))]
pub async fn delete(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<(), CommandError> {
    let current = find(&mut *conn, id).await?.ok_or(CommandError::NotFound)?;
    sqlx::query!("DELETE FROM contact_methods WHERE id = $1", id)
        .execute(&mut *conn)
        .await?;
    let action = AuditAction::ContactMethodRemoved {
        contact_id: id,
        user_id: current.user_id,
        team_id: current.team_id,
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(())
}

/// Record a permanent failure on the method (shown on the person's profile).
pub async fn record_failure(db: impl PgExecutor<'_>, id: Uuid, failure: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE contact_methods SET failure = $2, failed_at = now() WHERE id = $1",
        id,
        failure
    )
    .execute(db)
    .await?;
    Ok(())
}
