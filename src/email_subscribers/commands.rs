//! Email subscriber commands, for every front door: the public form (double opt-in,
//! rate limited, the same answer whoever subscribes), confirmation, choosing
//! components, unsubscribing, and the admins' add, remove and import. Each writes its
//! rows, its mail and its audit entry in the caller's transaction.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::compose;
use super::model::{
    EmailSource, EmailState, EmailSubscriberRow, ATTEMPTS_PER_NETWORK_PER_HOUR, CONFIRM_FOR,
    MAILS_PER_ADDRESS_PER_DAY,
};
use super::outbox::{self, NewMessage};
use super::store::{self, NewEmailRow};
use crate::accounts::Email;
use crate::platform::audit::{self, AuditAction};
use crate::platform::command::CommandError;
use crate::status_page::data;

/// An address as typed, checked; and its key (lower case).
fn address(raw: &str) -> Result<(String, String), CommandError> {
    let email = Email::parse(raw).map_err(|e| CommandError::invalid("email", e.to_string()))?;
    Ok((raw.trim().to_owned(), email.into_inner()))
}

/// The components chosen, each once, each existing.
async fn components(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Uuid>, CommandError> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    if ids.len() > 500 {
        return Err(CommandError::invalid(
            "component_ids",
            "Choose at most 500 components.",
        ));
    }
    let known = crate::components::find_many(&mut *conn, &ids).await?;
    if let Some(unknown) = ids.iter().find(|id| !known.iter().any(|c| c.id == **id)) {
        return Err(CommandError::invalid(
            "component_ids",
            format!("There is no component with the id {unknown}."),
        ));
    }
    Ok(ids)
}

/// Queue a new confirmation mail to each of `ids` (one message for all); the links of
/// earlier ones stop working.
async fn send_confirmation(conn: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    store::set_confirmation(&mut *conn, ids, OffsetDateTime::now_utc() + CONFIRM_FOR).await?;
    mail_to(conn, "confirmation", compose::confirmation, ids).await
}

/// Queue one message, made by `compose` from the page as it is, for the subscribers
/// named, whatever their state.
async fn mail_to(
    conn: &mut PgConnection,
    kind: &str,
    compose: fn(&data::PageData) -> compose::Composed,
    ids: &[Uuid],
) -> sqlx::Result<()> {
    let page = data::load_for_messages(&mut *conn).await?;
    let composed = compose(&page);
    let message = NewMessage {
        kind,
        subject_id: None,
        dedupe_key: None,
        composed: &composed,
        base_url: &page.url,
    };
    outbox::send_to(conn, message, ids).await
}

/// A visitor's request on the public form.
pub struct PublicRequest<'a> {
    pub email: &'a str,
    pub component_ids: &'a [Uuid],
    /// The client's address, for the per-network limit.
    pub ip: &'a str,
}

/// How the public form answers: the same for an address that is new, waiting or
/// subscribed, so it tells nobody who subscribes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// "Check your inbox."
    CheckInbox,
    /// The visitor's network asked too often.
    TooMany,
}

