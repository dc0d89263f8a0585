//! `/admin/routing-rules` (admins): the ordered rules that route alert groups, their
//! form, and a test of the saved rules against a pasted payload, which writes nothing.

mod form;

use askama::Template;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use uuid::Uuid;

use self::form::{RuleForm, RuleFormView, Targets};
use super::incidents::view::{choices, Choice};
use super::Reply;
use crate::alerts::integrations::{self, IntegrationRow};
use crate::alerts::routing::commands::{self, Step};
use crate::alerts::routing::preview::{self, RuleTest, RuleTestResult};
use crate::alerts::routing::store::{self, RuleRow};
use crate::alerts::IntegrationKind;
use crate::app::AppState;
use crate::components;
use crate::http::error::AppError;
use crate::http::extract::{AsAdmin, Button, CsrfForm, Path, Staff};
use crate::http::page::{render_admin, render_refused, Layout};
use crate::platform::command::CommandError;

/// What a rule can page: the teams and the escalation policies.
async fn targets(pool: &sqlx::PgPool) -> Result<Targets, AppError> {
    let teams = crate::oncall::teams::list(pool).await?;
    let policies = crate::oncall::policies::list(pool).await?;
    Ok(Targets {
        teams: teams.into_iter().map(|t| (t.id, t.name)).collect(),
        policies: policies.into_iter().map(|p| (p.id, p.name)).collect(),
    })
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/routing-rules", get(list_rules).post(create_rule))
        .route("/admin/routing-rules/test", post(test_rules))
        .route(
            "/admin/routing-rules/{id}",
            get(edit_rule).post(update_rule),
        )
        .route("/admin/routing-rules/{id}/enabled", post(set_enabled))
        .route("/admin/routing-rules/{id}/move", post(move_rule))
        .route("/admin/routing-rules/{id}/delete", post(delete_rule))
}

/// One rule in the list.
pub struct RuleItem {
    pub id: Uuid,
    pub name: String,
    pub enabled: bool,
    pub version: i32,
    pub matchers: Vec<String>,
    pub conditions: Vec<String>,
    pub urgency: &'static str,
    pub actions: Vec<String>,
    /// Why the stored rule no longer reads (it is skipped when routing).
    pub problem: Option<String>,
    pub first: bool,
    pub last: bool,
}

fn rule_item(row: &RuleRow, integrations: &[IntegrationRow], at: usize, n: usize) -> RuleItem {
    let rule = row.rule();
    let mut conditions = Vec::new();
    if !row.integration_ids.is_empty() {
        let names: Vec<&str> = row
            .integration_ids
            .iter()
            .map(|id| {
                integrations
                    .iter()
                    .find(|i| i.id == *id)
                    .map_or("(deleted)", |i| i.name.as_str())
            })
            .collect();
        conditions.push(format!("integration: {}", names.join(", ")));
    }
    if !row.severities.is_empty() {
        conditions.push(format!("severity: {}", row.severities.join(", ")));
    }
    let mut actions = Vec::new();
    if let Ok(rule) = &rule {
        if let Some(d) = &rule.declare {
            actions.push(match d.severity {
                Some(s) => format!("declare a {} incident", s.label()),
                None => "declare an incident".to_owned(),
            });
        }
        if let Some(c) = &rule.component_status {
            actions.push(format!("propose component status {}", c.status.label()));
        }
    }
    RuleItem {
        id: row.id,
        name: row.name.clone(),
        enabled: row.enabled,
        version: row.version,
        matchers: rule
            .as_ref()
            .map(|r| r.matchers.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        conditions,
        urgency: row.urgency.label(),
        actions,
        problem: rule.err(),
        first: at == 0,
        last: at + 1 == n,
    }
}

/// The test form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TestForm {
    kind: String,
    integration_id: String,
    payload: String,
}

/// What a test found, as the page shows it.
pub struct TestResultView {
    pub matched: Option<String>,
    pub urgency: Option<&'static str>,
    pub title: Option<String>,
    pub group_key: Option<String>,
    pub severity: Option<&'static str>,
    pub labels: Vec<(String, String)>,
    pub declare: Option<String>,
    pub propose: Option<String>,
    pub errors: Vec<String>,
}

