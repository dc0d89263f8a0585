//! "upstream: cache-dc1 is in a major outage": the trouble upstream of the components an
//! alert group or an incident touches, with the upstream component's checks and the
//! runbooks of its open alerts, for the pages that show them.

use sqlx::PgPool;
use uuid::Uuid;

use crate::components::dependencies;

/// One component in trouble upstream, and where to look.
pub struct UpstreamItem {
    pub words: String,
    pub component_id: Uuid,
    /// Its checks: (id, name, state).
    pub checks: Vec<(Uuid, String, &'static str)>,
    pub runbooks: Vec<String>,
}

/// The trouble upstream of `ids`, each upstream component once.
pub async fn items(pool: &PgPool, ids: &[Uuid]) -> sqlx::Result<Vec<UpstreamItem>> {
    let mut out: Vec<UpstreamItem> = Vec::new();
    for u in dependencies::upstream_trouble(pool, ids).await? {
        if out.iter().any(|i| i.component_id == u.upstream_id) {
            continue;
        }
        let checks = crate::monitors::checks::of_component(pool, u.upstream_id)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name, c.state.label()))
            .collect();
        let runbooks = crate::alerts::queries::open_runbooks_of_component(pool, &u.upstream_name)
            .await?
            .into_iter()
            .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
            .collect();
        out.push(UpstreamItem {
            words: u.words(),
            component_id: u.upstream_id,
            checks,
            runbooks,
        });
    }
    Ok(out)
}
