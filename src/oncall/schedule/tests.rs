use super::*;
use time::macros::datetime;

fn users() -> (Uuid, Uuid, Uuid) {
    (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3))
}

fn daily(zone: &str, handoff: civil::Time, starts_on: civil::Date) -> Rotation {
    let (a, b, c) = users();
    Rotation {
        interval: RotationInterval::Daily,
        handoff,
        time_zone: TimeZone::get(zone).expect("a known zone"),
        starts_on,
        user_ids: vec![a, b, c],
    }
}

#[test]
fn a_daily_rotation_hands_off_at_its_local_time_and_goes_round() {
    let (a, b, c) = users();
    let r = daily("UTC", civil::time(9, 0, 0, 0), civil::date(2026, 12, 1));
    assert_eq!(r.on_duty_at(datetime!(2026-12-01 08:59:59 UTC)), None);
    assert_eq!(r.on_duty_at(datetime!(2026-12-01 09:00 UTC)), Some(a));
    assert_eq!(r.on_duty_at(datetime!(2026-12-02 08:59:59 UTC)), Some(a));
    assert_eq!(r.on_duty_at(datetime!(2026-12-02 09:00 UTC)), Some(b));
    assert_eq!(r.on_duty_at(datetime!(2026-12-03 23:00 UTC)), Some(c));
    assert_eq!(r.on_duty_at(datetime!(2026-12-04 09:00 UTC)), Some(a));
}

#[test]
fn the_hand_off_stays_at_nine_local_across_the_spring_dst_change() {
    let (a, b, _) = users();
    // Berlin moves from UTC+1 to UTC+2 on 29 March 2026 at 02:00 local.
    let r = daily(
        "Europe/Berlin",
        civil::time(9, 0, 0, 0),
        civil::date(2026, 3, 28),
    );
    // 28 March, 09:00 CET = 08:00 UTC.
    assert_eq!(r.on_duty_at(datetime!(2026-03-28 07:59 UTC)), None);
    assert_eq!(r.on_duty_at(datetime!(2026-03-28 08:00 UTC)), Some(a));
    // 29 March, 09:00 CEST = 07:00 UTC: an hour earlier in UTC, still 09:00 on the wall.
    assert_eq!(r.on_duty_at(datetime!(2026-03-29 06:59 UTC)), Some(a));
    assert_eq!(r.on_duty_at(datetime!(2026-03-29 07:00 UTC)), Some(b));
    assert_eq!(
        r.handoffs_between(
            datetime!(2026-03-28 00:00 UTC),
            datetime!(2026-03-30 12:00 UTC)
        ),
        vec![
            datetime!(2026-03-28 08:00 UTC),
            datetime!(2026-03-29 07:00 UTC),
            datetime!(2026-03-30 07:00 UTC),
        ]
    );
}

#[test]
fn a_hand_off_in_the_hour_the_clocks_skip_happens_as_they_jump() {
    let (a, b, _) = users();
    // New York skips 02:00–03:00 on 8 March 2026; a 02:30 hand-off happens at 03:30 EDT.
    let r = daily(
        "America/New_York",
        civil::time(2, 30, 0, 0),
        civil::date(2026, 3, 7),
    );
    assert_eq!(r.on_duty_at(datetime!(2026-03-08 07:29 UTC)), Some(a));
    assert_eq!(r.on_duty_at(datetime!(2026-03-08 07:30 UTC)), Some(b));
}

#[test]
fn the_autumn_change_repeats_an_hour_and_hands_off_once() {
    let (a, b, c) = users();
    // Berlin goes back from 03:00 to 02:00 on 25 October 2026; a 02:30 hand-off happens
    // at its first occurrence (00:30 UTC), not twice.
    let r = daily(
        "Europe/Berlin",
        civil::time(2, 30, 0, 0),
        civil::date(2026, 10, 24),
    );
    let handoffs = r.handoffs_between(
        datetime!(2026-10-24 00:00 UTC),
        datetime!(2026-10-26 12:00 UTC),
    );
    assert_eq!(
        handoffs,
        vec![
            datetime!(2026-10-24 00:30 UTC),
            datetime!(2026-10-25 00:30 UTC),
            datetime!(2026-10-26 01:30 UTC),
        ]
    );
    assert_eq!(r.on_duty_at(datetime!(2026-10-25 01:15 UTC)), Some(b));
    assert_eq!(r.on_duty_at(datetime!(2026-10-26 01:29 UTC)), Some(b));
    assert_eq!(r.on_duty_at(datetime!(2026-10-26 01:30 UTC)), Some(c));
    assert_eq!(r.on_duty_at(datetime!(2026-10-24 12:00 UTC)), Some(a));
}

#[test]
fn a_weekly_rotation_hands_off_every_seven_days() {
    let (a, b, _) = users();
    let mut r = daily("UTC", civil::time(10, 0, 0, 0), civil::date(2026, 11, 30));
    r.interval = RotationInterval::Weekly;
    assert_eq!(r.on_duty_at(datetime!(2026-12-06 23:00 UTC)), Some(a));
    assert_eq!(r.on_duty_at(datetime!(2026-12-07 09:59 UTC)), Some(a));
    assert_eq!(r.on_duty_at(datetime!(2026-12-07 10:00 UTC)), Some(b));
}

