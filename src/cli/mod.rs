//! What each command does. `main.rs` parses the command line and calls [`run`].

pub mod demo;
mod oncall;

use crate::accounts::setup_tokens;
use crate::accounts::tokens;
use crate::accounts::user_commands::{self, NewUser};
use crate::accounts::{token_commands, users, AccountError};
use crate::status_page::settings;
use anyhow::Context;
use std::io::{BufRead, IsTerminal, Write};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::accounts::Email;
use crate::app::config::{
    Cli, Command, ComponentCommand, ServeArgs, Settings, TokenCommand, UserCommand,
};
use crate::app::{self, AppState};
use crate::platform::db::Database;
use crate::platform::jobs::{JobContext, Runner};
use crate::platform::secret::{hash_token, random_token};
use crate::webhooks::Dispatcher;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let (database, reachable) = match crate::platform::db::connect(&cli.database).await {
                Ok(database) => (database, true),
                // The configured server is down: serve anyway and keep trying.
                Err(err) if cli.database.database_url.is_some() && !cli.database.private_db => {
                    tracing::error!(error = %format!("{err:#}"), "the database is unreachable; serving a temporarily-unavailable page and retrying");
                    let url = cli.database.database_url.clone().unwrap_or_default();
                    (
                        crate::platform::db::Database::unreachable(&url, cli.database.pool_size)?,
                        false,
                    )
                }
                Err(err) => return Err(err),
            };
            let result = serve(&database, &args, reachable).await;
            database.shutdown().await;
            result
        }
        Command::Watchdog { config } => {
            let watchdog = crate::watchdog::Watchdog::new(crate::watchdog::Config::load(&config)?)?;
            let shutdown = CancellationToken::new();
            watch_signals(shutdown.clone())?;
            watchdog.run(shutdown).await
        }
        command => {
            let database = crate::platform::db::connect(&cli.database).await?;
            let result = match command {
                Command::Migrate => {
                    println!("The database is migrated.");
                    Ok(())
                }
                Command::User(cmd) => user_command(&database, cmd).await,
                Command::Token(cmd) => token_command(&database, cmd).await,
                Command::Component(cmd) => component_command(&database, cmd).await,
                Command::Duty(cmd) => oncall::duty_command(&database, cmd).await,
                Command::Page(cmd) => oncall::page_command(&database, cmd).await,
                Command::Demo { force } => {
                    demo::seed(&database.pool, force).await.map(|()| {
                        eprintln!("The demo data is in. Run `fireline serve` and open the status page at /, the admin at /admin.");
                    })
                }
                Command::Serve(_) | Command::Watchdog { .. } => unreachable!("handled above"),
            };
            database.shutdown().await;
            result
        }
    }
}

