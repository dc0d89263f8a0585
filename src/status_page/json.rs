//! The Statuspage public API v2 documents (shared INTEROP.md §1), field for field.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::data::{PageData, PublicIncident, PublicMaintenance};
use crate::components::ComponentStatus;
use crate::maintenance::MaintenanceStatus;

/// RFC 3339 in UTC with exactly three fractional digits: `2026-03-04T10:12:44.103Z`.
pub fn ts(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

fn ts_opt(at: Option<OffsetDateTime>) -> Value {
    at.map(|t| Value::String(ts(t))).unwrap_or(Value::Null)
}

pub fn page(data: &PageData) -> Value {
    json!({
        "id": data.settings.page_id,
        "name": data.name,
        "url": data.url,
        "time_zone": data.settings.time_zone,
        "updated_at": ts(data.updated_at()),
    })
}

pub fn status(data: &PageData) -> Value {
    let indicator = data.indicator();
    json!({ "indicator": indicator.as_str(), "description": indicator.description() })
}

/// Top-level rows in display order: ungrouped components, then groups, each group
/// followed by its children. Positions are 1-based within the parent.
pub fn components(data: &PageData) -> Vec<Value> {
    let page_id = &data.settings.page_id;
    let component = |c: &crate::components::ComponentRow, position: usize| {
        json!({
            "id": c.id,
            "name": c.name,
            "status": c.status.as_str(),
            "created_at": ts(c.created_at),
            "updated_at": ts(c.updated_at),
            "position": position,
            "description": c.description,
            "showcase": c.showcase,
            "start_date": c.start_date.map(|d| d.to_string()),
            "group_id": c.group_id,
            "page_id": page_id,
            "group": false,
            "only_show_if_degraded": c.only_show_if_degraded,
        })
    };
    let mut out = Vec::new();
    let mut position = 0;
    for c in data.components.iter().filter(|c| c.group_id.is_none()) {
        position += 1;
        out.push(component(c, position));
    }
    for g in &data.groups {
        position += 1;
        let children: Vec<_> = data
            .components
            .iter()
            .filter(|c| c.group_id == Some(g.id))
            .collect();
        let worst = ComponentStatus::worst(children.iter().map(|c| c.status));
        out.push(json!({
            "id": g.id,
            "name": g.name,
            "status": worst.as_str(),
            "created_at": ts(g.created_at),
            "updated_at": ts(g.updated_at),
            "position": position,
            "description": g.description,
            "showcase": false,
            "start_date": null,
            "group_id": null,
            "page_id": page_id,
            "group": true,
            "only_show_if_degraded": false,
            "components": children.iter().map(|c| c.id).collect::<Vec<_>>(),
        }));
        for (i, c) in children.iter().enumerate() {
            out.push(component(c, i + 1));
        }
    }
    out
}

fn component_objects(data: &PageData, ids: &[uuid::Uuid]) -> Vec<Value> {
    let all = components(data);
    ids.iter()
        .filter_map(|id| {
            all.iter()
                .find(|c| c["id"] == json!(id) && c["group"] == json!(false))
                .cloned()
        })
        .collect()
}

/// The public URL of an incident or maintenance page.
pub fn shortlink(data: &PageData, id: uuid::Uuid) -> String {
    format!("{}/incidents/{id}", data.url)
}

pub fn incident(data: &PageData, i: &PublicIncident) -> Value {
    let updates: Vec<Value> = i
        .updates
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "status": u.status.as_str(),
                "body": u.body,
                "incident_id": i.id,
                "created_at": ts(u.created_at),
                "updated_at": ts(u.updated_at),
                "display_at": ts(u.display_at),
                "affected_components": u.affected_components,
                "deliver_notifications": u.notify,
                "custom_tweet": null,
                "tweet_id": null,
            })
        })
        .collect();
    // A published postmortem is the last stage of a resolved incident.
    let status = match &i.postmortem {
        Some(_) if i.status.is_resolved() => "postmortem",
        _ => i.status.as_str(),
    };
    let updated_at = i
        .postmortem
        .as_ref()
        .map_or(i.updated_at, |p| p.published_at.max(i.updated_at));
    json!({
        "id": i.id,
        "name": i.title,
        "status": status,
        "created_at": ts(i.created_at),
        "updated_at": ts(updated_at),
        "monitoring_at": ts_opt(i.monitoring_at),
        "resolved_at": ts_opt(i.resolved_at),
        "impact": i.impact.as_str(),
        "shortlink": shortlink(data, i.id),
        "started_at": ts(i.started_at),
        "page_id": data.settings.page_id,
        "incident_updates": updates,
        "components": component_objects(data, &i.component_ids),
        // The public summary only: the internal postmortem is never published.
        "postmortem_body": i.postmortem.as_ref().map(|p| p.body.as_str()),
    })
}