#[test]
fn an_override_beats_taken_duty_which_beats_the_rotation() {
    let (a, b, c) = users();
    let facts = DutyFacts {
        rotation: Some(daily(
            "UTC",
            civil::time(9, 0, 0, 0),
            civil::date(2026, 12, 1),
        )),
        takes: vec![Held {
            user_id: c,
            start: datetime!(2026-12-01 12:00 UTC),
            end: None,
        }],
        overrides: vec![Held {
            user_id: b,
            start: datetime!(2026-12-01 14:00 UTC),
            end: Some(datetime!(2026-12-01 15:00 UTC)),
        }],
    };
    assert_eq!(
        facts.at(datetime!(2026-12-01 11:00 UTC)),
        Some((a, DutySource::Rotation))
    );
    assert_eq!(
        facts.at(datetime!(2026-12-01 13:00 UTC)),
        Some((c, DutySource::Taken))
    );
    assert_eq!(
        facts.at(datetime!(2026-12-01 14:30 UTC)),
        Some((b, DutySource::Override))
    );
    // Taken duty outlasts the rotation's hand-offs until it is handed back.
    assert_eq!(
        facts.at(datetime!(2026-12-03 10:00 UTC)),
        Some((c, DutySource::Taken))
    );
}

#[test]
fn of_two_overlapping_overrides_the_later_one_counts() {
    let (a, b, _) = users();
    let facts = DutyFacts {
        overrides: vec![
            Held {
                user_id: a,
                start: datetime!(2026-12-01 00:00 UTC),
                end: Some(datetime!(2026-12-02 00:00 UTC)),
            },
            Held {
                user_id: b,
                start: datetime!(2026-12-01 10:00 UTC),
                end: Some(datetime!(2026-12-01 11:00 UTC)),
            },
        ],
        ..DutyFacts::default()
    };
    assert_eq!(
        facts.at(datetime!(2026-12-01 10:30 UTC)),
        Some((b, DutySource::Override))
    );
    assert_eq!(
        facts.at(datetime!(2026-12-01 11:00 UTC)),
        Some((a, DutySource::Override))
    );
    assert_eq!(facts.at(datetime!(2026-12-02 00:00 UTC)), None);
}

#[test]
fn the_timeline_joins_the_stretches_of_one_person_and_leaves_gaps_out() {
    let (a, b, c) = users();
    let facts = DutyFacts {
        rotation: Some(daily(
            "UTC",
            civil::time(9, 0, 0, 0),
            civil::date(2026, 12, 1),
        )),
        takes: vec![Held {
            user_id: c,
            start: datetime!(2026-12-01 12:00 UTC),
            end: Some(datetime!(2026-12-01 18:00 UTC)),
        }],
        overrides: vec![],
    };
    let shifts = facts.timeline(
        datetime!(2026-12-01 00:00 UTC),
        datetime!(2026-12-03 09:00 UTC),
    );
    let summary: Vec<_> = shifts
        .iter()
        .map(|s| (s.user_id, s.source, s.start, s.end))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                a,
                DutySource::Rotation,
                datetime!(2026-12-01 09:00 UTC),
                datetime!(2026-12-01 12:00 UTC)
            ),
            (
                c,
                DutySource::Taken,
                datetime!(2026-12-01 12:00 UTC),
                datetime!(2026-12-01 18:00 UTC)
            ),
            (
                a,
                DutySource::Rotation,
                datetime!(2026-12-01 18:00 UTC),
                datetime!(2026-12-02 09:00 UTC)
            ),
            (
                b,
                DutySource::Rotation,
                datetime!(2026-12-02 09:00 UTC),
                datetime!(2026-12-03 09:00 UTC)
            ),
        ]
    );
}

#[test]
fn working_hours_are_local_weekdays_between_start_and_end() {
    let hours = WorkingHours {
        days: vec![1, 2, 3, 4, 5],
        start: civil::time(9, 0, 0, 0),
        end: civil::time(17, 0, 0, 0),
        time_zone: TimeZone::get("Europe/Berlin").expect("a known zone"),
    };
    // Thursday 3 December 2026, 08:30 UTC = 09:30 in Berlin.
    assert!(hours.contains(datetime!(2026-12-03 08:30 UTC)));
    assert!(!hours.contains(datetime!(2026-12-03 07:59 UTC)));
    assert!(!hours.contains(datetime!(2026-12-03 16:00 UTC)));
    // Saturday.
    assert!(!hours.contains(datetime!(2026-12-05 10:00 UTC)));
    // Friday evening: they begin again on Monday, 09:00 in Berlin.
    assert_eq!(
        hours.next_start(datetime!(2026-12-04 17:30 UTC)),
        Some(datetime!(2026-12-07 08:00 UTC))
    );
    assert_eq!(
        hours.next_start(datetime!(2026-12-03 07:00 UTC)),
        Some(datetime!(2026-12-03 08:00 UTC))
    );
}

#[test]
fn conversions_from_the_database_types_keep_every_field() {
    assert_eq!(
        civil_time(time::macros::time!(09:30:15)),
        civil::time(9, 30, 15, 0)
    );
    assert_eq!(
        civil_date(time::macros::date!(2026 - 03 - 29)),
        civil::date(2026, 3, 29)
    );
}
