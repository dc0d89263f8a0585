//! Every job kind Fireline knows, and the ones it schedules for itself.

use crate::platform::jobs::Registry;

/// The registry of every job kind Fireline knows.
pub fn registry() -> Registry {
    let mut registry = Registry::default();
    registry.register(super::prune::KIND, super::prune::prune_expired);
    registry.register(
        crate::status_page::uptime_job::KIND,
        crate::status_page::uptime_job::roll_up_uptime,
    );
    registry.register(
        crate::maintenance::START_JOB,
        crate::maintenance::jobs::advance_maintenance,
    );
    registry.register(
        crate::maintenance::END_JOB,
        crate::maintenance::jobs::advance_maintenance,
    );
    registry.register(
        crate::alerts::silences::END_JOB,
        crate::alerts::silences::end_silence_job,
    );
    registry.register(
        crate::paging::engine::STEP_JOB,
        crate::paging::engine::step_job,
    );
    registry.register(
        crate::paging::announce::TICK_JOB,
        crate::paging::announce::tick_job,
    );
    registry.register(
        crate::paging::announce::NOTICE_JOB,
        crate::paging::announce::notice_job,
    );
    // A page's steps take milliseconds; one whose process died is taken over quickly.
    let step_lease = time::Duration::seconds(20);
    registry.lease(crate::paging::engine::STEP_JOB, step_lease);
    registry.lease(crate::paging::announce::TICK_JOB, step_lease);
    registry.register(
        crate::monitors::sweep::SWEEP_JOB,
        crate::monitors::sweep::sweep_job,
    );
    registry.every(
        crate::monitors::sweep::SWEEP_JOB,
        crate::monitors::sweep::SWEEP_EVERY,
    );
    registry.register(
        crate::monitors::effects::APPLY_JOB,
        crate::monitors::effects::apply_due_job,
    );
    registry.register(
        crate::email_subscribers::fan_out::REMINDER_JOB,
        crate::email_subscribers::fan_out::reminder_job,
    );
    let hourly = std::time::Duration::from_secs(3600);
    registry.every(super::prune::KIND, hourly);
    registry.every(crate::status_page::uptime_job::KIND, hourly);
    registry
}
