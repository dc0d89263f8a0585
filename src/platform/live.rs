//! Live signals across processes: Postgres `LISTEN/NOTIFY` fanned out to the streams of
//! this process through a broadcast channel.

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The channel the `incident_events` trigger notifies on.
pub const INCIDENT_EVENTS: &str = "fireline_incident_events";
/// The channel every change the public page shows notifies on.
pub const STATUS_PAGE: &str = "fireline_status_page";
/// The channel notified when alert groups changed (a processor round, a person's action).
pub const ALERTS: &str = "fireline_alerts";
/// The channel notified when an integration's keys or signing changed.
pub const INTEGRATIONS: &str = "fireline_integrations";

/// A new entry in an incident's log, committed by any process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSignal {
    pub incident_id: Uuid,
    pub seq: i64,
}

/// One listener per process, started on first use, until `shutdown`.
#[derive(Clone)]
pub struct EventHub {
    sender: broadcast::Sender<EventSignal>,
    status: broadcast::Sender<()>,
    alerts: broadcast::Sender<()>,
    integrations: broadcast::Sender<()>,
    pool: PgPool,
    shutdown: CancellationToken,
    listener: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl EventHub {
    pub fn new(pool: PgPool, shutdown: CancellationToken) -> Self {
        let (sender, _) = broadcast::channel(1024);
        let (status, _) = broadcast::channel(64);
        let (alerts, _) = broadcast::channel(64);
        let (integrations, _) = broadcast::channel(16);
        EventHub {
            sender,
            status,
            alerts,
            integrations,
            pool,
            shutdown,
            listener: Arc::new(Mutex::new(None)),
        }
    }

    /// Receive every new log entry of every incident from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EventSignal> {
        let receiver = self.sender.subscribe();
        self.start();
        receiver
    }

    /// Receive a signal whenever anything on the public page changed.
    pub fn subscribe_status(&self) -> broadcast::Receiver<()> {
        let receiver = self.status.subscribe();
        self.start();
        receiver
    }

    /// Receive a signal whenever alert groups may have changed.
    pub fn subscribe_alerts(&self) -> broadcast::Receiver<()> {
        let receiver = self.alerts.subscribe();
        self.start();
        receiver
    }

    /// Receive a signal whenever an integration's keys or signing may have changed.
    pub fn subscribe_integrations(&self) -> broadcast::Receiver<()> {
        let receiver = self.integrations.subscribe();
        self.start();
        receiver
    }

    fn start(&self) {
        let Ok(mut listener) = self.listener.lock() else {
            return;
        };
        if listener.is_none() && !self.shutdown.is_cancelled() {
            let senders = Senders {
                events: self.sender.clone(),
                status: self.status.clone(),
                alerts: self.alerts.clone(),
                integrations: self.integrations.clone(),
            };
            *listener = Some(tokio::spawn(listen(
                self.pool.clone(),
                senders,
                self.shutdown.clone(),
            )));
        }
    }

    /// Wait until the listener has let go of its connection (after `shutdown` was
    /// cancelled), so the pool can close without the listener reporting a lost connection.
    pub async fn stopped(&self) {
        let handle = self.listener.lock().ok().and_then(|mut l| l.take());
        if let Some(handle) = handle {
            let _ = handle.await;
        }
    }
}

/// The broadcasts the listener fans notifications out to, one per channel.
struct Senders {
    events: broadcast::Sender<EventSignal>,
    status: broadcast::Sender<()>,
    alerts: broadcast::Sender<()>,
    integrations: broadcast::Sender<()>,
}

async fn listen(pool: PgPool, senders: Senders, shutdown: CancellationToken) {
    let mut delay = Duration::from_millis(200);
    loop {
        let result = tokio::select! {
            _ = shutdown.cancelled() => return,
            result = listen_once(&pool, &senders) => result,
        };
        match result {
            Ok(()) => return,
            Err(err) => {
                tracing::warn!(error = %err, "live updates: lost the database listener; reconnecting");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn listen_once(pool: &PgPool, senders: &Senders) -> sqlx::Result<()> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen_all([INCIDENT_EVENTS, STATUS_PAGE, ALERTS, INTEGRATIONS])
        .await?;
    loop {
        // Anything may have changed while we were not listening (first start, reconnect).
        let _ = senders.status.send(());
        let _ = senders.alerts.send(());
        let _ = senders.integrations.send(());
        // `None`: the connection was lost; the next call reconnects and listens again.
        // No receivers is fine: nobody is watching right now.
        while let Some(notification) = listener.try_recv().await? {
            match notification.channel() {
                STATUS_PAGE => {
                    let _ = senders.status.send(());
                }
                ALERTS => {
                    let _ = senders.alerts.send(());
                }
                INTEGRATIONS => {
                    let _ = senders.integrations.send(());
                }
                _ => {
                    if let Some(signal) = parse(notification.payload()) {
                        let _ = senders.events.send(signal);
                    }
                }
            }
        }
        if pool.is_closed() {
            return Ok(());
        }
        tracing::warn!("live updates: the database listener reconnects");
    }
}

fn parse(payload: &str) -> Option<EventSignal> {
    let (incident, seq) = payload.split_once(' ')?;
    Some(EventSignal {
        incident_id: Uuid::parse_str(incident).ok()?,
        seq: seq.parse().ok()?,
    })
}

/// Waits for a notification on one channel or for a tick, whichever comes first, for a
/// loop that works on a signal and polls as a fallback: a missed signal (or a listener
/// that could not connect) only delays the work by one tick. The listener reconnects on
/// the next wait after it fails.
pub struct Wakeup {
    pool: PgPool,
    channel: &'static str,
    listener: Option<PgListener>,
}

impl Wakeup {
    pub fn new(pool: PgPool, channel: &'static str) -> Self {
        Wakeup {
            pool,
            channel,
            listener: None,
        }
    }

    /// Returns after a notification or `tick`; `false` once `shutdown` is requested.
    pub async fn wait(&mut self, tick: Duration, shutdown: &CancellationToken) -> bool {
        if self.listener.is_none() {
            self.listener = self.listen().await;
        }
        let listening = {
            let woken = async {
                match self.listener.as_mut() {
                    Some(listener) => listener.recv().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = tokio::time::sleep(tick) => true,
                ok = woken => ok,
            }
        };
        if !listening {
            self.listener = None;
        }
        true
    }

    async fn listen(&self) -> Option<PgListener> {
        let mut listener = PgListener::connect_with(&self.pool).await.ok()?;
        listener.listen(self.channel).await.ok()?;
        Some(listener)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_carry_the_incident_and_the_sequence_number() {
        let id = Uuid::new_v4();
        assert_eq!(
            parse(&format!("{id} 42")),
            Some(EventSignal {
                incident_id: id,
                seq: 42
            })
        );
        assert_eq!(parse("garbage"), None);
    }
}
