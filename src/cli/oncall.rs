//! `fireline duty` and `fireline page`: who is on duty, taking and handing back duty, and
//! the running pages and acknowledging one, from the command line.

use anyhow::Context;

use crate::accounts::users;
use crate::app::config::{DutyCommand, PageCommand};
use crate::platform::db::Database;

pub(super) async fn duty_command(database: &Database, cmd: DutyCommand) -> anyhow::Result<()> {
    use crate::oncall::{duty, teams};
    let pool = &database.pool;
    let now = time::OffsetDateTime::now_utc();
    let team_named = |name: String| async move {
        teams::find_by_name(pool, name.trim())
            .await?
            .with_context(|| format!("There is no team called \"{}\".", name.trim()))
    };
    let user_by_email = |email: String| async move {
        users::find_by_email(pool, &email.trim().to_lowercase())
            .await?
            .with_context(|| format!("There is no user with the email address {}.", email.trim()))
    };
    match cmd {
        DutyCommand::Show { team } => {
            let shown = match team {
                Some(name) => vec![team_named(name).await?],
                None => teams::list(pool).await?,
            };
            if shown.is_empty() {
                eprintln!("There are no teams yet.");
            }
            let mut conn = pool.acquire().await?;
            for team in shown {
                let now_duty = duty::now(&mut conn, &team, now).await?;
                println!("{}", duty_line(&team.name, &now_duty));
            }
        }
        DutyCommand::Take { team, user } => {
            let (team, user) = (team_named(team).await?, user_by_email(user).await?);
            let mut tx = pool.begin().await?;
            duty::take(&mut tx, team.id, user.id, now)
                .await
                .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            tx.commit().await?;
            eprintln!(
                "{} is on duty for {} now, until they hand it back or someone else takes it.",
                user.name, team.name
            );
        }
        DutyCommand::Release { team, user } => {
            let (team, user) = (team_named(team).await?, user_by_email(user).await?);
            let mut tx = pool.begin().await?;
            duty::release(&mut tx, team.id, user.id, now)
                .await
                .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            let after = duty::now(&mut tx, &team, now).await?;
            tx.commit().await?;
            eprintln!("{} handed back {}'s duty.", user.name, team.name);
            println!("{}", duty_line(&team.name, &after));
        }
    }
    Ok(())
}

pub(super) async fn page_command(database: &Database, cmd: PageCommand) -> anyhow::Result<()> {
    use crate::paging::{self, store, AckOutcome, AckVia, PageState};
    let pool = &database.pool;
    let now = time::OffsetDateTime::now_utc();
    match cmd {
        PageCommand::List => {
            let running = [PageState::CountingDown, PageState::Paging];
            let pages = store::list(pool, &running, None, None, 200).await?;
            if pages.is_empty() {
                eprintln!("No page is counting down or paging.");
            }
            for page in pages {
                let stands = match (page.countdown_seconds(now), &page.countdown_target) {
                    (Some(s), Some(who)) => format!("paging {who} in {s} s"),
                    _ => "paged, nobody has acknowledged".into(),
                };
                println!(
                    "{}\t{}\t{}\t{}",
                    page.reference(),
                    crate::alerts::commands::reference(page.group_number),
                    page.group_title,
                    stands
                );
            }
        }
        PageCommand::Ack { page, user } => {
            let number: i64 = page
                .trim()
                .trim_start_matches("PAGE-")
                .trim_start_matches("page-")
                .parse()
                .with_context(|| format!("\"{page}\" is not a page; write it as PAGE-12."))?;
            let id = store::id_by_number(pool, number)
                .await?
                .with_context(|| format!("There is no page PAGE-{number}."))?;
            let user = users::find_by_email(pool, &user.trim().to_lowercase())
                .await?
                .with_context(|| {
                    format!("There is no user with the email address {}.", user.trim())
                })?;
            let mut tx = pool.begin().await?;
            let outcome = paging::acknowledge(&mut tx, id, user.id, AckVia::Cli, now)
                .await
                .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            tx.commit().await?;
            match outcome {
                AckOutcome::Acknowledged => eprintln!(
                    "PAGE-{number} is acknowledged by {}: nobody more is paged for it.",
                    user.name
                ),
                AckOutcome::Already { by, .. } => eprintln!(
                    "PAGE-{number} was acknowledged already, by {}.",
                    by.as_deref().unwrap_or("the monitoring tool")
                ),
                AckOutcome::Ended(state) => eprintln!(
                    "PAGE-{number} has ended ({}); there is nothing to acknowledge.",
                    state.label().to_lowercase()
                ),
            }
        }
    }
    Ok(())
}

/// "Platform: Ada (rotation) since 2026-12-01 09:00 UTC; next Grace at 2026-12-02 09:00 UTC".
fn duty_line(team: &str, duty: &crate::oncall::duty::DutyNow) -> String {
    use crate::platform::time::format_utc;
    let mut line = match (&duty.on_duty, duty.source) {
        (Some(person), Some(source)) => format!("{team}: {} ({})", person.name, source.label()),
        _ => format!("{team}: nobody on duty"),
    };
    if let Some(since) = duty.since {
        line.push_str(&format!(" since {}", format_utc(since)));
    }
    if let Some(next) = &duty.next {
        let who = next.person.as_ref().map_or("nobody", |p| p.name.as_str());
        line.push_str(&format!("; next {who} at {}", format_utc(next.at)));
    }
    line
}