/// The public form: a new address gets a confirmation mail; one waiting for
/// confirmation gets a new one (with the new choice of components); a confirmed one gets
/// a note that it is subscribed already, and nothing changes. An address gets at most
/// [`MAILS_PER_ADDRESS_PER_DAY`] such mails a day, a network makes at most
/// [`ATTEMPTS_PER_NETWORK_PER_HOUR`] requests an hour.
pub async fn ask(
    conn: &mut PgConnection,
    request: PublicRequest<'_>,
) -> Result<Asked, CommandError> {
    let network = format!("net:{}", crate::webhooks::rate_key(request.ip));
    if store::count_attempt(&mut *conn, &network, 1).await? > ATTEMPTS_PER_NETWORK_PER_HOUR {
        return Ok(Asked::TooMany);
    }
    let (email, key) = address(request.email)?;
    let component_ids = components(&mut *conn, request.component_ids).await?;
    let quota = store::count_attempt(&mut *conn, &format!("mail:{key}"), 24).await?;
    let mail_allowed = quota <= MAILS_PER_ADDRESS_PER_DAY;
    match store::lock_by_email(&mut *conn, &key).await? {
        None => {
            let Some(row) = store::insert(
                &mut *conn,
                NewEmailRow {
                    email: &email,
                    email_key: &key,
                    confirmed: false,
                    component_ids: &component_ids,
                    source: EmailSource::Public.as_str(),
                    created_by: None,
                    created_ip: Some(request.ip),
                },
            )
            .await?
            else {
                // Subscribed by a concurrent request a moment ago: the same answer.
                return Ok(Asked::CheckInbox);
            };
            audit_created(&mut *conn, None, &row, Some(request.ip)).await?;
            if mail_allowed {
                send_confirmation(conn, &[row.id]).await?;
            }
        }
        Some(row) if row.state == EmailState::Confirmed => {
            if mail_allowed {
                mail_to(
                    conn,
                    "already_subscribed",
                    compose::already_subscribed,
                    &[row.id],
                )
                .await?;
            }
        }
        // Waiting, or bounced: asking again is how an address comes back.
        Some(row) => {
            store::set_components(&mut *conn, row.id, &component_ids).await?;
            if mail_allowed {
                send_confirmation(conn, &[row.id]).await?;
            }
        }
    }
    Ok(Asked::CheckInbox)
}

async fn audit_created(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    row: &EmailSubscriberRow,
    from: Option<&str>,
) -> sqlx::Result<()> {
    let created = AuditAction::EmailSubscriberCreated {
        email_subscriber_id: row.id,
        email: row.email.clone(),
        source: row.source.clone(),
        from: from.map(str::to_owned),
    };
    audit::log(conn, actor, &created).await
}

/// An admin adds an address (the admin UI or the API): it starts unconfirmed and its
/// confirmation mail goes out, so nobody is sent news they did not ask for.
pub async fn add(
    conn: &mut PgConnection,
    actor: Uuid,
    email: &str,
    component_ids: &[Uuid],
    source: EmailSource,
) -> Result<EmailSubscriberRow, CommandError> {
    let (email, key) = address(email)?;
    let component_ids = components(&mut *conn, component_ids).await?;
    let row = store::insert(
        &mut *conn,
        NewEmailRow {
            email: &email,
            email_key: &key,
            confirmed: false,
            component_ids: &component_ids,
            source: source.as_str(),
            created_by: Some(actor),
            created_ip: None,
        },
    )
    .await?
    .ok_or_else(|| CommandError::invalid("email", format!("{email} is subscribed already.")))?;
    audit_created(&mut *conn, Some(actor), &row, None).await?;
    send_confirmation(&mut *conn, &[row.id]).await?;
    Ok(store::find(&mut *conn, row.id).await?.unwrap_or(row))
}

/// Why a confirmation link did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotConfirmed {
    /// Wrong, replaced by a newer one, or expired.
    InvalidLink,
}

/// Follow a confirmation link: `Ok(row)` once confirmed (following it again is fine).
pub async fn confirm(
    conn: &mut PgConnection,
    links: &super::links::Links,
    id: Uuid,
    token: &str,
) -> Result<Result<EmailSubscriberRow, NotConfirmed>, CommandError> {
    let Some(row) = store::lock(&mut *conn, id).await? else {
        return Ok(Err(NotConfirmed::InvalidLink));
    };
    if row.state == EmailState::Confirmed {
        // A second click on the same link: it says so again.
        let same_link = row
            .confirm_sent_at
            .is_some_and(|sent| links.confirm_matches(id, sent, token));
        return Ok(if same_link {
            Ok(row)
        } else {
            Err(NotConfirmed::InvalidLink)
        });
    }
    let valid = match (row.confirm_sent_at, row.confirm_expires_at) {
        (Some(sent), Some(expires)) => {
            expires > OffsetDateTime::now_utc() && links.confirm_matches(id, sent, token)
        }
        _ => false,
    };
    if !valid {
        return Ok(Err(NotConfirmed::InvalidLink));
    }
    store::mark_confirmed(&mut *conn, id).await?;
    let confirmed = AuditAction::EmailSubscriberConfirmed {
        email_subscriber_id: id,
        email: row.email.clone(),
    };
    audit::log(&mut *conn, None, &confirmed).await?;
    Ok(Ok(store::find(&mut *conn, id).await?.unwrap_or(row)))
}

