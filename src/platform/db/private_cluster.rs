//! A private PostgreSQL cluster in Fireline's data directory, for a first run on a
//! machine that has the PostgreSQL binaries but no server. It listens only on a Unix
//! socket inside the data directory.
//!
//! Every Fireline process using the cluster holds a shared lock on `fireline.lock` in the
//! data directory; the last one to stop stops the cluster. The kernel drops the lock of a
//! killed process, so a cluster left running by one is adopted by the next start and
//! stopped with it, like one it started.

use anyhow::Context;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// A cluster we found running or started, in use by this process until [`stop`].
#[derive(Debug)]
pub struct PrivateCluster {
    pgdata: PathBuf,
    socket_dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<RunAs>,
    /// Held shared while we use the cluster; exclusive while we stop it.
    lock: Flock<File>,
}

#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

/// The directory holding `initdb` and `pg_ctl`: from `PATH`, else the newest version under
/// the usual distribution directories.
pub fn find_postgres_binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|d| has_both(d)) {
            return Some(dir);
        }
    }
    let mut found: Vec<PathBuf> = Vec::new();
    for pattern_dir in [
        "/usr/lib/postgresql",
        "/usr/local/pgsql",
        "/opt/homebrew/opt",
    ] {
        let Ok(entries) = std::fs::read_dir(pattern_dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let bin = entry.path().join("bin");
            if has_both(&bin) {
                found.push(bin);
            }
        }
    }
    for fixed in ["/usr/local/pgsql/bin", "/usr/pgsql/bin"] {
        if has_both(Path::new(fixed)) {
            found.push(PathBuf::from(fixed));
        }
    }
    // Newest version first: /usr/lib/postgresql/16/bin sorts after .../15/bin.
    found.sort_by_key(|p| version_of(p));
    found.pop()
}

