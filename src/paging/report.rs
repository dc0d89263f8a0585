//! The on-call report: per person, for one month (UTC), hours on duty, pages received,
//! acknowledged and missed, time to acknowledge, pages outside working hours, and
//! incidents led. For the on-call stipend and per-page pay.

use std::collections::BTreeMap;

use sqlx::PgConnection;
use time::{Date, Month, OffsetDateTime, Time};
use uuid::Uuid;

use crate::oncall::{duty, teams, TeamRow};

/// One person's month.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonMonth {
    pub user_id: Uuid,
    pub name: String,
    pub hours_on_duty: f64,
    /// Pages that reached them.
    pub pages: i64,
    /// Of those, how many someone acknowledged.
    pub acknowledged: i64,
    /// Pages they acknowledged themselves.
    pub acknowledged_by_them: i64,
    /// From being paged to the acknowledgement, over their acknowledged pages.
    pub ack_seconds_p50: Option<f64>,
    pub ack_seconds_p90: Option<f64>,
    /// Pages that reached them outside their team's working hours.
    pub pages_outside_working_hours: i64,
    /// Pages that went on past them (a later step paged others, or nobody answered) and
    /// that they did not acknowledge.
    pub missed: i64,
    /// Incidents declared that month that they lead.
    pub incidents_led: i64,
}

/// The first instant of `month` and of the month after it (UTC).
pub fn month_bounds(year: i32, month: Month) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let start = Date::from_calendar_date(year, month, 1).ok()?;
    let (next_year, next_month) = match month {
        Month::December => (year + 1, Month::January),
        m => (year, m.next()),
    };
    let end = Date::from_calendar_date(next_year, next_month, 1).ok()?;
    Some((
        start.with_time(Time::MIDNIGHT).assume_utc(),
        end.with_time(Time::MIDNIGHT).assume_utc(),
    ))
}

/// `YYYY-MM` as a year and month.
pub fn parse_month(raw: &str) -> Option<(i32, Month)> {
    let (y, m) = raw.trim().split_once('-')?;
    let year: i32 = y.parse().ok().filter(|y| (2000..=9999).contains(y))?;
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Some((year, month))
}

/// The `p`th percentile (0–1) of `values`, by the nearest rank.
fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// The report for `from..to` (a month), for one team or all; duty counts only up to
/// `now`. People appear when they were on duty, paged, or led an incident.
pub async fn report(
    conn: &mut PgConnection,
    from: OffsetDateTime,
    to: OffsetDateTime,
    team_id: Option<Uuid>,
    now: OffsetDateTime,
) -> sqlx::Result<Vec<PersonMonth>> {
    let all = teams::list(&mut *conn).await?;
    let chosen: Vec<&TeamRow> = all
        .iter()
        .filter(|t| team_id.is_none_or(|id| t.id == id))
        .collect();
    let mut people: BTreeMap<Uuid, PersonMonth> = BTreeMap::new();
    let until = to.min(now);
    for team in &chosen {
        if until <= from {
            break;
        }
        for shift in duty::timeline(&mut *conn, team, from, until).await? {
            let hours = (shift.end - shift.start).as_seconds_f64() / 3600.0;
            people.entry(shift.user_id).or_default().hours_on_duty += hours;
        }
    }
    let received = sqlx::query!(
        r#"SELECT r.user_id, r.paged_at, p.team_id, p.acknowledged_by, p.acknowledged_at,
                  (p.state = 'exhausted' OR EXISTS (
                      SELECT 1 FROM page_recipients o WHERE o.page_id = p.id AND o.paged_at > r.paged_at
                  )) AS "went_past!"
           FROM page_recipients r JOIN pages p ON p.id = r.page_id
           WHERE r.paged_at >= $1 AND r.paged_at < $2 AND ($3::uuid IS NULL OR p.team_id = $3)"#,
        from,
        to,
        team_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut ack_times: BTreeMap<Uuid, Vec<f64>> = BTreeMap::new();
    for r in received {
        let person = people.entry(r.user_id).or_default();
        person.pages += 1;
        if let Some(at) = r.acknowledged_at {
            person.acknowledged += 1;
            ack_times
                .entry(r.user_id)
                .or_default()
                .push((at - r.paged_at).as_seconds_f64().max(0.0));
        }
        let theirs = r.acknowledged_by == Some(r.user_id);
        if theirs {
            person.acknowledged_by_them += 1;
        }
        if r.went_past && !theirs {
            person.missed += 1;
        }
        let team = all.iter().find(|t| Some(t.id) == r.team_id);
        if team
            .and_then(TeamRow::working_hours)
            .is_some_and(|h| !h.contains(r.paged_at))
        {
            person.pages_outside_working_hours += 1;
        }
    }
    let led = sqlx::query!(
        r#"SELECT leader_id, count(*) AS "n!" FROM incidents
           WHERE declared_at >= $1 AND declared_at < $2 GROUP BY leader_id"#,
        from,
        to
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in led {
        // With a team chosen, only its people's incidents count.
        if team_id.is_none() || people.contains_key(&row.leader_id) {
            people.entry(row.leader_id).or_default().incidents_led = row.n;
        }
    }
    let ids: Vec<Uuid> = people.keys().copied().collect();
    let names = duty::names(&mut *conn, &ids).await?;
    let mut out: Vec<PersonMonth> = people
        .into_iter()
        .map(|(id, mut p)| {
            let times = ack_times.remove(&id).unwrap_or_default();
            p.ack_seconds_p50 = percentile(&times, 0.5);
            p.ack_seconds_p90 = percentile(&times, 0.9);
            p.hours_on_duty = (p.hours_on_duty * 100.0).round() / 100.0;
            p.user_id = id;
            p.name = names.get(&id).cloned().unwrap_or_default();
            p
        })
        .collect();
    out.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.user_id.cmp(&b.user_id))
    });
    Ok(out)
}