async fn serve(database: &Database, args: &ServeArgs, reachable: bool) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let bound = listener.local_addr()?;
    let settings = Settings::from_args(args, bound)?;
    let base_url = settings.base_url.clone();
    let state = AppState::new(database.pool.clone(), settings.clone());

    if reachable {
        offer_setup_link(&database.pool, &base_url).await?;
    } else {
        let (url, pool_size, state) = (
            database.url.clone(),
            database.pool.size().max(2),
            state.clone(),
        );
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                match crate::platform::db::open(&url, pool_size).await {
                    Ok(pool) => {
                        pool.close().await;
                        tracing::info!("the database is reachable again");
                        if let Err(err) =
                            offer_setup_link(&state.pool, &state.settings.base_url).await
                        {
                            tracing::warn!(error = %err, "checking for an admin account failed");
                        }
                        state.status_page.poke();
                        return;
                    }
                    Err(err) => {
                        tracing::warn!(error = %format!("{err:#}"), "the database is still unreachable")
                    }
                }
            }
        });
    }

    let shutdown = state.shutdown.clone();
    watch_signals(shutdown.clone())?;

    let mut registry = crate::app::jobs::registry();
    if let Some(url) = &args.heartbeat_url {
        let every = std::time::Duration::from_secs(args.heartbeat_every.max(10));
        crate::monitors::outbound::register(&mut registry, url, every)
            .context("FIRELINE_HEARTBEAT_URL")?;
    }
    let runner = (!args.no_jobs).then(|| {
        let ctx = JobContext {
            pool: database.pool.clone(),
            session_idle: settings.session_idle,
        };
        tokio::spawn(Runner::new(ctx, registry).run(shutdown.clone()))
    });
    let dispatcher = if args.no_jobs {
        None
    } else {
        let dispatcher = Dispatcher::new(database.pool.clone(), settings.webhooks.clone())
            .context("cannot set up webhook delivery")?;
        Some(tokio::spawn(dispatcher.run(shutdown.clone())))
    };

    let sender = if args.no_jobs {
        None
    } else {
        let sender = crate::notify::Sender::new(database.pool.clone(), settings.notify.clone())
            .context("cannot set up notifications")?;
        Some(tokio::spawn(sender.run(shutdown.clone())))
    };
    let mailer = match (&settings.notify.smtp, args.no_jobs) {
        (Some(smtp), false) => {
            let mailer = crate::email_subscribers::Mailer::new(
                database.pool.clone(),
                smtp,
                settings.smtp_connections,
            )
            .await
            .context("cannot set up subscriber mail")?;
            Some(tokio::spawn(mailer.run(shutdown.clone())))
        }
        _ => None,
    };
    let receipts = if args.no_jobs {
        None
    } else {
        let poller = crate::paging::receipts::Poller::new(
            database.pool.clone(),
            settings.notify.providers.clone(),
        )
        .context("cannot set up Pushover receipts")?;
        Some(tokio::spawn(poller.run(shutdown.clone())))
    };
    let consumers = (!args.no_jobs)
        .then(|| tokio::spawn(app::consumer_runner(database.pool.clone()).run(shutdown.clone())));
    let alerts = (!args.no_jobs).then(|| {
        let processor = crate::alerts::process::Processor::new(database.pool.clone());
        tokio::spawn(processor.run(shutdown.clone()))
    });
    let checks = if args.no_jobs {
        None
    } else {
        let runner = crate::monitors::runner::CheckRunner {
            pool: database.pool.clone(),
            probes: crate::monitors::probe::Probes::new().context("cannot set up checks")?,
            worker: crate::platform::jobs::worker_id(),
            concurrency: 32,
        };
        Some(tokio::spawn(runner.run(shutdown.clone())))
    };
    let status_page = tokio::spawn(
        state
            .status_page
            .clone()
            .run(state.hub.clone(), shutdown.clone()),
    );
    tracing::info!(address = %bound, url = %base_url, "Fireline is listening");
    let router = crate::http::router(state.clone());
    crate::http::serve(listener, router, shutdown.clone().cancelled_owned())
        .await
        .context("the HTTP server failed")?;
    shutdown.cancel();
    if let Some(runner) = runner {
        let _ = runner.await;
    }
    if let Some(dispatcher) = dispatcher {
        let _ = dispatcher.await;
    }
    if let Some(sender) = sender {
        let _ = sender.await;
    }
    if let Some(mailer) = mailer {
        let _ = mailer.await;
    }
    if let Some(receipts) = receipts {
        let _ = receipts.await;
    }
    if let Some(consumers) = consumers {
        let _ = consumers.await;
    }
    if let Some(alerts) = alerts {
        let _ = alerts.await;
    }
    if let Some(checks) = checks {
        let _ = checks.await;
    }
    // Everything that reads the database stops before the pool closes (and a private
    // cluster with it), so our own shutdown is not reported as a lost database.
    let _ = status_page.await;
    state.hub.stopped().await;
    tracing::info!("Fireline stopped");
    Ok(())
}

/// When no admin exists, print a one-time link to create one (the links printed before
/// stop working); otherwise forget old links.
async fn offer_setup_link(pool: &sqlx::PgPool, base_url: &str) -> anyhow::Result<()> {
    settings::record_configured_url(pool, base_url).await?;
    if users::admin_exists(pool).await? {
        setup_tokens::clear(pool).await?;
        return Ok(());
    }
    let token = random_token("");
    let mut tx = pool.begin().await?;
    setup_tokens::replace(&mut tx, &hash_token(&token)).await?;
    tx.commit().await?;
    let link = format!("{base_url}/setup?token={token}");
    tracing::info!("no admin account yet; printed a one-time setup link on standard output");
    println!(
        "\nNo admin account exists yet. Open this one-time link to create it:\n\n    {link}\n"
    );
    let _ = std::io::stdout().flush();
    Ok(())
}

/// Cancel `shutdown` on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed before
/// this returns, so a signal that comes right after start-up also stops cleanly.
fn watch_signals(shutdown: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("shutting down: finishing requests and jobs in flight");
        shutdown.cancel();
    });
    Ok(())
}

/// The password for `user create` / `user set-password`: `None` to generate one (the
/// command returns it to print), read from standard input when it is not a terminal, or
/// prompted for twice.
fn obtain_password(generate: bool) -> anyhow::Result<Option<String>> {
    if generate {
        return Ok(None);
    }
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Password again: ")?;
        if first != second {
            anyhow::bail!("the two passwords differ");
        }
        return Ok(Some(first));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(Some(line.trim_end_matches(['\n', '\r']).to_owned()))
}

async fn find_user(database: &Database, email: &str) -> anyhow::Result<crate::accounts::UserRow> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!(e.0))?;
    users::find_by_email(&database.pool, email.as_str())
        .await?
        .with_context(|| format!("there is no user with the email {}", email.as_str()))
}