pub fn maintenance(data: &PageData, m: &PublicMaintenance) -> Value {
    let r = &m.row;
    let updates: Vec<Value> = m
        .updates
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "status": u.status.statuspage(),
                "body": u.body,
                "incident_id": r.id,
                "created_at": ts(u.created_at),
                "updated_at": ts(u.created_at),
                "display_at": ts(u.created_at),
                "affected_components": null,
                "deliver_notifications": u.notify,
                "custom_tweet": null,
                "tweet_id": null,
            })
        })
        .collect();
    json!({
        "id": r.id,
        "name": r.title,
        "status": r.status.statuspage(),
        "created_at": ts(r.created_at),
        "updated_at": ts(r.updated_at),
        "monitoring_at": null,
        "resolved_at": ts_opt(r.completed_at),
        "impact": "maintenance",
        "shortlink": shortlink(data, r.id),
        "started_at": ts(r.started_at.unwrap_or(r.scheduled_for)),
        "page_id": data.settings.page_id,
        "incident_updates": updates,
        "components": component_objects(data, &m.component_ids),
        "postmortem_body": null,
        "scheduled_for": ts(r.scheduled_for),
        "scheduled_until": ts(r.scheduled_until),
    })
}

/// The eight documents, by path.
pub fn documents(data: &PageData) -> Vec<(&'static str, Value)> {
    let page = page(data);
    let status = status(data);
    let components = components(data);
    let unresolved: Vec<Value> = data
        .incidents
        .iter()
        .filter(|i| !i.status.is_resolved())
        .map(|i| incident(data, i))
        .collect();
    let recent: Vec<Value> = data
        .incidents
        .iter()
        .take(50)
        .map(|i| incident(data, i))
        .collect();
    let pick = |keep: &dyn Fn(MaintenanceStatus) -> bool| -> Vec<Value> {
        data.maintenances
            .iter()
            .filter(|m| keep(m.row.status))
            .take(50)
            .map(|m| maintenance(data, m))
            .collect()
    };
    let open = pick(&|s| s.is_open());
    vec![
        (
            "/api/v2/summary.json",
            json!({ "page": page, "components": components, "incidents": unresolved, "scheduled_maintenances": open, "status": status }),
        ),
        (
            "/api/v2/status.json",
            json!({ "page": page, "status": status }),
        ),
        (
            "/api/v2/components.json",
            json!({ "page": page, "components": components }),
        ),
        (
            "/api/v2/incidents.json",
            json!({ "page": page, "incidents": recent }),
        ),
        (
            "/api/v2/incidents/unresolved.json",
            json!({ "page": page, "incidents": unresolved }),
        ),
        (
            "/api/v2/scheduled-maintenances.json",
            json!({ "page": page, "scheduled_maintenances": pick(&|_| true) }),
        ),
        (
            "/api/v2/scheduled-maintenances/upcoming.json",
            json!({ "page": page, "scheduled_maintenances": pick(&|s| s == MaintenanceStatus::Scheduled) }),
        ),
        (
            "/api/v2/scheduled-maintenances/active.json",
            json!({ "page": page, "scheduled_maintenances": pick(&|s| s.is_active()) }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_exactly_three_fractional_digits() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_772_619_164_103_456_789).unwrap();
        assert_eq!(ts(at), "2026-03-04T10:12:44.103Z");
        let whole = OffsetDateTime::from_unix_timestamp(1_772_619_164).unwrap();
        assert_eq!(ts(whole), "2026-03-04T10:12:44.000Z");
    }
}
