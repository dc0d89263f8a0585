//! What a sender needs to reach an integration: the URLs of its kind's doors for a key,
//! and a configuration to paste into the tool. Shown with a new key, by every front door
//! alike (the API's create and rotate answers, the admin integration page).

use super::IntegrationKind;

/// Where a tool of one kind sends its alerts. Only the URLs of the kind are set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestUrls {
    /// The URL with the key in its path (Alertmanager, Grafana, generic).
    pub with_key: Option<String>,
    /// The URL for a tool that sends the key as `Authorization: Bearer <key>`.
    pub bearer: Option<String>,
    /// PagerDuty Events API v2: the key is the `routing_key`.
    pub events_v2: Option<String>,
    /// PagerDuty's generic v1 endpoint: the key is the `service_key`.
    pub events_v1: Option<String>,
}

/// The door of `kind` under `/ingest` (PagerDuty has its own paths).
fn door(kind: IntegrationKind) -> Option<&'static str> {
    match kind {
        IntegrationKind::Alertmanager => Some("alertmanager"),
        IntegrationKind::Grafana => Some("grafana"),
        IntegrationKind::Generic => Some("generic"),
        IntegrationKind::Pagerduty => None,
    }
}

/// The ingest URLs for `key` of an integration of `kind`, under `base_url`.
pub fn urls(base_url: &str, kind: IntegrationKind, key: &str) -> IngestUrls {
    let base = base_url.trim_end_matches('/');
    let door = door(kind);
    let pagerduty = kind == IntegrationKind::Pagerduty;
    IngestUrls {
        with_key: door.map(|d| format!("{base}/ingest/{key}/{d}")),
        bearer: door.map(|d| format!("{base}/ingest/{d}")),
        events_v2: pagerduty.then(|| format!("{base}/v2/enqueue")),
        events_v1: pagerduty.then(|| format!("{base}/generic/2010-04-15/create_event.json")),
    }
}

/// An Alertmanager receiver to paste into `alertmanager.yml`: the webhook receiver with
/// the key as a Bearer credential for an Alertmanager integration, `pagerduty_configs`
/// with the key as `routing_key` for a PagerDuty one; `None` for the other kinds.
pub fn alertmanager_receiver(base_url: &str, kind: IntegrationKind, key: &str) -> Option<String> {
    let urls = urls(base_url, kind, key);
    match kind {
        IntegrationKind::Alertmanager => Some(format!(
            "receivers:\n  - name: fireline\n    webhook_configs:\n      - url: {}\n        \
             send_resolved: true\n        http_config:\n          authorization:\n            \
             type: Bearer\n            credentials: {key}\n",
            urls.bearer.unwrap_or_default()
        )),
        IntegrationKind::Pagerduty => Some(format!(
            "receivers:\n  - name: fireline\n    pagerduty_configs:\n      - routing_key: {key}\n        \
             url: {}\n        send_resolved: true\n",
            urls.events_v2.unwrap_or_default()
        )),
        IntegrationKind::Grafana | IntegrationKind::Generic => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz012345";

    #[test]
    fn each_kind_gets_only_its_own_doors_with_the_key_where_it_belongs() {
        let am = urls("https://f.example/", IntegrationKind::Alertmanager, KEY);
        assert_eq!(
            am.with_key.as_deref(),
            Some("https://f.example/ingest/abcdefghijklmnopqrstuvwxyz012345/alertmanager")
        );
        assert_eq!(
            am.bearer.as_deref(),
            Some("https://f.example/ingest/alertmanager")
        );
        assert_eq!(am.events_v2, None);
        let pd = urls("https://f.example", IntegrationKind::Pagerduty, KEY);
        assert_eq!(pd.with_key, None);
        assert_eq!(
            pd.events_v2.as_deref(),
            Some("https://f.example/v2/enqueue")
        );
        assert_eq!(
            pd.events_v1.as_deref(),
            Some("https://f.example/generic/2010-04-15/create_event.json")
        );
    }

    #[test]
    fn the_alertmanager_receiver_sends_resolved_alerts_with_the_key_as_bearer() {
        let yaml =
            alertmanager_receiver("https://f.example", IntegrationKind::Alertmanager, KEY).unwrap();
        assert!(
            yaml.contains("url: https://f.example/ingest/alertmanager\n"),
            "{yaml}"
        );
        assert!(yaml.contains("send_resolved: true"), "{yaml}");
        assert!(yaml.contains("type: Bearer"), "{yaml}");
        assert!(yaml.contains(&format!("credentials: {KEY}")), "{yaml}");
        let pd =
            alertmanager_receiver("https://f.example", IntegrationKind::Pagerduty, KEY).unwrap();
        assert!(pd.contains(&format!("routing_key: {KEY}")), "{pd}");
        assert!(pd.contains("url: https://f.example/v2/enqueue"), "{pd}");
        assert_eq!(
            alertmanager_receiver("https://f.example", IntegrationKind::Grafana, KEY),
            None
        );
    }
}