fn result_view(r: RuleTestResult) -> TestResultView {
    TestResultView {
        matched: r.matched_rule.map(|m| m.name),
        urgency: r.urgency.map(|u| u.label()),
        title: r.title,
        group_key: r.group_key,
        severity: r.severity.map(|s| s.label()),
        labels: r
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        declare: r.declare.map(|d| {
            let on = if d.components.is_empty() {
                String::new()
            } else {
                format!(" on {}", d.components.join(", "))
            };
            format!("{} \"{}\"{on}", d.severity.label(), d.title)
        }),
        propose: r
            .component_status
            .map(|c| format!("{} for {}", c.status.label(), c.components.join(", "))),
        errors: r.errors,
    }
}

#[derive(Template)]
#[template(path = "admin/routing_rules.html")]
struct RulesPage {
    layout: Layout,
    rules: Vec<RuleItem>,
    f: RuleFormView,
    action: String,
    error: Option<String>,
    kinds: Vec<Choice>,
    test_integrations: Vec<Choice>,
    payload: String,
    result: Option<TestResultView>,
}

async fn rules_page(
    staff: &Staff<AsAdmin>,
    form: RuleForm,
    error: Option<String>,
    test: &TestForm,
    result: Option<TestResultView>,
) -> Result<RulesPage, AppError> {
    let pool = &staff.state.pool;
    let rows = store::list(pool).await?;
    let all = integrations::list(pool).await?;
    let components = components::list(pool).await?;
    let n = rows.len();
    let kind = IntegrationKind::parse(&test.kind).unwrap_or(IntegrationKind::Alertmanager);
    let chosen = Uuid::parse_str(&test.integration_id).ok();
    let mut test_integrations = vec![Choice {
        value: String::new(),
        label: "A new integration of that kind".into(),
        selected: chosen.is_none(),
    }];
    test_integrations.extend(all.iter().map(|i| Choice {
        value: i.id.to_string(),
        label: i.name.clone(),
        selected: Some(i.id) == chosen,
    }));
    Ok(RulesPage {
        layout: Layout::of(staff, "Routing rules", "Alerts"),
        rules: rows
            .iter()
            .enumerate()
            .map(|(at, row)| rule_item(row, &all, at, n))
            .collect(),
        f: RuleFormView::new(form, &all, &components, &targets(pool).await?),
        action: "/admin/routing-rules".into(),
        error,
        kinds: choices(
            IntegrationKind::ALL,
            Some(kind),
            IntegrationKind::as_str,
            IntegrationKind::label,
        ),
        test_integrations,
        payload: test.payload.clone(),
        result,
    })
}

