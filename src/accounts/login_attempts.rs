//! Sign-in throttling, kept in Postgres so every process sees the same counts.
//!
//! The guesser is locked, not the account: an address that fails too often on one
//! account (or on many) is refused for [`WINDOW`]. The account itself only slows down:
//! after [`ACCOUNT_FREE`] failures from anywhere, each further attempt waits a back-off
//! that doubles up to [`BACKOFF_CAP`], so a guesser spread over many addresses gets a few
//! tries a minute while the owner, elsewhere, waits seconds at most.

use sqlx::PgExecutor;
use time::{Duration, OffsetDateTime};

/// Failed attempts allowed from one address on one account within [`WINDOW`].
pub const PER_CLIENT_ACCOUNT: i64 = 5;
/// Failed attempts allowed from one address on all accounts within [`WINDOW`].
pub const PER_CLIENT: i64 = 20;
/// How long an address is locked, and how far back failures count.
pub const WINDOW: Duration = Duration::minutes(15);
/// Failures on an account (from anywhere) before its back-off begins.
pub const ACCOUNT_FREE: i64 = 5;
/// The first back-off; each further failure doubles it.
pub const BACKOFF_BASE: Duration = Duration::seconds(1);
/// The longest back-off.
pub const BACKOFF_CAP: Duration = Duration::seconds(30);

/// Why an attempt is refused, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// This address failed too often: it is locked out.
    Client { until: OffsetDateTime },
    /// The account failed too often from anywhere: wait a little.
    Account { until: OffsetDateTime },
}

/// Count an attempt before the password is checked, so parallel guesses cannot slip
/// past the limit: returns the attempt's id, or why and until when it is refused.
/// The attempt counts as failed until [`mark_succeeded`].
pub async fn begin(
    conn: &mut sqlx::PgConnection,
    email: &str,
    client_ip: &str,
) -> sqlx::Result<Result<i64, Throttled>> {
    // One check-and-count at a time per account and per address.
    sqlx::query!(
        r#"SELECT true AS "locked!"
           FROM pg_advisory_xact_lock(hashtext('fireline.login.' || $1)) l1,
                pg_advisory_xact_lock(hashtext('fireline.login-ip.' || $2)) l2"#,
        email,
        client_ip
    )
    .fetch_one(&mut *conn)
    .await?;
    if let Some(refused) = throttled(&mut *conn, email, client_ip).await? {
        return Ok(Err(refused));
    }
    let id = sqlx::query_scalar!(
        "INSERT INTO login_attempts (email, client_ip, succeeded) VALUES ($1, $2, false) RETURNING id",
        email,
        client_ip
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Ok(id))
}

pub async fn mark_succeeded(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE login_attempts SET succeeded = true WHERE id = $1",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

struct Counts {
    client_until: Option<OffsetDateTime>,
    account_failures: i64,
    account_last: Option<OffsetDateTime>,
}

/// Whether an attempt on `email` from `client_ip` must wait, and until when. Failures
/// before a success (of the account, or of the account from this address) do not count
/// against it; an address's failures across accounts always do.
pub async fn throttled(
    db: impl PgExecutor<'_>,
    email: &str,
    client_ip: &str,
) -> sqlx::Result<Option<Throttled>> {
    let counts = sqlx::query_as!(
        Counts,
        "WITH recent AS ( \
             SELECT email, client_ip, attempted_at FROM login_attempts \
             WHERE (email = $1 OR client_ip = $2) AND NOT succeeded AND attempted_at > now() - $3::interval), \
         account AS ( \
             SELECT attempted_at FROM recent \
             WHERE email = $1 AND attempted_at > coalesce((SELECT max(attempted_at) \
                 FROM login_attempts WHERE email = $1 AND succeeded), '-infinity')), \
         pair AS ( \
             SELECT attempted_at FROM recent \
             WHERE email = $1 AND client_ip = $2 AND attempted_at > coalesce((SELECT max(attempted_at) \
                 FROM login_attempts WHERE email = $1 AND client_ip = $2 AND succeeded), '-infinity') \
             ORDER BY attempted_at DESC LIMIT $4), \
         client AS ( \
             SELECT attempted_at FROM recent WHERE client_ip = $2 \
             ORDER BY attempted_at DESC LIMIT $5) \
         SELECT \
             (SELECT max(until) FROM ( \
                 SELECT min(attempted_at) + $3::interval AS until FROM pair HAVING count(*) >= $4 \
                 UNION ALL \
                 SELECT min(attempted_at) + $3::interval FROM client HAVING count(*) >= $5) limits) \
               AS \"client_until?\", \
             (SELECT count(*) FROM account) AS \"account_failures!\", \
             (SELECT max(attempted_at) FROM account) AS \"account_last?\"",
        email,
        client_ip,
        WINDOW as _,
        PER_CLIENT_ACCOUNT,
        PER_CLIENT
    )
    .fetch_one(db)
    .await?;
    let now = OffsetDateTime::now_utc();
    if let Some(until) = counts.client_until.filter(|until| *until > now) {
        return Ok(Some(Throttled::Client { until }));
    }
    let account_until = counts
        .account_last
        .and_then(|last| backoff(counts.account_failures).map(|wait| last + wait))
        .filter(|until| *until > now);
    Ok(account_until.map(|until| Throttled::Account { until }))
}

/// How long after the last failure an account waits, given its recent failures.
fn backoff(failures: i64) -> Option<Duration> {
    let beyond = failures.checked_sub(ACCOUNT_FREE).filter(|n| *n >= 0)?;
    // 2^5 s is past the cap already; no need to compute more.
    let doubled = BACKOFF_BASE * 2i32.pow(beyond.min(5) as u32);
    Some(doubled.min(BACKOFF_CAP))
}

pub async fn prune(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    let done =
        sqlx::query!("DELETE FROM login_attempts WHERE attempted_at < now() - interval '1 day'")
            .execute(db)
            .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_back_off_starts_after_the_free_failures_doubles_and_is_capped() {
        assert_eq!(backoff(0), None);
        assert_eq!(backoff(ACCOUNT_FREE - 1), None);
        assert_eq!(backoff(ACCOUNT_FREE), Some(Duration::seconds(1)));
        assert_eq!(backoff(ACCOUNT_FREE + 1), Some(Duration::seconds(2)));
        assert_eq!(backoff(ACCOUNT_FREE + 4), Some(Duration::seconds(16)));
        assert_eq!(backoff(ACCOUNT_FREE + 5), Some(BACKOFF_CAP));
        assert_eq!(backoff(10_000), Some(BACKOFF_CAP));
    }
}