/// The report as CSV, one person a line, with a header.
pub fn csv(rows: &[PersonMonth]) -> String {
    let mut out = String::from(
        "user_id,name,hours_on_duty,pages,acknowledged,acknowledged_by_them,ack_seconds_p50,ack_seconds_p90,pages_outside_working_hours,missed,incidents_led\n",
    );
    let number = |v: Option<f64>| v.map(|v| format!("{v:.0}")).unwrap_or_default();
    for r in rows {
        // A name is quoted, its quotes doubled; one starting like a formula is defused.
        let mut name = r.name.replace('"', "\"\"");
        if name.starts_with(['=', '+', '-', '@']) {
            name.insert(0, '\'');
        }
        out.push_str(&format!(
            "{},\"{}\",{:.2},{},{},{},{},{},{},{},{}\n",
            r.user_id,
            name,
            r.hours_on_duty,
            r.pages,
            r.acknowledged,
            r.acknowledged_by_them,
            number(r.ack_seconds_p50),
            number(r.ack_seconds_p90),
            r.pages_outside_working_hours,
            r.missed,
            r.incidents_led
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn hours_in(from: OffsetDateTime, to: OffsetDateTime) -> f64 {
        (to - from).as_seconds_f64() / Duration::HOUR.as_seconds_f64()
    }

    #[test]
    fn percentiles_are_by_nearest_rank() {
        let v = [30.0, 10.0, 20.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0];
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.9), Some(90.0));
        assert_eq!(percentile(&[7.0], 0.9), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn months_are_read_and_bounded_in_utc() {
        let (y, m) = parse_month("2026-02").expect("a month");
        let (from, to) = month_bounds(y, m).expect("bounds");
        assert_eq!(hours_in(from, to), 28.0 * 24.0);
        let (from, to) = month_bounds(2026, Month::December).expect("bounds");
        assert_eq!(to.year(), 2027);
        assert_eq!(hours_in(from, to), 31.0 * 24.0);
        for bad in ["2026", "2026-13", "26-01", "2026-1x", ""] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
    }

    #[test]
    fn csv_quotes_names_and_defuses_formulas() {
        let row = PersonMonth {
            name: "=HYPERLINK(\"x\")".into(),
            hours_on_duty: 12.5,
            pages: 2,
            ack_seconds_p50: Some(42.4),
            ..PersonMonth::default()
        };
        let out = csv(&[row]);
        let line = out.lines().nth(1).expect("a row");
        assert!(
            line.contains(",\"'=HYPERLINK(\"\"x\"\")\",12.50,2,0,0,42,,0,0,0"),
            "{line}"
        );
    }
}