pub async fn list_rules(staff: Staff<AsAdmin>) -> Reply {
    let page = rules_page(&staff, RuleForm::blank(), None, &TestForm::default(), None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

/// A refusal a person can act on: the message; anything else is an error page.
fn message(err: CommandError) -> Result<String, AppError> {
    match err {
        CommandError::Invalid { message, .. } => Ok(message),
        CommandError::Stale { .. } => Ok("Someone changed this rule while you were editing; \
             nothing was saved. Reload to see it as it is."
            .to_owned()),
        other => Err(other.into()),
    }
}

pub async fn create_rule(
    staff: Staff<AsAdmin>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Reply {
    let form = RuleForm::from_fields(&fields);
    let refused = match form.read() {
        Ok(new) => {
            let mut tx = staff.begin().await?;
            match commands::create(&mut tx, Some(staff.id()), new).await {
                Ok(row) => {
                    let message = format!("Saved the routing rule \"{}\".", row.name);
                    return staff
                        .commit_and_flash(tx, "/admin/routing-rules", &message)
                        .await;
                }
                Err(err) => message(err)?,
            }
        }
        Err(problem) => problem,
    };
    let page = rules_page(&staff, form, Some(refused), &TestForm::default(), None).await?;
    render_refused(&staff.state, &page.layout, &page)
}

/// Try the saved rules on a pasted payload; nothing is written.
pub async fn test_rules(staff: Staff<AsAdmin>, CsrfForm(test): CsrfForm<TestForm>) -> Reply {
    let kind = IntegrationKind::parse(&test.kind)
        .ok_or_else(|| AppError::field("kind", "Choose the format of the payload."))?;
    let integration_id = match test.integration_id.trim() {
        "" => None,
        raw => Some(
            Uuid::parse_str(raw)
                .map_err(|_| AppError::field("integration_id", "Choose an integration."))?,
        ),
    };
    let run = RuleTest {
        kind,
        payload: test.payload.clone().into_bytes(),
        integration_id,
        draft: None,
    };
    let mut conn = staff.state.pool.acquire().await?;
    let result = preview::run(&mut conn, run).await?;
    drop(conn);
    let page = rules_page(
        &staff,
        RuleForm::blank(),
        None,
        &test,
        Some(result_view(result)),
    )
    .await?;
    render_admin(&staff.state, &page.layout, &page)
}

#[derive(Template)]
#[template(path = "admin/routing_rule.html")]
struct RulePage {
    layout: Layout,
    f: RuleFormView,
    action: String,
    error: Option<String>,
}

async fn rule_page(
    staff: &Staff<AsAdmin>,
    id: Uuid,
    form: Option<RuleForm>,
    error: Option<String>,
) -> Result<RulePage, AppError> {
    let pool = &staff.state.pool;
    let row = store::find(pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such routing rule.".into()))?;
    let all = integrations::list(pool).await?;
    let components = components::list(pool).await?;
    // Shown again after a refusal: what was typed, at the version it was typed on.
    let form = form.unwrap_or_else(|| RuleForm::from_row(&row));
    Ok(RulePage {
        layout: Layout::of(staff, &row.name, "Alerts"),
        f: RuleFormView::new(form, &all, &components, &targets(pool).await?),
        action: format!("/admin/routing-rules/{id}"),
        error,
    })
}

pub async fn edit_rule(staff: Staff<AsAdmin>, Path(id): Path<Uuid>) -> Reply {
    let page = rule_page(&staff, id, None, None).await?;
    render_admin(&staff.state, &page.layout, &page)
}

pub async fn update_rule(
    staff: Staff<AsAdmin>,
    Path(id): Path<Uuid>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Reply {
    let form = RuleForm::from_fields(&fields);
    let version = form
        .version
        .ok_or_else(|| AppError::BadRequest("The form has no version.".into()))?;
    let refused = match form.changes() {
        Ok(change) => {
            let mut tx = staff.begin().await?;
            match commands::update(&mut tx, Some(staff.id()), id, version, change).await {
                Ok(row) => {
                    let message = format!("Saved the routing rule \"{}\".", row.name);
                    return staff
                        .commit_and_flash(tx, "/admin/routing-rules", &message)
                        .await;
                }
                Err(err) => message(err)?,
            }
        }
        Err(problem) => problem,
    };
    let page = rule_page(&staff, id, Some(form), Some(refused)).await?;
    render_refused(&staff.state, &page.layout, &page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RuleButtonForm {
    version: i32,
    enabled: String,
    direction: String,
}

async fn done(staff: &Staff<AsAdmin>, result: Result<String, CommandError>) -> Reply {
    match result {
        Ok(message) => Ok(staff.flash("/admin/routing-rules", &message)),
        Err(err) => Ok(staff.flash("/admin/routing-rules", &message(err)?)),
    }
}

pub async fn set_enabled(
    staff: Staff<AsAdmin>,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<RuleButtonForm>,
) -> Reply {
    let enabled = form.enabled == "true";
    let change = commands::RuleChanges {
        enabled: Some(enabled),
        ..Default::default()
    };
    let mut tx = staff.begin().await?;
    let result = commands::update(&mut tx, Some(staff.id()), id, form.version, change).await;
    if result.is_ok() {
        tx.commit().await?;
    }
    let result = result.map(|row| {
        let now = if enabled {
            "routes from now on"
        } else {
            "is skipped"
        };
        format!("The routing rule \"{}\" {now}.", row.name)
    });
    done(&staff, result).await
}

pub async fn move_rule(
    staff: Staff<AsAdmin>,
    Path(id): Path<Uuid>,
    CsrfForm(form): CsrfForm<RuleButtonForm>,
) -> Reply {
    let step = match form.direction.as_str() {
        "up" => Step::Up,
        "down" => Step::Down,
        _ => return Err(AppError::field("direction", "Move a rule up or down.")),
    };
    let mut tx = staff.begin().await?;
    let result = commands::move_step(&mut tx, Some(staff.id()), id, form.version, step).await;
    if result.is_ok() {
        tx.commit().await?;
    }
    let result = result.map(|row| format!("Moved the routing rule \"{}\".", row.name));
    done(&staff, result).await
}

pub async fn delete_rule(staff: Staff<AsAdmin>, Path(id): Path<Uuid>, _: Button) -> Reply {
    let mut tx = staff.begin().await?;
    let rule = commands::delete(&mut tx, Some(staff.id()), id).await?;
    let message = format!("Deleted the routing rule \"{}\".", rule.name);
    staff
        .commit_and_flash(tx, "/admin/routing-rules", &message)
        .await
}
