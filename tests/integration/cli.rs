//! The `fireline` binary: help, users, tokens, and serving with a setup link.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::support::{cluster_dir, have_postgres_binaries, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_fireline");

fn fireline(db: &TestDb, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("FIRELINE_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_is_there_at_every_level() {
    for (args, expected) in [
        (vec!["--help"], "serve"),
        (vec!["serve", "--help"], "FIRELINE_BIND"),
        (vec!["user", "--help"], "set-password"),
        (vec!["user", "create", "--help"], "--generate-password"),
        (vec!["token", "create", "--help"], "--email"),
        (vec!["migrate", "--help"], "DATABASE_URL"),
        (vec!["watchdog", "--help"], "FIRELINE_WATCHDOG_CONFIG"),
        (vec!["serve", "--help"], "FIRELINE_HEARTBEAT_URL"),
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(
            stdout(&out).contains(expected),
            "{args:?}: {}",
            stdout(&out)
        );
    }
}

#[tokio::test]
async fn users_and_tokens_are_managed_from_the_command_line() {
    let db = TestDb::new().await;
    let out = fireline(
        &db,
        &[
            "user",
            "create",
            "--email",
            "ada@example.com",
            "--name",
            "Ada",
            "--role",
            "admin",
        ],
        Some("correct horse battery staple\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "nothing but what was asked for on stdout");
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'ada@example.com'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(fireline::accounts::verify_password(
        "correct horse battery staple",
        &hash
    ));

    let out = fireline(
        &db,
        &[
            "user",
            "create",
            "--email",
            "ADA@example.com",
            "--name",
            "Ada",
            "--role",
            "viewer",
        ],
        Some("another long password\n"),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));

    let out = fireline(
        &db,
        &[
            "user",
            "create",
            "--email",
            "bob@example.com",
            "--name",
            "Bob",
            "--role",
            "viewer",
        ],
        Some("short\n"),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("at least 12 characters"),
        "{}",
        stderr(&out)
    );

    let out = fireline(
        &db,
        &[
            "user",
            "create",
            "--email",
            "grace@example.com",
            "--name",
            "Grace",
            "--role",
            "responder",
            "--generate-password",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let generated = stdout(&out).trim().to_owned();
    assert!(generated.len() >= 24, "{generated}");
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'grace@example.com'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(fireline::accounts::verify_password(&generated, &hash));

    let out = fireline(&db, &["user", "list"], None);
    let listing = stdout(&out);
    assert!(
        listing.contains("ada@example.com") && listing.contains("responder"),
        "{listing}"
    );

    // A token: only the token on stdout, and it works.
    let out = fireline(
        &db,
        &[
            "token",
            "create",
            "--email",
            "grace@example.com",
            "--name",
            "ci",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert_eq!(printed.lines().count(), 1);
    let token = printed.trim();
    assert!(token.starts_with("fl_"));
    let user = fireline::accounts::tokens::authenticate(
        &db.pool,
        &fireline::platform::secret::hash_token(token),
    )
    .await
    .unwrap();
    assert_eq!(user.unwrap().email, "grace@example.com");

    let out = fireline(&db, &["token", "list"], None);
    assert!(stdout(&out).contains("ci") && !stdout(&out).contains(token));

    // Disabling the user stops the token at once.
    let out = fireline(
        &db,
        &["user", "disable", "--email", "grace@example.com"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("API tokens revoked"),
        "{}",
        stderr(&out)
    );
    let user = fireline::accounts::tokens::authenticate(
        &db.pool,
        &fireline::platform::secret::hash_token(token),
    )
    .await
    .unwrap();
    assert!(user.is_none());

    // Enabling the user again does not bring the token back: it was revoked.
    let out = fireline(
        &db,
        &["user", "enable", "--email", "grace@example.com"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let user = fireline::accounts::tokens::authenticate(
        &db.pool,
        &fireline::platform::secret::hash_token(token),
    )
    .await
    .unwrap();
    assert!(user.is_none());
    let revoked: bool = sqlx::query_scalar("SELECT revoked_at IS NOT NULL FROM api_tokens")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        revoked,
        "marked revoked, not merely hidden behind the disabled user"
    );

    // set-password from stdin.
    let out = fireline(
        &db,
        &["user", "set-password", "--email", "ada@example.com"],
        Some("a brand new passphrase\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'ada@example.com'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(fireline::accounts::verify_password(
        "a brand new passphrase",
        &hash
    ));

    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM api_tokens")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let out = fireline(&db, &["token", "revoke", "--id", &id.to_string()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = fireline(
        &db,
        &["token", "revoke", "--id", &uuid::Uuid::new_v4().to_string()],
        None,
    );
    assert!(!out.status.success());
}

/// Every row's cells start under their column's heading.
fn assert_columns_line_up(listing: &str, headings: &[&str]) {
    let mut lines = listing.lines();
    let header = lines.next().expect("a heading line");
    let starts: Vec<usize> = headings
        .iter()
        .map(|h| {
            header
                .find(h)
                .unwrap_or_else(|| panic!("{h} in {header:?}"))
        })
        .collect();
    for line in lines {
        let chars: Vec<char> = line.chars().collect();
        for (&start, heading) in starts.iter().zip(headings).skip(1) {
            assert!(
                chars[start - 2..start] == [' ', ' '] && chars[start] != ' ',
                "the {heading} column does not line up:\n{listing}"
            );
        }
    }
}

#[tokio::test]
async fn user_and_token_lists_line_up_in_columns() {
    let db = TestDb::new().await;
    let long = "a.rather.long.address.for.a.person@example-company.com";
    for (email, name, role) in [
        ("al@example.com", "Al", "viewer"),
        (long, "Bartholomew Longname", "admin"),
        ("zoe@example.com", "Zoë Ünal", "responder"),
    ] {
        let out = fireline(
            &db,
            &[
                "user", "create", "--email", email, "--name", name, "--role", role,
            ],
            Some("correct horse battery staple\n"),
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = fireline(&db, &["user", "list"], None);
    let listing = stdout(&out);
    assert_eq!(listing.lines().count(), 4, "{listing}");
    assert!(listing.contains(long), "{listing}");
    assert_columns_line_up(&listing, &["ID", "ROLE", "STATE", "EMAIL", "NAME"]);

    for (email, name) in [("al@example.com", "ci"), (long, "a token with a long name")] {
        let out = fireline(
            &db,
            &["token", "create", "--email", email, "--name", name],
            None,
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = fireline(&db, &["token", "list"], None);
    let listing = stdout(&out);
    assert_eq!(listing.lines().count(), 3, "{listing}");
    assert_columns_line_up(
        &listing,
        &["ID", "PREFIX", "USER", "LAST USED", "REVOKED", "NAME"],
    );
}

#[tokio::test]
async fn serve_prints_a_setup_link_that_works_and_stops_cleanly_on_sigterm() {
    let db = TestDb::new().await;
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", db.url())
        .env("FIRELINE_LOG", "info")
        .env("FIRELINE_LOG_FORMAT", "json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let link = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                line.trim()
                    .strip_prefix("http://")
                    .map(|rest| format!("http://{rest}"))
            })
    })
    .await
    .unwrap()
    .expect("a setup link on stdout");
    assert!(link.contains("/setup?token="), "{link}");

    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Create admin account"));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut logs = String::new();
                std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logs)
                    .unwrap();
                return (status, logs);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("fireline did not stop within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    assert!(status.0.success(), "exit status {:?}", status.0);
    // JSON logs, one object per line, and none of them holds the setup token.
    let token = link.split("token=").nth(1).unwrap();
    for line in status.1.lines() {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(parsed["level"].is_string());
        assert!(!line.contains(token), "a secret reached the log: {line}");
    }
    assert!(status.1.contains("Fireline stopped"));
}

#[tokio::test]
async fn commands_use_a_private_cluster_when_asked_and_keep_its_data() {
    if !have_postgres_binaries() {
        return;
    }
    let dir = cluster_dir();
    let data = dir.path().join("data");
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut child = Command::new(BIN)
            .args(["--private-db", "--data-dir", data.to_str().unwrap()])
            .args(args)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    };
    let out = run(&["migrate"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("private PostgreSQL cluster"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &[
            "user",
            "create",
            "--email",
            "ada@example.com",
            "--name",
            "Ada",
            "--role",
            "admin",
        ],
        Some("correct horse battery staple\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["user", "list"], None);
    assert!(stdout(&out).contains("ada@example.com"), "{}", stderr(&out));
    assert!(
        !data.join("postgres/postmaster.pid").exists(),
        "stopped after each command"
    );
}

#[tokio::test]
async fn serve_starts_with_the_database_down_and_says_so() {
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/fireline")
        .env("FIRELINE_LOG", "info")
        .env("FIRELINE_LOG_FORMAT", "json")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    // Keep reading the logs (a closed pipe would end the process), and hand over the address.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                if v["message"] == "Fireline is listening" {
                    let _ = tx.send(v["address"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
    });
    let address =
        tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(15)).ok())
            .await
            .unwrap()
            .expect("it listens although the database is down");
    let page = reqwest::get(format!("http://{address}/")).await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Status temporarily unavailable"));
    let ready = reqwest::get(format!("http://{address}/readyz"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
}

#[tokio::test]
async fn duty_is_taken_shown_and_handed_back_from_the_command_line() {
    use fireline::oncall::team_commands::{self, NewTeam};
    let db = TestDb::new().await;
    for (email, name) in [("ada@example.com", "Ada"), ("sam@example.com", "Sam")] {
        let out = fireline(
            &db,
            &[
                "user",
                "create",
                "--email",
                email,
                "--name",
                name,
                "--role",
                "responder",
            ],
            Some("correct horse battery staple\n"),
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let ada: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'ada@example.com'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let mut conn = db.pool.acquire().await.unwrap();
    let new = NewTeam {
        name: "Platform".into(),
        member_ids: vec![ada],
        ..NewTeam::default()
    };
    team_commands::create(&mut conn, None, new, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    drop(conn);

    let out = fireline(&db, &["duty", "show"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Platform: nobody on duty\n");

    let out = fireline(
        &db,
        &[
            "duty",
            "take",
            "--team",
            "platform",
            "--user",
            "ADA@example.com",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Ada is on duty for Platform now"),
        "{}",
        stderr(&out)
    );
    let out = fireline(&db, &["duty", "show", "--team", "Platform"], None);
    assert!(
        stdout(&out).starts_with("Platform: Ada (took duty) since "),
        "{}",
        stdout(&out)
    );

    // Sam is no member; a team that does not exist is named as such.
    let out = fireline(
        &db,
        &[
            "duty",
            "take",
            "--team",
            "Platform",
            "--user",
            "sam@example.com",
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("join the team first"),
        "{}",
        stderr(&out)
    );
    let out = fireline(
        &db,
        &[
            "duty",
            "take",
            "--team",
            "Payments",
            "--user",
            "ada@example.com",
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("There is no team called \"Payments\""),
        "{}",
        stderr(&out)
    );

    let out = fireline(
        &db,
        &[
            "duty",
            "release",
            "--team",
            "Platform",
            "--user",
            "ada@example.com",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Platform: nobody on duty\n");
    let audited: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'duty.%' ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(audited, ["duty.taken", "duty.released"]);
}
