//! Active checks as stored, what each kind expects, and the commands that make, change,
//! pause, resume and delete them (each with its audit entry, in the caller's
//! transaction).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::alerts::intake::Labels;
use crate::components::ComponentStatus;
use crate::platform::audit::{self, AuditAction};
use crate::platform::command::CommandError;
use crate::platform::labelled_enum;
use crate::platform::text;

labelled_enum!(
    /// What a check does.
    CheckKind, "check_kind" {
        Http => "http", "HTTP(S) request";
        Tcp => "tcp", "TCP connect";
        Dns => "dns", "DNS lookup";
    }
);

labelled_enum!(
    /// Where a check stands.
    CheckState, "check_state" {
        New => "new", "New (not decided yet)";
        Up => "up", "Up";
        Down => "down", "Down";
        Paused => "paused", "Paused";
    }
);

labelled_enum!(
    /// What a check going down does to its component's public status.
    ApplyMode, "check_apply" {
        AtOnce => "at_once", "Change the status page at once";
        AfterDelay => "after_delay", "Change it after a delay unless someone overrides";
        Propose => "propose", "Only propose it to a person";
    }
);

/// The shortest interval; the longest is a day.
pub const MIN_INTERVAL: i32 = 10;
pub const MAX_INTERVAL: i32 = 86_400;

/// What a check expects, by kind (fields of another kind are refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CheckSettings {
    /// HTTP: the method (default GET).
    pub method: String,
    /// HTTP: request headers.
    pub headers: BTreeMap<String, String>,
    /// HTTP: a request body.
    pub body: Option<String>,
    /// HTTP: the status the answer must have (default: any 2xx, after up to 5 redirects).
    pub expected_status: Option<u16>,
    /// HTTP: text the answer must contain.
    pub body_contains: Option<String>,
    /// HTTP: text the answer must not contain.
    pub body_not_contains: Option<String>,
    /// HTTP: slower answers fail.
    pub max_response_ms: Option<u32>,
    /// HTTPS: fail when the certificate expires within this many days.
    pub cert_min_days: Option<u32>,
    /// HTTPS: verify the certificate (default true; false still reads its expiry).
    pub verify_tls: bool,
    /// DNS: `A` or `AAAA` (default: either).
    pub record_type: Option<String>,
    /// DNS: an address the answer must include.
    pub expect_address: Option<String>,
}

