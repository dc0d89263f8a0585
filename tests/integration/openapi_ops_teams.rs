//! `/api/v1/teams`, `/duty-overrides` and `/escalation-policies` driven through every
//! operation, checked against the document.

use axum::http::StatusCode;
use serde_json::json;

use crate::openapi::Checker;
use crate::openapi_ops::{expect, id, DELETE, GET, PATCH, POST, PUT};
use crate::support::TestApp;
use fireline::accounts::Role;

pub async fn teams(c: &mut Checker<'_>, app: &TestApp, a: &str, r: &str, v: &str) {
    contact_methods(c, app, a, r, v).await;
    let rita: String = app
        .scalar("SELECT id::text FROM users WHERE email = 'rita@example.com'")
        .await;
    let other = app
        .user("olga@example.com", Role::Responder)
        .await
        .id
        .to_string();
    let policy = expect(
        c.call(POST, "/escalation-policies", &[], a, Some(json!({
            "name": "Night", "repeat": 1,
            "steps": [{"kind": "countdown", "seconds": 10}, {"kind": "page_on_duty"}, {"kind": "wait"}, {"kind": "page_team"}]
        })))
        .await,
        StatusCode::CREATED,
        "create a policy",
    );
    expect(
        c.call(
            POST,
            "/escalation-policies",
            &[],
            a,
            Some(json!({"name": "Quiet", "steps": [{"kind": "announce"}]})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a policy that pages nobody",
    );
    expect(
        c.call(GET, "/escalation-policies", &[], r, None).await,
        StatusCode::OK,
        "policies",
    );
    let pid = id(&policy);
    let p = [("id", pid.as_str())];
    expect(
        c.call(GET, "/escalation-policies/{id}", &p, r, None).await,
        StatusCode::OK,
        "policy",
    );
    expect(
        c.call(
            PATCH,
            "/escalation-policies/{id}",
            &p,
            a,
            Some(json!({"repeat": 2, "version": 1})),
        )
        .await,
        StatusCode::OK,
        "change a policy",
    );
    expect(
        c.call(
            PATCH,
            "/escalation-policies/{id}",
            &p,
            a,
            Some(json!({"repeat": 3, "version": 1})),
        )
        .await,
        StatusCode::CONFLICT,
        "a stale policy",
    );
    expect(
        c.call(
            PATCH,
            "/escalation-policies/{id}",
            &p,
            a,
            Some(json!({"repeat": 11})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "too many repeats",
    );

    let team = expect(
        c.call(POST, "/teams", &[], a, Some(json!({
            "name": "Platform", "user_ids": [rita, other], "escalation_policy_id": pid,
            "rotation": {"interval": "weekly", "handoff_time": "09:00", "time_zone": "Europe/Berlin",
                         "starts_on": "2026-11-30", "user_ids": [rita, other]},
            "working_hours": {"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "18:00", "time_zone": "Europe/Berlin"}
        })))
        .await,
        StatusCode::CREATED,
        "create a team",
    );
    expect(
        c.call(POST, "/teams", &[], a, Some(json!({"name": "platform"})))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a taken name",
    );
    expect(
        c.call(DELETE, "/escalation-policies/{id}", &p, a, None)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a policy in use",
    );
    expect(
        c.call(GET, "/teams", &[], r, None).await,
        StatusCode::OK,
        "teams",
    );
    let tid = id(&team);
    let t = [("id", tid.as_str())];
    expect(
        c.call(GET, "/teams/{id}", &t, r, None).await,
        StatusCode::OK,
        "team",
    );
    expect(
        c.call(
            PATCH,
            "/teams/{id}",
            &t,
            a,
            Some(json!({"acked_mode_minutes": 45, "version": 1})),
        )
        .await,
        StatusCode::OK,
        "change a team",
    );
    expect(
        c.call(
            PATCH,
            "/teams/{id}",
            &t,
            a,
            Some(json!({"name": "Old", "version": 1})),
        )
        .await,
        StatusCode::CONFLICT,
        "a stale team",
    );
    expect(
        c.call(PATCH, "/teams/{id}", &t, a, Some(json!({"working_hours": {"days": [1], "start": "9am", "end": "17:00", "time_zone": "UTC"}})))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a time that is not HH:MM",
    );
    expect(
        c.call(
            PUT,
            "/teams/{id}/members",
            &t,
            a,
            Some(json!({"user_ids": [rita, other]})),
        )
        .await,
        StatusCode::OK,
        "set the members",
    );
    expect(
        c.call(
            PUT,
            "/teams/{id}/members",
            &t,
            a,
            Some(json!({"user_ids": [uuid::Uuid::new_v4()]})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an unknown member",
    );
    expect(
        c.call(GET, "/teams/{id}/duty", &t, r, None).await,
        StatusCode::OK,
        "duty",
    );
    expect(
        c.call(
            POST,
            "/teams/{id}/duty",
            &t,
            r,
            Some(json!({"action": "take"})),
        )
        .await,
        StatusCode::OK,
        "take duty",
    );
    expect(
        c.call(
            POST,
            "/teams/{id}/duty",
            &t,
            a,
            Some(json!({"action": "release"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "hand back duty someone else holds",
    );
    let made = expect(
        c.call(POST, "/teams/{id}/overrides", &t, r, Some(json!({
            "user_id": other, "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"
        })))
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an override of many years",
    );
    assert!(made["errors"]["ends_at"].is_string(), "{made}");
    let now = time::OffsetDateTime::now_utc();
    let made = expect(
        c.call(
            POST,
            "/teams/{id}/overrides",
            &t,
            r,
            Some(json!({
                "user_id": other, "starts_at": crate::support::rfc3339(now),
                "ends_at": crate::support::rfc3339(now + time::Duration::hours(2)), "reason": "Swap"
            })),
        )
        .await,
        StatusCode::CREATED,
        "an override",
    );
    expect(
        c.call(GET, "/teams/{id}/overrides", &t, r, None).await,
        StatusCode::OK,
        "overrides",
    );
    let oid = id(&made);
    expect(
        c.call(DELETE, "/duty-overrides/{id}", &[("id", &oid)], r, None)
            .await,
        StatusCode::NO_CONTENT,
        "remove an override",
    );
    pages(c, app, a, r, &tid).await;
    expect(
        c.call(DELETE, "/teams/{id}", &t, a, None).await,
        StatusCode::NO_CONTENT,
        "delete a team",
    );
    expect(
        c.call(DELETE, "/escalation-policies/{id}", &p, a, None)
            .await,
        StatusCode::NO_CONTENT,
        "delete a policy",
    );
}

/// A critical alert for the team starts a page; it is listed, read and acknowledged, and
/// the acked mode that follows is ended.
async fn pages(c: &mut Checker<'_>, app: &TestApp, a: &str, r: &str, team: &str) {
    let rule = json!({"name": "Critical to the team", "urgency": "critical", "team_id": team});
    expect(
        c.call(POST, "/routing-rules", &[], a, Some(rule)).await,
        StatusCode::CREATED,
        "a paging rule",
    );
    let (_, key) = app.integration("generic").await;
    let body = json!({"dedup_key": "paged", "title": "Paged", "status": "firing"});
    let sent = app
        .ingest(&format!("/ingest/{key}/generic"), None, &body.to_string())
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.text);
    app.process_alerts().await;
    app.apply_events().await;
    let list = expect(
        c.call(GET, "/pages", &[], r, None).await,
        StatusCode::OK,
        "pages",
    );
    let pid = id(&list["items"][0]);
    expect(
        c.call_query("/pages", "state=ringing", r).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an unknown state",
    );
    let p = [("id", pid.as_str())];
    expect(
        c.call(GET, "/pages/{id}", &p, r, None).await,
        StatusCode::OK,
        "a page",
    );
    let t = [("id", team)];
    expect(
        c.call(DELETE, "/teams/{id}/acked-mode", &t, r, None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not in acked mode",
    );
    expect(
        c.call(POST, "/pages/{id}/acknowledge", &p, r, None).await,
        StatusCode::OK,
        "acknowledge a page",
    );
    expect(
        c.call(DELETE, "/teams/{id}/acked-mode", &t, r, None).await,
        StatusCode::OK,
        "end acked mode",
    );
    expect(
        c.call(GET, "/oncall-report", &[], r, None).await,
        StatusCode::OK,
        "this month's report",
    );
    expect(
        c.call_query("/oncall-report", "month=2026-13", r).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no such month",
    );
}

/// A viewer manages their own contact methods; someone else may not.
async fn contact_methods(c: &mut Checker<'_>, app: &TestApp, a: &str, r: &str, v: &str) {
    let vic: String = app
        .scalar("SELECT id::text FROM users WHERE email = 'vic@example.com'")
        .await;
    let u = [("id", vic.as_str())];
    let ntfy = json!({"kind": "ntfy", "settings": {"topic": "vic-pages"}});
    expect(
        c.call(
            POST,
            "/users/{id}/contact-methods",
            &u,
            r,
            Some(ntfy.clone()),
        )
        .await,
        StatusCode::FORBIDDEN,
        "someone else's",
    );
    expect(
        c.call(
            POST,
            "/users/{id}/contact-methods",
            &u,
            v,
            Some(json!({"kind": "twilio_sms", "settings": {"phone": "12"}})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a number without its country code",
    );
    let made = expect(
        c.call(POST, "/users/{id}/contact-methods", &u, v, Some(ntfy))
            .await,
        StatusCode::CREATED,
        "add one",
    );
    expect(
        c.call(GET, "/users/{id}/contact-methods", &u, r, None)
            .await,
        StatusCode::FORBIDDEN,
        "someone else's list",
    );
    expect(
        c.call(GET, "/users/{id}/contact-methods", &u, v, None)
            .await,
        StatusCode::OK,
        "my list",
    );
    let cid = id(&made);
    let m = [("id", cid.as_str())];
    let patch = json!({"urgencies": ["critical", "high"]});
    expect(
        c.call(PATCH, "/contact-methods/{id}", &m, r, Some(patch.clone()))
            .await,
        StatusCode::FORBIDDEN,
        "change someone else's",
    );
    expect(
        c.call(
            PATCH,
            "/contact-methods/{id}",
            &m,
            v,
            Some(json!({"settings": {"topic": "a b"}})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a bad topic",
    );
    expect(
        c.call(PATCH, "/contact-methods/{id}", &m, v, Some(patch))
            .await,
        StatusCode::OK,
        "change mine",
    );
    expect(
        c.call(POST, "/contact-methods/{id}/test", &m, r, None)
            .await,
        StatusCode::FORBIDDEN,
        "test someone else's",
    );
    expect(
        c.call(POST, "/contact-methods/{id}/test", &m, v, None)
            .await,
        StatusCode::ACCEPTED,
        "test mine",
    );
    expect(
        c.call(DELETE, "/contact-methods/{id}", &m, r, None).await,
        StatusCode::FORBIDDEN,
        "remove someone else's",
    );
    expect(
        c.call(DELETE, "/contact-methods/{id}", &m, v, None).await,
        StatusCode::NO_CONTENT,
        "remove mine",
    );
    // A team's channels are its members' to manage.
    let team = expect(
        c.call(
            POST,
            "/teams",
            &[],
            a,
            Some(json!({"name": "Watchers", "user_ids": [vic]})),
        )
        .await,
        StatusCode::CREATED,
        "a team of the viewer",
    );
    let tid = id(&team);
    let t = [("id", tid.as_str())];
    let slack =
        json!({"kind": "slack", "settings": {"url": "https://hooks.example.com/services/T/B/X"}});
    expect(
        c.call(POST, "/teams/{id}/channels", &t, r, Some(slack.clone()))
            .await,
        StatusCode::FORBIDDEN,
        "not their team",
    );
    expect(
        c.call(POST, "/teams/{id}/channels", &t, v, Some(json!({"kind": "pushover", "settings": {"user_key": "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"}}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a person's kind on a team",
    );
    expect(
        c.call(POST, "/teams/{id}/channels", &t, v, Some(slack))
            .await,
        StatusCode::CREATED,
        "a team channel",
    );
    expect(
        c.call(GET, "/teams/{id}/channels", &t, r, None).await,
        StatusCode::FORBIDDEN,
        "not their team's channels",
    );
    expect(
        c.call(GET, "/teams/{id}/channels", &t, v, None).await,
        StatusCode::OK,
        "their team's channels",
    );
}