async fn user_command(database: &Database, cmd: UserCommand) -> anyhow::Result<()> {
    let pool = &database.pool;
    match cmd {
        UserCommand::Create {
            email,
            name,
            role,
            generate_password,
        } => {
            let input = NewUser {
                email,
                name,
                role: Some(role),
                password: obtain_password(generate_password)?,
            };
            let created = user_commands::create_user(pool, None, input).await?;
            if let Some(password) = created.generated {
                println!("{password}");
            }
            let user = created.user;
            eprintln!("Created {} <{}> ({}).", user.name, user.email, user.role);
        }
        UserCommand::List => {
            let users = users::list(pool).await?;
            let rows = users.iter().map(|u| {
                let state = if u.is_disabled() {
                    "disabled"
                } else {
                    "active"
                };
                vec![
                    u.id.to_string(),
                    u.role.to_string(),
                    state.to_owned(),
                    u.email.clone(),
                    u.name.clone(),
                ]
            });
            print!("{}", table(&["ID", "ROLE", "STATE", "EMAIL", "NAME"], rows));
        }
        UserCommand::SetPassword {
            email,
            generate_password,
        } => {
            let user = find_user(database, &email).await?;
            let password = obtain_password(generate_password)?;
            let set = user_commands::reset_password(pool, None, user.id, password).await?;
            if let Some(password) = set.generated {
                println!("{password}");
            }
            eprintln!(
                "Set the password of {}; ended {} session(s).",
                user.email, set.ended_sessions
            );
        }
        UserCommand::Disable { email } => {
            let user = find_user(database, &email).await?;
            user_commands::disable_user(pool, None, user.id).await?;
            eprintln!(
                "Disabled {}: signed out everywhere, API tokens revoked.",
                user.email
            );
        }
        UserCommand::Enable { email } => {
            let user = find_user(database, &email).await?;
            user_commands::enable_user(pool, None, user.id).await?;
            eprintln!("Enabled {}; their old API tokens stay revoked.", user.email);
        }
    }
    Ok(())
}

async fn component_command(database: &Database, cmd: ComponentCommand) -> anyhow::Result<()> {
    use crate::components::{self, commands};
    let pool = &database.pool;
    match cmd {
        ComponentCommand::Add {
            name,
            group,
            description,
        } => {
            let group_id = match group.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(group) => Some(
                    components::list_groups(pool)
                        .await?
                        .into_iter()
                        .find(|g| g.name == group)
                        .with_context(|| format!("There is no group called \"{group}\"."))?
                        .id,
                ),
            };
            let description = description
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty());
            let new = commands::NewComponent {
                name: &name,
                description,
                group_id,
                status: components::ComponentStatus::Operational,
                position: None,
            };
            let mut tx = pool.begin().await?;
            let component = commands::create(&mut tx, None, new)
                .await
                .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            tx.commit().await?;
            eprintln!("Added component \"{}\".", component.name);
            println!("{}", component.id);
        }
    }
    Ok(())
}

async fn token_command(database: &Database, cmd: TokenCommand) -> anyhow::Result<()> {
    let pool = &database.pool;
    match cmd {
        TokenCommand::Create { email, name } => {
            let user = find_user(database, &email).await?;
            let (_, token) = token_commands::create_token(pool, None, user.id, &name).await?;
            println!("{token}");
        }
        TokenCommand::List { email } => {
            let owner = match email {
                Some(email) => Some(find_user(database, &email).await?.id),
                None => None,
            };
            let tokens = tokens::list(pool, owner).await?;
            let show = |t: Option<time::OffsetDateTime>| {
                t.map(crate::platform::time::format_utc)
                    .unwrap_or_else(|| "-".to_owned())
            };
            let rows = tokens.iter().map(|t| {
                vec![
                    t.id.to_string(),
                    t.prefix.clone(),
                    t.user_email.clone(),
                    show(t.last_used_at),
                    show(t.revoked_at),
                    t.name.clone(),
                ]
            });
            print!(
                "{}",
                table(
                    &["ID", "PREFIX", "USER", "LAST USED", "REVOKED", "NAME"],
                    rows
                )
            );
        }
        TokenCommand::Revoke { id } => {
            match token_commands::revoke_token(pool, None, id).await {
                Err(AccountError::NoSuchToken) => {
                    anyhow::bail!("there is no token with the id {id}")
                }
                done => done?,
            };
            eprintln!("Revoked the token {id}.");
        }
    }
    Ok(())
}

/// Columns padded to their widest cell, two spaces apart; the last one is not padded.
fn table(headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut lines: Vec<Vec<String>> = vec![headers.iter().map(|h| h.to_string()).collect()];
    lines.extend(rows);
    let mut widths = vec![0; headers.len()];
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in &lines {
        let last = line.len().saturating_sub(1);
        for (i, (cell, width)) in line.iter().zip(&widths).enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                let pad = width - cell.chars().count();
                out.push_str(cell);
                out.extend(std::iter::repeat_n(' ', pad + 2));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn table_columns_start_at_the_same_place_on_every_line() {
        let out = table(
            &["ID", "EMAIL", "NAME"],
            [
                vec![
                    "1".into(),
                    "a-very-long-address@example.com".into(),
                    "Ada".into(),
                ],
                vec!["22".into(), "bé@example.com".into(), "Bob".into()],
            ],
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "ID  EMAIL                            NAME");
        assert_eq!(lines[1], "1   a-very-long-address@example.com  Ada");
        assert_eq!(lines[2], "22  bé@example.com                   Bob");
    }
}
