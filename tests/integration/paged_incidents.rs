//! A page and the incident it leads to: whoever acknowledged leads the incident declared
//! from it (and takes command of one a routing rule declared), whoever was paged writes
//! the report, and the dashboard lists paged incidents still without one.

use axum::http::{Method, StatusCode};
use fireline::accounts::Role;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::paging::{setup, Setup};

fn later(minutes: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::minutes(minutes)
}

impl Setup {
    async fn acknowledge_as(&self, dedup: &str, token: &str) {
        let page = self.page_of(dedup).await;
        let path = format!("/api/v1/pages/{}/acknowledge", page["id"].as_str().unwrap());
        let acked = self
            .app
            .api_ok(Method::POST, &path, token, json!({}), StatusCode::OK)
            .await;
        assert_eq!(acked["state"], "acknowledged", "{acked}");
        self.app.apply_events().await;
    }

    /// The routing rule declares a SEV2 for every group it routes.
    async fn rule_declares(&self) {
        let (rule, version): (String, i32) =
            sqlx::query_as("SELECT id::text, version FROM routing_rules")
                .fetch_one(self.app.pool())
                .await
                .unwrap();
        self.app
            .patched(
                &format!("/api/v1/routing-rules/{rule}"),
                &self.admin_token,
                json!({"version": version, "declare": {"severity": "sev2"}}),
            )
            .await;
    }

    /// Change the incident `id` at its current version.
    async fn change_incident(&self, id: &str, change: Value) -> Value {
        let path = format!("/api/v1/incidents/{id}");
        let current = self.app.api_get(&path, &self.ada_token).await;
        let mut change = change;
        change["version"] = current["version"].clone();
        self.app.patched(&path, &self.ada_token, change).await
    }

    /// Declare an incident from the group `dedup` as the holder of `token`.
    async fn declare_from(&self, dedup: &str, token: &str, body: Value) -> Value {
        let group: String =
            sqlx::query_scalar("SELECT id::text FROM alert_groups WHERE group_key = $1")
                .bind(dedup)
                .fetch_one(self.app.pool())
                .await
                .unwrap();
        let path = format!("/api/v1/alert-groups/{group}/declare");
        self.app.created(&path, token, body).await
    }

    async fn incident_of(&self, dedup: &str) -> Value {
        let id: String =
            sqlx::query_scalar("SELECT incident_id::text FROM alert_groups WHERE group_key = $1")
                .bind(dedup)
                .fetch_one(self.app.pool())
                .await
                .unwrap();
        self.app
            .api_get(&format!("/api/v1/incidents/{id}"), &self.ada_token)
            .await
    }

