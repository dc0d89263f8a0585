//! Your contact methods on the profile page: how pages and notices reach you, which
//! urgencies reach which method, a "send a test" button, and the failure of a method a
//! provider refused. Each write is one command, then back with a message.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::alerts::AlertUrgency;
use crate::http::admin::incidents::view::Choice;
use crate::http::admin::Reply;
use crate::http::error::AppError;
use crate::http::extract::{Button, CsrfForm, Path, Staff};
use crate::notify::contacts::{self, ContactKind, ContactRow, ContactSettings, NewContact};
use crate::notify::{outbox, Message};
use crate::platform::command::CommandError;

const PAGE: &str = "/admin/profile";

/// A method as the profile lists it.
pub struct ContactItem {
    pub id: Uuid,
    pub kind: &'static str,
    /// Where it goes: a topic, a number, a host.
    pub target: String,
    pub urgencies: String,
    pub failure: Option<String>,
}

fn item(c: &ContactRow) -> ContactItem {
    let s = &c.settings;
    let host = |u: &Option<String>| {
        u.as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let target = match c.kind {
        ContactKind::Ntfy => format!(
            "{} on {}",
            s.topic.clone().unwrap_or_default(),
            host(&s.server)
        ),
        ContactKind::Pushover => "your Pushover devices".into(),
        ContactKind::TwilioSms => s.phone.clone().unwrap_or_default(),
        ContactKind::Email => s.address.clone().unwrap_or_default(),
        ContactKind::Matrix => format!(
            "{} on {}",
            s.room_id.clone().unwrap_or_default(),
            host(&s.homeserver)
        ),
        _ => host(&s.url),
    };
    ContactItem {
        id: c.id,
        kind: c.kind.label(),
        target,
        urgencies: c
            .urgencies
            .iter()
            .map(|u| u.label())
            .collect::<Vec<_>>()
            .join(", "),
        failure: c.failure.clone(),
    }
}

/// The user's methods, and the kinds the add form offers.
pub async fn items(pool: &sqlx::PgPool, user_id: Uuid) -> Result<Vec<ContactItem>, AppError> {
    Ok(contacts::of_owner(pool, contacts::Owner::User(user_id))
        .await?
        .iter()
        .map(item)
        .collect())
}

pub fn kinds() -> Vec<Choice> {
    ContactKind::ALL
        .iter()
        .map(|k| Choice {
            value: k.as_str().into(),
            label: k.label().into(),
            selected: *k == ContactKind::Ntfy,
        })
        .collect()
}

fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The add form: a kind, where it goes (`target`), an optional server and token.
pub async fn add_contact(staff: Staff, CsrfForm(fields): CsrfForm<Vec<(String, String)>>) -> Reply {
    let kind = field(&fields, "kind").and_then(|k| ContactKind::parse(&k));
    let Some(kind) = kind else {
        return Ok(staff.flash(PAGE, "Choose how you want to be reached."));
    };
    let target = field(&fields, "target");
    let (server, token) = (field(&fields, "server"), field(&fields, "token"));
    let settings = match kind {
        ContactKind::Ntfy => ContactSettings {
            topic: target,
            server,
            token,
            ..Default::default()
        },
        ContactKind::Pushover => ContactSettings {
            user_key: target,
            ..Default::default()
        },
        ContactKind::TwilioSms => ContactSettings {
            phone: target,
            ..Default::default()
        },
        ContactKind::Matrix => ContactSettings {
            room_id: target,
            homeserver: server,
            access_token: token,
            ..Default::default()
        },
        ContactKind::Email => ContactSettings {
            address: target,
            ..Default::default()
        },
        _ => ContactSettings {
            url: target,
            ..Default::default()
        },
    };
    let urgencies: Vec<AlertUrgency> = fields
        .iter()
        .filter(|(k, _)| k == "urgency")
        .filter_map(|(_, v)| AlertUrgency::parse(v))
        .collect();
    let new = NewContact {
        kind,
        settings,
        urgencies: (!urgencies.is_empty()).then_some(urgencies),
        label: None,
    };
    let mut tx = staff.begin().await?;
    match contacts::create(
        &mut tx,
        Some(staff.id()),
        contacts::Owner::User(staff.id()),
        new,
    )
    .await
    {
        Ok(_) => {
            staff
                .commit_and_flash(
                    tx,
                    PAGE,
                    &format!("{} added. Send a test to see it arrive.", kind.label()),
                )
                .await
        }
        Err(CommandError::Invalid { message, .. }) => {
            Ok(staff.flash(PAGE, &format!("Not added: {message}")))
        }
        Err(err) => Err(err.into()),
    }
}

async fn own(staff: &Staff, id: Uuid) -> Result<ContactRow, AppError> {
    contacts::find(&staff.state.pool, id)
        .await?
        .filter(|c| c.user_id == Some(staff.id()))
        .ok_or_else(|| AppError::NotFound("You have no such contact method.".into()))
}

pub async fn test_contact(staff: Staff, Path(id): Path<Uuid>, _: Button) -> Reply {
    let contact = own(&staff, id).await?;
    let message = Message::test_for(&contact);
    let mut tx = staff.begin().await?;
    outbox::enqueue(&mut tx, None, &contact, &message).await?;
    let when = crate::platform::time::format_utc(OffsetDateTime::now_utc());
    staff
        .commit_and_flash(
            tx,
            PAGE,
            &format!("Test sent at {when}; if it does not arrive, the method shows why here."),
        )
        .await
}

pub async fn remove_contact(staff: Staff, Path(id): Path<Uuid>, _: Button) -> Reply {
    own(&staff, id).await?;
    let mut tx = staff.begin().await?;
    contacts::delete(&mut tx, Some(staff.id()), id).await?;
    staff
        .commit_and_flash(tx, PAGE, "Contact method removed.")
        .await
}
