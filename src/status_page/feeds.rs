//! `/history.atom` and `/history.rss` (shared INTEROP.md §2).

use atom_syndication as atom;
use chrono::{DateTime, FixedOffset};
use time::OffsetDateTime;

use super::clock::Clock;
use super::data::PageData;
use crate::platform::markdown;

/// One entry per public incident and per maintenance, newest first.
struct Item {
    id: uuid::Uuid,
    title: String,
    published: OffsetDateTime,
    updated: OffsetDateTime,
    /// `(time, status label, Markdown)`, newest first.
    updates: Vec<(OffsetDateTime, String, String)>,
}

fn items(data: &PageData) -> Vec<Item> {
    let mut items: Vec<Item> = data
        .incidents
        .iter()
        .map(|i| Item {
            id: i.id,
            title: i.title.clone(),
            published: i.declared_at,
            updated: i
                .postmortem
                .as_ref()
                .map_or(i.updated_at, |p| p.published_at.max(i.updated_at)),
            // A published postmortem comes first, as the newest word on the incident.
            updates: i
                .postmortem
                .iter()
                .map(|p| (p.published_at, "Postmortem".to_owned(), p.body.clone()))
                .chain(
                    i.updates
                        .iter()
                        .map(|u| (u.display_at, u.status.label().to_owned(), u.body.clone())),
                )
                .collect(),
        })
        .chain(data.maintenances.iter().map(|m| {
            Item {
                id: m.row.id,
                title: m.row.title.clone(),
                published: m.row.created_at,
                updated: m.row.updated_at,
                updates: m
                    .updates
                    .iter()
                    .map(|u| (u.created_at, u.status.label().to_owned(), u.body.clone()))
                    .collect(),
            }
        }))
        .collect();
    items.sort_by_key(|i| std::cmp::Reverse(i.published));
    items.truncate(100);
    items
}

/// One paragraph per update, newest first; readers take the first `<strong>` as the status.
fn content(clock: &Clock, updates: &[(OffsetDateTime, String, String)]) -> String {
    updates
        .iter()
        .map(|(at, status, body)| {
            let html = markdown::render(body);
            let trimmed = html.trim();
            let inner = match trimmed.strip_prefix("<p>").and_then(|s| s.strip_suffix("</p>")) {
                Some(inner) if !inner.contains("<p>") => inner.to_owned(),
                _ => trimmed.to_owned(),
            };
            format!(
                "<p><small>{} <var data-var='date'>{}</var>, <var data-var='time'>{}</var> {}</small><br><strong>{}</strong> - {}</p>",
                clock.format(*at, "%b"),
                clock.format(*at, "%-d"),
                clock.format(*at, "%H:%M"),
                clock.format(*at, "%Z"),
                status,
                inner
            )
        })
        .collect()
}

fn chrono(at: OffsetDateTime) -> DateTime<FixedOffset> {
    DateTime::from_timestamp(at.unix_timestamp(), at.nanosecond())
        .unwrap_or_default()
        .fixed_offset()
}

fn host(data: &PageData) -> String {
    url::Url::parse(&data.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".into())
}

pub fn atom(data: &PageData, clock: &Clock) -> String {
    let host = host(data);
    let entries: Vec<atom::Entry> = items(data)
        .into_iter()
        .map(|item| {
            let link = format!("{}/incidents/{}", data.url, item.id);
            atom::EntryBuilder::default()
                .id(format!("tag:{host},2005:Incident/{}", item.id))
                .title(item.title)
                .published(Some(chrono(item.published)))
                .updated(chrono(item.updated))
                .links(vec![atom::LinkBuilder::default()
                    .rel("alternate")
                    .mime_type(Some("text/html".into()))
                    .href(link)
                    .build()])
                .content(Some(
                    atom::ContentBuilder::default()
                        .content_type(Some("html".into()))
                        .value(Some(content(clock, &item.updates)))
                        .build(),
                ))
                .build()
        })
        .collect();
    let feed = atom::FeedBuilder::default()
        .id(format!("tag:{host},2005:/history"))
        .title(format!("{} - Incident History", data.name))
        .updated(chrono(data.updated_at()))
        .authors(vec![atom::PersonBuilder::default()
            .name(data.name.clone())
            .build()])
        .links(vec![
            atom::LinkBuilder::default()
                .rel("self")
                .mime_type(Some("application/atom+xml".into()))
                .href(format!("{}/history.atom", data.url))
                .build(),
            atom::LinkBuilder::default()
                .rel("alternate")
                .mime_type(Some("text/html".into()))
                .href(data.url.clone())
                .build(),
        ])
        .entries(entries)
        .build();
    feed.to_string()
}

pub fn rss(data: &PageData, clock: &Clock) -> String {
    let items: Vec<rss::Item> = items(data)
        .into_iter()
        .map(|item| {
            let link = format!("{}/incidents/{}", data.url, item.id);
            rss::ItemBuilder::default()
                .title(Some(item.title))
                .link(Some(link.clone()))
                .guid(Some(
                    rss::GuidBuilder::default()
                        .value(link)
                        .permalink(true)
                        .build(),
                ))
                .pub_date(Some(chrono(item.published).to_rfc2822()))
                .description(Some(content(clock, &item.updates)))
                .build()
        })
        .collect();
    let channel = rss::ChannelBuilder::default()
        .title(format!("{} - Incident History", data.name))
        .link(data.url.clone())
        .description(format!("Incident and maintenance history of {}", data.name))
        .pub_date(Some(chrono(data.updated_at()).to_rfc2822()))
        .items(items)
        .build();
    channel.to_string()
}