    async fn log_of(&self, incident: &Value) -> Vec<String> {
        let id = incident["id"].as_str().unwrap();
        let events = self
            .app
            .api_get(&format!("/api/v1/incidents/{id}/events"), &self.ada_token)
            .await;
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["body"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn the_acknowledger_leads_the_incident_declared_from_the_page_and_the_person_paged_writes_the_report(
) {
    let s = setup().await;
    s.alert("api", "firing").await;
    // The countdown ends and Ada, on duty, is paged; Grace answers.
    assert_eq!(s.run_steps_until(later(1)).await, 1);
    s.acknowledge_as("api", &s.grace_token).await;
    // Ada declares from the group: Grace, who answered, leads; Ada, who was paged, writes
    // the report.
    let incident = s.declare_from("api", &s.ada_token, json!({})).await;
    assert_eq!(incident["leader"]["id"], s.grace.as_str(), "{incident}");
    assert_eq!(incident["report_owner"]["id"], s.ada.as_str(), "{incident}");
    assert_eq!(incident["report_owner"]["name"], "ada");
    let log = s.log_of(&incident).await;
    assert!(
        log.iter()
            .any(|b| b == "ada was paged for ALR-1 and writes the incident report."),
        "{log:?}"
    );
    // The incident page says so too.
    let mut browser = s.app.browser();
    assert_eq!(
        browser.sign_in_as("ada@example.com").await,
        StatusCode::SEE_OTHER
    );
    let page = browser.incident_page(&incident).await;
    assert_eq!(page.select("#leader"), ["grace"]);
    assert_eq!(page.select("#report-owner strong"), ["ada"]);
}

#[tokio::test]
async fn an_acknowledgement_during_the_countdown_gives_the_acknowledger_both_command_and_report() {
    let s = setup().await;
    s.alert("api", "firing").await;
    s.acknowledge_as("api", &s.grace_token).await;
    // Nobody was paged: Grace, who answered, leads it and writes the report, whoever
    // declares it.
    let incident = s.declare_from("api", &s.admin_token, json!({})).await;
    assert_eq!(incident["leader"]["id"], s.grace.as_str(), "{incident}");
    assert_eq!(
        incident["report_owner"]["id"],
        s.grace.as_str(),
        "{incident}"
    );
}

#[tokio::test]
async fn an_incident_without_a_page_has_no_report_owner() {
    let s = setup().await;
    let incident = s
        .app
        .declare(
            &s.ada_token,
            json!({"title": "Slow search", "severity": "sev3"}),
        )
        .await;
    assert_eq!(incident["report_owner"], Value::Null, "{incident}");
    assert_eq!(incident["leader"]["id"], s.ada.as_str());
}

#[tokio::test]
async fn a_rule_declared_incident_goes_to_whoever_acknowledges_and_its_report_to_the_person_paged()
{
    let s = setup().await;
    s.rule_declares().await;
    s.alert("api", "firing").await;
    // The rule declared it at once, led by the rule's owner; nobody has the report yet.
    let incident = s.incident_of("api").await;
    assert_eq!(incident["leader"]["name"], "root", "{incident}");
    assert_eq!(incident["report_owner"], Value::Null);
    // Ada, on duty, is paged: the report is hers.
    assert_eq!(s.run_steps_until(later(1)).await, 1);
    let incident = s.incident_of("api").await;
    assert_eq!(incident["report_owner"]["id"], s.ada.as_str(), "{incident}");
    // Grace acknowledges: she takes command of the incident; the report stays Ada's.
    s.acknowledge_as("api", &s.grace_token).await;
    let incident = s.incident_of("api").await;
    assert_eq!(incident["leader"]["id"], s.grace.as_str(), "{incident}");
    assert_eq!(incident["report_owner"]["id"], s.ada.as_str());
    let log = s.log_of(&incident).await;
    assert!(
        log.iter().any(|b| b == "grace took command from root."),
        "{log:?}"
    );
}

#[tokio::test]
async fn a_leader_a_person_chose_keeps_command_when_the_page_is_acknowledged() {
    let s = setup().await;
    s.rule_declares().await;
    s.alert("api", "firing").await;
    let incident = s.incident_of("api").await;
    // Ada takes command before anybody acknowledges; Grace's acknowledgement leaves it.
    let id = incident["id"].as_str().unwrap();
    s.change_incident(id, json!({"leader_id": s.ada})).await;
    s.acknowledge_as("api", &s.grace_token).await;
    let incident = s.incident_of("api").await;
    assert_eq!(incident["leader"]["id"], s.ada.as_str(), "{incident}");
    // Nobody was paged: the report goes to Grace, who answered.
    assert_eq!(incident["report_owner"]["id"], s.grace.as_str());
}

#[tokio::test]
async fn the_dashboard_lists_resolved_paged_incidents_until_their_report_is_published() {
    let s = setup().await;
    s.alert("api", "firing").await;
    assert_eq!(s.run_steps_until(later(1)).await, 1);
    s.acknowledge_as("api", &s.ada_token).await;
    let incident = s
        .declare_from("api", &s.ada_token, json!({"title": "API down"}))
        .await;
    let id = incident["id"].as_str().unwrap().to_owned();
    // An incident nobody was paged for is never listed.
    s.app
        .declare(
            &s.ada_token,
            json!({"title": "Quiet one", "severity": "sev3"}),
        )
        .await;
    let quiet: String =
        sqlx::query_scalar("SELECT id::text FROM incidents WHERE title = 'Quiet one'")
            .fetch_one(s.app.pool())
            .await
            .unwrap();
    for incident in [&id, &quiet] {
        s.change_incident(incident, json!({"status": "resolved"}))
            .await;
    }
    let mut browser = s.app.signed_in("viewer@example.com", Role::Viewer).await;
    let dashboard = browser.get("/admin").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    let listed = dashboard.select("#paged-unreported li");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].contains("INC-1"), "{listed:?}");
    assert!(listed[0].contains("API down"), "{listed:?}");
    assert!(listed[0].contains("report by ada"), "{listed:?}");
    // A draft is not a report; a published one is.
    let pm = s
        .app
        .created(
            &format!("/api/v1/incidents/{id}/postmortem"),
            &s.ada_token,
            json!({}),
        )
        .await;
    assert!(
        pm["body"]
            .as_str()
            .unwrap()
            .contains("**Report by:** ada (paged)"),
        "{pm}"
    );
    let listed = browser.get("/admin").await.select("#paged-unreported li");
    assert_eq!(listed.len(), 1, "{listed:?}");
    let pm_path = format!("/api/v1/postmortems/{}", pm["id"].as_str().unwrap());
    s.app
        .patched(
            &pm_path,
            &s.ada_token,
            json!({"version": 1, "status": "published"}),
        )
        .await;
    let dashboard = browser.get("/admin").await;
    assert!(
        dashboard.select("#paged-unreported").is_empty(),
        "{}",
        dashboard.text
    );
}