/// Choose the components a subscriber hears about (empty: everything); `actor` is the
/// admin, or `None` for the subscriber's own link.
pub async fn choose_components(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    component_ids: &[Uuid],
) -> Result<EmailSubscriberRow, CommandError> {
    let row = store::lock(&mut *conn, id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let component_ids = components(&mut *conn, component_ids).await?;
    store::set_components(&mut *conn, row.id, &component_ids).await?;
    let changed = AuditAction::EmailSubscriberChanged {
        email_subscriber_id: id,
        component_ids: component_ids.clone(),
    };
    audit::log(&mut *conn, actor, &changed).await?;
    Ok(store::find(&mut *conn, id).await?.unwrap_or(row))
}

/// Who ends a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// The subscriber, by a link from a mail or the one-click header.
    Unsubscribed,
    /// An admin.
    RemovedBy(Uuid),
}

/// End a subscription: the address and its pending mail are forgotten. `false` when it
/// was gone already.
pub async fn remove(conn: &mut PgConnection, id: Uuid, removal: Removal) -> sqlx::Result<bool> {
    let Some(row) = store::lock(&mut *conn, id).await? else {
        return Ok(false);
    };
    store::delete(&mut *conn, id).await?;
    let (actor, action) = match removal {
        Removal::Unsubscribed => (
            None,
            AuditAction::EmailSubscriberUnsubscribed {
                email_subscriber_id: id,
                email: row.email,
            },
        ),
        Removal::RemovedBy(admin) => (
            Some(admin),
            AuditAction::EmailSubscriberRemoved {
                email_subscriber_id: id,
                email: row.email,
            },
        ),
    };
    audit::log(conn, actor, &action).await?;
    Ok(true)
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub added: u64,
    /// Subscribed already: left as they are.
    pub skipped: u64,
}

/// Import addresses (an admin, from a CSV), each checked like a new one: with
/// `confirmed`, the admin vouches that their owners agreed already (a move from another
/// status page) and they get news at once; otherwise each gets a confirmation mail. Any
/// bad address refuses the whole import, saying which line.
pub async fn import(
    conn: &mut PgConnection,
    actor: Uuid,
    rows: &[super::csv::ImportRow],
    confirmed: bool,
) -> Result<Imported, CommandError> {
    let mut imported = Imported::default();
    let mut to_confirm = Vec::new();
    for row in rows {
        let (email, key) = address(&row.email).map_err(|e| match e {
            CommandError::Invalid { message, .. } => {
                CommandError::invalid("csv", format!("Line {}: {message}", row.line))
            }
            other => other,
        })?;
        let inserted = store::insert(
            &mut *conn,
            NewEmailRow {
                email: &email,
                email_key: &key,
                confirmed,
                component_ids: &row.component_ids,
                source: EmailSource::Import.as_str(),
                created_by: Some(actor),
                created_ip: None,
            },
        )
        .await?;
        match inserted {
            Some(new) => {
                imported.added += 1;
                if !confirmed {
                    to_confirm.push(new.id);
                }
            }
            None => imported.skipped += 1,
        }
    }
    send_confirmation(&mut *conn, &to_confirm).await?;
    let action = AuditAction::EmailSubscribersImported {
        added: imported.added,
        skipped: imported.skipped,
        confirmed,
    };
    audit::log(conn, Some(actor), &action).await?;
    Ok(imported)
}