impl Default for CheckSettings {
    fn default() -> Self {
        CheckSettings {
            method: "GET".into(),
            headers: BTreeMap::new(),
            body: None,
            expected_status: None,
            body_contains: None,
            body_not_contains: None,
            max_response_ms: None,
            cert_min_days: None,
            verify_tls: true,
            record_type: None,
            expect_address: None,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckRow {
    pub id: Uuid,
    pub name: String,
    pub kind: CheckKind,
    pub target: String,
    pub settings: serde_json::Value,
    pub interval_seconds: i32,
    pub timeout_ms: i32,
    pub failures_before_down: i32,
    pub successes_before_up: i32,
    pub labels: serde_json::Value,
    pub component_id: Option<Uuid>,
    pub down_status: ComponentStatus,
    pub apply_mode: ApplyMode,
    pub apply_after_minutes: i32,
    pub auto_recover: bool,
    pub state: CheckState,
    pub failures: i32,
    pub successes: i32,
    pub next_run_at: OffsetDateTime,
    /// The run a process holds, and which process.
    pub running_slot: Option<OffsetDateTime>,
    pub leased_by: Option<String>,
    pub last_run_at: Option<OffsetDateTime>,
    pub last_ok: Option<bool>,
    pub last_latency_ms: Option<i32>,
    pub last_error: Option<String>,
    pub state_since: Option<OffsetDateTime>,
    pub alerting: bool,
    pub version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl CheckRow {
    pub fn settings(&self) -> CheckSettings {
        serde_json::from_value(self.settings.clone()).unwrap_or_default()
    }

    /// The target without the password a URL may carry, for people who only read.
    pub fn shown_target(&self) -> String {
        match url::Url::parse(&self.target) {
            Ok(mut url) if self.kind == CheckKind::Http && url.password().is_some() => {
                let _ = url.set_password(Some("••••"));
                url.to_string()
            }
            _ => self.target.clone(),
        }
    }

    /// The settings with header values hidden (they often carry tokens), for people
    /// who only read.
    pub fn shown_settings(&self) -> CheckSettings {
        let mut s = self.settings();
        for value in s.headers.values_mut() {
            *value = "••••".to_owned();
        }
        s
    }

    pub fn labels(&self) -> Labels {
        serde_json::from_value(self.labels.clone()).unwrap_or_default()
    }
}

/// A statement yielding whole check rows; `$rest` follows the column list.
macro_rules! check_rows {
    ($before:literal, $rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            CheckRow,
            $before + r#"id, name, kind AS "kind: CheckKind", target, settings, interval_seconds,
                 timeout_ms, failures_before_down, successes_before_up, labels, component_id,
                 down_status AS "down_status: ComponentStatus",
                 apply_mode AS "apply_mode: ApplyMode", apply_after_minutes, auto_recover,
                 state AS "state: CheckState", failures, successes, next_run_at, running_slot,
                 leased_by, last_run_at,
                 last_ok, last_latency_ms, last_error, state_since, alerting, version,
                 created_at, updated_at "# + $rest
            $(, $arg)*
        )
    };
}
pub(crate) use check_rows;

pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<CheckRow>> {
    check_rows!("SELECT ", "FROM checks ORDER BY lower(name), id")
        .fetch_all(db)
        .await
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<CheckRow>> {
    check_rows!("SELECT ", "FROM checks WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

/// The checks of a component.
pub async fn of_component(
    db: impl PgExecutor<'_>,
    component_id: Uuid,
) -> sqlx::Result<Vec<CheckRow>> {
    check_rows!(
        "SELECT ",
        "FROM checks WHERE component_id = $1 ORDER BY lower(name)",
        component_id
    )
    .fetch_all(db)
    .await
}

pub(crate) async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<CheckRow, CommandError> {
    check_rows!("SELECT ", "FROM checks WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(conn)
        .await?
        .ok_or(CommandError::NotFound)
}

/// What a check is made of (every field, for a change too).
#[derive(Debug, Clone)]
pub struct NewCheck {
    pub name: String,
    pub kind: CheckKind,
    pub target: String,
    pub settings: CheckSettings,
    pub interval_seconds: i32,
    pub timeout_ms: i32,
    pub failures_before_down: i32,
    pub successes_before_up: i32,
    pub labels: Labels,
    pub component_id: Option<Uuid>,
    pub down_status: ComponentStatus,
    pub apply_mode: ApplyMode,
    pub apply_after_minutes: i32,
    pub auto_recover: bool,
}

impl NewCheck {
    /// A check of `kind` on `target` with the defaults: every minute, 10 s timeout,
    /// down after 3 failures, up after 2 successes, no component.
    pub fn new(name: &str, kind: CheckKind, target: &str) -> NewCheck {
        NewCheck {
            name: name.to_owned(),
            kind,
            target: target.to_owned(),
            settings: CheckSettings::default(),
            interval_seconds: 60,
            timeout_ms: 10_000,
            failures_before_down: 3,
            successes_before_up: 2,
            labels: Labels::new(),
            component_id: None,
            down_status: ComponentStatus::MajorOutage,
            apply_mode: ApplyMode::Propose,
            apply_after_minutes: 5,
            auto_recover: true,
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> CommandError {
    CommandError::invalid(field, message)
}

fn in_range(
    field: &'static str,
    value: i32,
    low: i32,
    high: i32,
    what: &str,
) -> Result<(), CommandError> {
    if (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("The {what} is {low} to {high}, not {value}."),
        ))
    }
}

/// The target in the form its kind needs.
fn check_target(kind: CheckKind, target: &str) -> Result<String, CommandError> {
    let target = target.trim();
    if target.is_empty() || target.len() > 2000 {
        return Err(invalid(
            "target",
            "Give what to check (at most 2,000 characters).",
        ));
    }
    match kind {
        CheckKind::Http => {
            let url = url::Url::parse(target)
                .map_err(|e| invalid("target", format!("{target:?} is not a URL: {e}.")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(invalid(
                    "target",
                    "An HTTP check needs an http:// or https:// URL.",
                ));
            }
            Ok(url.to_string())
        }
        CheckKind::Tcp => {
            let port = target.rsplit_once(':').and_then(|(host, port)| {
                let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
                (!host.is_empty() && !host.contains(char::is_whitespace)).then_some(port)
            });
            match port {
                Some(_) => Ok(target.to_owned()),
                None => Err(invalid(
                    "target",
                    format!("A TCP check connects to host:port (db.internal:5432, [::1]:6379), not {target:?}."),
                )),
            }
        }
        CheckKind::Dns => {
            let valid = target.len() <= 253
                && target.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                });
            if valid {
                Ok(target.to_owned())
            } else {
                Err(invalid("target", format!("{target:?} is not a host name.")))
            }
        }
    }
}

fn check_settings(kind: CheckKind, target: &str, s: &CheckSettings) -> Result<(), CommandError> {
    let http_only = s.method != "GET"
        || !s.headers.is_empty()
        || s.body.is_some()
        || s.expected_status.is_some()
        || s.body_contains.is_some()
        || s.body_not_contains.is_some()
        || s.max_response_ms.is_some()
        || s.cert_min_days.is_some()
        || !s.verify_tls;
    let dns_only = s.record_type.is_some() || s.expect_address.is_some();
    if kind != CheckKind::Http && http_only {
        return Err(invalid("settings", "Method, headers, body, status, contents, response time and certificate settings are for HTTP checks."));
    }
    if kind != CheckKind::Dns && dns_only {
        return Err(invalid(
            "settings",
            "The record type and expected address are for DNS checks.",
        ));
    }
    const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    if !METHODS.contains(&s.method.as_str()) {
        return Err(invalid(
            "settings.method",
            format!(
                "The method is one of {}, not {:?}.",
                METHODS.join(", "),
                s.method
            ),
        ));
    }
    if s.headers.len() > 30 {
        return Err(invalid("settings.headers", "At most 30 headers."));
    }
    for (name, value) in &s.headers {
        let ok = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && reqwest::header::HeaderValue::from_str(value).is_ok();
        if !ok {
            return Err(invalid(
                "settings.headers",
                format!("Header {name:?} is not a valid HTTP header."),
            ));
        }
    }
    if s.body.as_ref().is_some_and(|b| b.len() > 10_000) {
        return Err(invalid(
            "settings.body",
            "The request body is at most 10,000 bytes.",
        ));
    }
    if let Some(code) = s.expected_status {
        if !(100..=599).contains(&code) {
            return Err(invalid(
                "settings.expected_status",
                format!("{code} is not an HTTP status."),
            ));
        }
    }
    for needle in [&s.body_contains, &s.body_not_contains]
        .into_iter()
        .flatten()
    {
        if needle.is_empty() || needle.len() > 1000 {
            return Err(invalid(
                "settings.body_contains",
                "Text to look for is 1 to 1,000 characters.",
            ));
        }
    }
    if s.cert_min_days.is_some() && !target.starts_with("https://") {
        return Err(invalid(
            "settings.cert_min_days",
            "A certificate check needs an https:// URL.",
        ));
    }
    if s.cert_min_days.is_some_and(|d| d > 3650) {
        return Err(invalid("settings.cert_min_days", "At most 3,650 days."));
    }
    if let Some(kind) = &s.record_type {
        if kind != "A" && kind != "AAAA" {
            return Err(invalid(
                "settings.record_type",
                format!("The record type is A or AAAA, not {kind:?}."),
            ));
        }
    }
    if let Some(address) = &s.expect_address {
        if address.parse::<IpAddr>().is_err() {
            return Err(invalid(
                "settings.expect_address",
                format!("{address:?} is not an IP address."),
            ));
        }
    }
    Ok(())
}

/// The check as it will be stored, or why not.
fn checked(new: &NewCheck) -> Result<(String, String), CommandError> {
    let name = text::NAME
        .trimmed("name", &new.name, "The name cannot be empty.")?
        .to_owned();
    let target = check_target(new.kind, &new.target)?;
    check_settings(new.kind, &target, &new.settings)?;
    in_range(
        "interval_seconds",
        new.interval_seconds,
        MIN_INTERVAL,
        MAX_INTERVAL,
        "interval in seconds",
    )?;
    in_range(
        "timeout_ms",
        new.timeout_ms,
        100,
        60_000,
        "timeout in milliseconds",
    )?;
    if i64::from(new.timeout_ms) > i64::from(new.interval_seconds) * 1000 {
        return Err(invalid(
            "timeout_ms",
            "The timeout cannot be longer than the interval.",
        ));
    }
    in_range(
        "failures_before_down",
        new.failures_before_down,
        1,
        100,
        "number of failures before down",
    )?;
    in_range(
        "successes_before_up",
        new.successes_before_up,
        1,
        100,
        "number of successes before up",
    )?;
    in_range(
        "apply_after_minutes",
        new.apply_after_minutes,
        1,
        1440,
        "delay in minutes",
    )?;
    if matches!(
        new.down_status,
        ComponentStatus::Operational | ComponentStatus::UnderMaintenance
    ) {
        return Err(invalid(
            "down_status",
            "A check down proposes degraded performance, a partial outage or a major outage.",
        ));
    }
    super::heartbeats::check_labels(&new.labels)?;
    Ok((name, target))
}

fn refused(err: sqlx::Error, name: &str) -> CommandError {
    match crate::platform::db::violated_constraint(&err) {
        Some("checks_name_key") => {
            invalid("name", format!("A check called \"{name}\" exists already."))
        }
        Some("checks_component_id_fkey") => invalid("component_id", "There is no such component."),
        _ => err.into(),
    }
}

/// Make a check; its first run is due at once.
pub async fn create(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    new: NewCheck,
) -> Result<CheckRow, CommandError> {
    let (name, target) = checked(&new)?;
    let row = check_rows!(
        "INSERT INTO checks (id, name, kind, target, settings, interval_seconds, timeout_ms, \
             failures_before_down, successes_before_up, labels, component_id, down_status, \
             apply_mode, apply_after_minutes, auto_recover, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING ",
        "",
        Uuid::new_v4(),
        name,
        new.kind as CheckKind,
        target,
        serde_json::to_value(&new.settings).unwrap_or_default(),
        new.interval_seconds,
        new.timeout_ms,
        new.failures_before_down,
        new.successes_before_up,
        serde_json::to_value(&new.labels).unwrap_or_default(),
        new.component_id,
        new.down_status as ComponentStatus,
        new.apply_mode as ApplyMode,
        new.apply_after_minutes,
        new.auto_recover,
        actor
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| refused(e, &name))?;
    let action = AuditAction::CheckCreated {
        check_id: row.id,
        name: row.name.clone(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(row)
}

/// Change a check read at `version`. Its state and counts stay; a new interval counts
/// from the last run.
pub async fn update(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    version: i32,
    change: NewCheck,
) -> Result<CheckRow, CommandError> {
    let current = lock(&mut *conn, id).await?;
    CommandError::unless_version(version, current.version)?;
    let (name, target) = checked(&change)?;
    let row = check_rows!(
        "UPDATE checks SET name = $2, kind = $3, target = $4, settings = $5, \
             interval_seconds = $6, timeout_ms = $7, failures_before_down = $8, \
             successes_before_up = $9, labels = $10, component_id = $11, down_status = $12, \
             apply_mode = $13, apply_after_minutes = $14, auto_recover = $15, \
             next_run_at = least(next_run_at, \
                 coalesce(last_run_at, now()) + make_interval(secs => $6::integer)), \
             version = version + 1, updated_at = now() \
         WHERE id = $1 RETURNING ",
        "",
        id,
        name,
        change.kind as CheckKind,
        target,
        serde_json::to_value(&change.settings).unwrap_or_default(),
        change.interval_seconds,
        change.timeout_ms,
        change.failures_before_down,
        change.successes_before_up,
        serde_json::to_value(&change.labels).unwrap_or_default(),
        change.component_id,
        change.down_status as ComponentStatus,
        change.apply_mode as ApplyMode,
        change.apply_after_minutes,
        change.auto_recover
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| refused(e, &name))?;
    let action = AuditAction::CheckUpdated {
        check_id: row.id,
        name: row.name.clone(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(row)
}

async fn set_state(conn: &mut PgConnection, id: Uuid, state: CheckState) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE checks SET state = $2, failures = 0, successes = 0, state_since = now(), \
             next_run_at = now(), running_slot = NULL, lease_until = NULL, leased_by = NULL, \
             version = version + 1, updated_at = now() \
         WHERE id = $1",
        id,
        state as CheckState
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Pause: no runs until [`resume`]; an alert it raised resolves and its open proposal is
/// withdrawn.
pub async fn pause(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<CheckRow, CommandError> {
    let current = lock(&mut *conn, id).await?;
    if current.state != CheckState::Paused {
        let now = OffsetDateTime::now_utc();
        super::alerting::resolve_check(&mut *conn, &current, now, "was paused").await?;
        super::effects::withdraw(&mut *conn, id).await?;
        set_state(&mut *conn, id, CheckState::Paused).await?;
        let action = AuditAction::CheckPaused {
            check_id: id,
            name: current.name.clone(),
        };
        audit::log(&mut *conn, actor, &action).await?;
    }
    lock(conn, id).await
}

/// Resume a paused check: it is *new* again and runs at once.
pub async fn resume(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<CheckRow, CommandError> {
    let current = lock(&mut *conn, id).await?;
    if current.state == CheckState::Paused {
        set_state(&mut *conn, id, CheckState::New).await?;
        let action = AuditAction::CheckResumed {
            check_id: id,
            name: current.name.clone(),
        };
        audit::log(&mut *conn, actor, &action).await?;
    }
    lock(conn, id).await
}

/// Delete a check and its results; an alert it raised resolves.
pub async fn delete(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
) -> Result<(), CommandError> {
    let current = lock(&mut *conn, id).await?;
    let now = OffsetDateTime::now_utc();
    super::alerting::resolve_check(&mut *conn, &current, now, "was deleted").await?;
    super::effects::withdraw(&mut *conn, id).await?;
    sqlx::query!("DELETE FROM checks WHERE id = $1", id)
        .execute(&mut *conn)
        .await?;
    let action = AuditAction::CheckDeleted {
        check_id: id,
        name: current.name,
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(())
}