fn version_of(bin: &Path) -> u32 {
    bin.parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .and_then(|n| {
            n.trim_start_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

impl PrivateCluster {
    /// Initialise the cluster if the directory is new, and start it unless it is running.
    pub async fn start(data_dir: &Path, bin_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
        let data_dir = data_dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", data_dir.display()))?;
        let pgdata = data_dir.join("postgres");
        let socket_dir = data_dir.join("run");
        std::fs::create_dir_all(&socket_dir)?;
        // Only the owner may reach the socket: the cluster trusts whoever connects.
        for dir in [&data_dir, &socket_dir] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot restrict {}", dir.display()))?;
        }
        let socket = socket_dir.join(".s.PGSQL.5432");
        if socket.as_os_str().len() > 100 {
            anyhow::bail!(
                "the data directory {} is too deep for a Unix socket path (PostgreSQL allows about 100 \
                 characters); choose a shorter --data-dir",
                data_dir.display()
            );
        }
        let run_as = run_as_for_root()?;
        if run_as.is_some() {
            reachable_by_others(&data_dir)?;
        }
        if let Some(user) = run_as {
            // PostgreSQL refuses to run as root; hand the directory to its own account.
            for dir in [&data_dir, &socket_dir] {
                std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid)).with_context(
                    || format!("cannot hand {} to the postgres user", dir.display()),
                )?;
            }
        }
        // Before looking at the cluster: a Fireline stopping it right now holds the lock
        // exclusively until it is down, and then we start it again.
        let lock = lock_shared(&data_dir.join("fireline.lock")).await?;
        let cluster = Self {
            pgdata,
            socket_dir,
            bin_dir: bin_dir.to_path_buf(),
            run_as,
            lock,
        };
        if !cluster.pgdata.join("PG_VERSION").exists() {
            cluster.initdb().await?;
        }
        if cluster.is_running().await {
            tracing::info!(
                pgdata = %cluster.pgdata.display(),
                "the private PostgreSQL cluster is already running; using it, and stopping it \
                 when the last Fireline using it stops"
            );
            return Ok(cluster);
        }
        let options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c unix_socket_permissions=0700",
            cluster.socket_dir.display()
        );
        let log_file = data_dir.join("postgres.log");
        cluster
            .pg_ctl(&[
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                &cluster.pgdata.display().to_string(),
                "-l",
                &log_file.display().to_string(),
                "-o",
                &options,
            ])
            .await
            .with_context(|| format!("starting PostgreSQL failed; see {}", log_file.display()))?;
        tracing::info!(pgdata = %cluster.pgdata.display(), "started the private PostgreSQL cluster");
        Ok(cluster)
    }

    /// The connection URL for `database` over the cluster's Unix socket.
    pub fn url(&self, database: &str) -> String {
        let host: String =
            url::form_urlencoded::byte_serialize(self.socket_dir.display().to_string().as_bytes())
                .collect();
        format!("postgres://postgres@localhost/{database}?host={host}")
    }

    /// Stop the cluster unless another Fireline process still uses it.
    pub async fn stop(self) -> anyhow::Result<()> {
        // flock(2) converts a shared lock by dropping it first and then asking for the
        // exclusive one, so of several processes stopping at once the last gets it.
        match self.lock.relock(FlockArg::LockExclusiveNonblock) {
            Ok(()) => {}
            Err(Errno::EWOULDBLOCK) => {
                tracing::info!("another Fireline still uses the private PostgreSQL cluster; leaving it running");
                return Ok(());
            }
            Err(errno) => return Err(errno).context("cannot lock the data directory"),
        }
        self.pg_ctl(&[
            "stop",
            "-w",
            "-m",
            "fast",
            "-D",
            &self.pgdata.display().to_string(),
        ])
        .await?;
        tracing::info!("stopped the private PostgreSQL cluster");
        Ok(())
    }

    async fn initdb(&self) -> anyhow::Result<()> {
        tracing::info!(pgdata = %self.pgdata.display(), "initialising a private PostgreSQL cluster");
        let output = self
            .command("initdb")
            .args([
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            ])
            .arg("-D")
            .arg(&self.pgdata)
            .output()
            .await
            .context("cannot run initdb")?;
        if !output.status.success() {
            anyhow::bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    async fn is_running(&self) -> bool {
        let pgdata = self.pgdata.display().to_string();
        matches!(
            self.command("pg_ctl")
                .args(["status", "-D", &pgdata])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await,
            Ok(status) if status.success()
        )
    }

    async fn pg_ctl(&self, args: &[&str]) -> anyhow::Result<()> {
        let output = self
            .command("pg_ctl")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .await
            .context("cannot run pg_ctl")?;
        if !output.status.success() {
            anyhow::bail!(
                "pg_ctl {} failed: {}{}",
                args.first().unwrap_or(&""),
                String::from_utf8_lossy(&output.stdout).trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        // The server must not die with us on Ctrl-C before we stop it cleanly.
        cmd.process_group(0);
        if let Some(user) = self.run_as {
            cmd.uid(user.uid).gid(user.gid);
        }
        cmd
    }
}

/// Take a shared lock on `path`, waiting while another process holds it exclusively
/// (it is stopping the cluster).
async fn lock_shared(path: &Path) -> anyhow::Result<Flock<File>> {
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        match Flock::lock(file, FlockArg::LockSharedNonblock) {
            Ok(lock) => return Ok(lock),
            Err((back, Errno::EWOULDBLOCK)) if tokio::time::Instant::now() < deadline => {
                file = back;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err((_, Errno::EWOULDBLOCK)) => anyhow::bail!(
                "another Fireline has been stopping the private PostgreSQL cluster in {} for 90 s",
                path.parent().unwrap_or(path).display()
            ),
            Err((_, errno)) => {
                return Err(errno).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }
}

/// As root we hand the cluster to the `postgres` account, which must be able to walk
/// down to the data directory.
fn reachable_by_others(data_dir: &Path) -> anyhow::Result<()> {
    for ancestor in data_dir.ancestors().skip(1) {
        let mode = std::fs::metadata(ancestor)
            .with_context(|| format!("cannot read {}", ancestor.display()))?
            .permissions()
            .mode();
        if mode & 0o001 == 0 {
            anyhow::bail!(
                "PostgreSQL runs as the postgres user and cannot reach {} ({} is not searchable by \
                 others); choose a --data-dir it can reach, e.g. /var/lib/fireline",
                data_dir.display(),
                ancestor.display()
            );
        }
    }
    Ok(())
}

/// PostgreSQL will not run as root. When we are root, run it as the `postgres` account.
fn run_as_for_root() -> anyhow::Result<Option<RunAs>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let user = nix::unistd::User::from_name("postgres")
        .context("cannot look up the postgres user")?
        .context(
            "Fireline runs as root and PostgreSQL refuses to; create a `postgres` user \
             (or run Fireline as an ordinary user)",
        )?;
    Ok(Some(RunAs {
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_postgres_versions_sort_last() {
        assert!(
            version_of(Path::new("/usr/lib/postgresql/16/bin"))
                > version_of(Path::new("/usr/lib/postgresql/15/bin"))
        );
        assert_eq!(
            version_of(Path::new("/opt/homebrew/opt/postgresql@17/bin")),
            17
        );
    }
}
