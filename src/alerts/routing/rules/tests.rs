//! Tests of the routing rules.

use super::super::matcher::MatchOp;
use super::*;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn rule(name: &str, position: i32, matchers: Vec<Matcher>, urgency: AlertUrgency) -> Rule {
    Rule {
        id: Uuid::new_v4(),
        name: name.into(),
        position,
        enabled: true,
        matchers,
        integration_ids: Vec::new(),
        severities: Vec::new(),
        urgency,
        declare: None,
        component_status: None,
    }
}

fn eq(label: &str, value: &str) -> Matcher {
    Matcher::new(label, MatchOp::Eq, value)
}

struct Case {
    integration_id: Uuid,
    labels: Labels,
    severity: AlertSeverity,
}

impl Case {
    fn new(pairs: &[(&str, &str)]) -> Case {
        Case {
            integration_id: Uuid::new_v4(),
            labels: labels(pairs),
            severity: AlertSeverity::Error,
        }
    }

    fn route(&self, rules: &CompiledRules) -> Route {
        rules.evaluate(&RouteFacts {
            integration_id: self.integration_id,
            default_urgency: AlertUrgency::High,
            labels: &self.labels,
            severity: self.severity,
        })
    }
}

fn matched(route: &Route) -> Option<&str> {
    route.rule.as_ref().map(|(_, name)| name.as_str())
}

#[test]
fn the_first_matching_rule_by_position_wins_whatever_order_they_come_in() {
    let rules = CompiledRules::new(vec![
        rule("any api", 20, vec![eq("service", "api")], AlertUrgency::Low),
        rule(
            "api in prod",
            10,
            vec![eq("service", "api"), eq("env", "prod")],
            AlertUrgency::Critical,
        ),
    ])
    .expect("compiles");
    let prod = Case::new(&[("service", "api"), ("env", "prod")]);
    let route = prod.route(&rules);
    assert_eq!(matched(&route), Some("api in prod"));
    assert_eq!(route.urgency, AlertUrgency::Critical);
    let dev = Case::new(&[("service", "api"), ("env", "dev")]);
    assert_eq!(matched(&dev.route(&rules)), Some("any api"));
}

#[test]
fn rules_of_the_same_position_are_tried_in_the_order_given() {
    let rules = CompiledRules::new(vec![
        rule("older", 1, vec![], AlertUrgency::Low),
        rule("newer", 1, vec![], AlertUrgency::Critical),
    ])
    .expect("compiles");
    assert_eq!(matched(&Case::new(&[]).route(&rules)), Some("older"));
}

#[test]
fn no_matching_rule_gives_the_integrations_default_route_without_actions() {
    let rules = CompiledRules::new(vec![rule(
        "db",
        1,
        vec![eq("service", "db")],
        AlertUrgency::Critical,
    )])
    .expect("compiles");
    let route = Case::new(&[("service", "api")]).route(&rules);
    assert_eq!(route, Route::default_for(AlertUrgency::High));
    assert_eq!(route.rule, None);
    assert!(route.declare.is_none() && route.component_status.is_none());
    assert_eq!(
        Case::new(&[]).route(&CompiledRules::default()),
        Route::default_for(AlertUrgency::High)
    );
}

#[test]
fn a_disabled_rule_is_skipped_even_when_it_would_match_first() {
    let mut off = rule("off", 1, vec![], AlertUrgency::Critical);
    off.enabled = false;
    let rules =
        CompiledRules::new(vec![off, rule("on", 2, vec![], AlertUrgency::Low)]).expect("compiles");
    assert_eq!(matched(&Case::new(&[]).route(&rules)), Some("on"));
}

#[test]
fn a_rule_limited_to_integrations_applies_only_to_those() {
    let case = Case::new(&[]);
    let mut only_other = rule("other", 1, vec![], AlertUrgency::Critical);
    only_other.integration_ids = vec![Uuid::new_v4()];
    let mut only_this = rule("this", 2, vec![], AlertUrgency::Low);
    only_this.integration_ids = vec![Uuid::new_v4(), case.integration_id];
    let rules = CompiledRules::new(vec![only_other, only_this]).expect("compiles");
    assert_eq!(matched(&case.route(&rules)), Some("this"));
}

#[test]
fn a_rule_limited_to_severities_goes_by_the_normalised_severity_not_the_label() {
    let mut critical_only = rule("critical", 1, vec![], AlertUrgency::Critical);
    critical_only.severities = vec![AlertSeverity::Critical];
    let rules = CompiledRules::new(vec![critical_only]).expect("compiles");
    let mut case = Case::new(&[("severity", "critical")]);
    case.severity = AlertSeverity::Warning;
    assert_eq!(matched(&case.route(&rules)), None);
    case.severity = AlertSeverity::Critical;
    assert_eq!(matched(&case.route(&rules)), Some("critical"));
}

#[test]
fn every_matcher_of_a_rule_must_match() {
    let rules = CompiledRules::new(vec![rule(
        "api not canary",
        1,
        vec![
            Matcher::new("service", MatchOp::Regex, "api|web"),
            Matcher::new("instance", MatchOp::NotRegex, "canary-.*"),
        ],
        AlertUrgency::Critical,
    )])
    .expect("compiles");
    assert_eq!(
        matched(&Case::new(&[("service", "web")]).route(&rules)),
        Some("api not canary")
    );
    assert_eq!(
        matched(&Case::new(&[("service", "web"), ("instance", "canary-1")]).route(&rules)),
        None
    );
    assert_eq!(
        matched(&Case::new(&[("service", "web2")]).route(&rules)),
        None
    );
}

#[test]
fn a_matched_rule_carries_its_actions() {
    let mut paging = rule("page", 1, vec![], AlertUrgency::Critical);
    paging.declare = Some(DeclareAction {
        severity: None,
        component_ids: Vec::new(),
        component_label: Some("service".into()),
        title_template: Some(Template::parse("{{ labels.service }} down").expect("parses")),
    });
    paging.component_status = Some(ComponentStatusAction {
        component_ids: vec![Uuid::new_v4()],
        component_label: None,
        status: ComponentStatus::PartialOutage,
        apply: Apply::Known,
    });
    let route = Case::new(&[]).route(&CompiledRules::new(vec![paging.clone()]).expect("compiles"));
    assert_eq!(route.rule, Some((paging.id, "page".to_owned())));
    assert_eq!(route.declare, paging.declare);
    assert_eq!(route.component_status, paging.component_status);
}

#[test]
fn urgency_only_rises() {
    let route = |urgency| Route::default_for(urgency);
    assert_eq!(
        route(AlertUrgency::Critical).raise(AlertUrgency::Low),
        AlertUrgency::Critical
    );
    assert_eq!(
        route(AlertUrgency::High).raise(AlertUrgency::Low),
        AlertUrgency::High
    );
    assert_eq!(
        route(AlertUrgency::Low).raise(AlertUrgency::Critical),
        AlertUrgency::Critical
    );
    assert_eq!(
        route(AlertUrgency::High).raise(AlertUrgency::Critical),
        AlertUrgency::Critical
    );
    assert_eq!(
        route(AlertUrgency::Low).raise(AlertUrgency::High),
        AlertUrgency::High
    );
    assert_eq!(
        route(AlertUrgency::High).raise(AlertUrgency::High),
        AlertUrgency::High
    );
}

#[test]
fn a_rule_with_a_bad_matcher_is_refused_with_its_name() {
    let bad = rule(
        "broken",
        1,
        vec![Matcher::new("service", MatchOp::Regex, "(")],
        AlertUrgency::Low,
    );
    let error = CompiledRules::new(vec![bad.clone()]).expect_err("refused");
    assert_eq!(error.id, bad.id);
    assert!(
        error.to_string().starts_with(
            "routing rule `broken`: the regular expression for `service` is invalid: "
        ),
        "{error}"
    );
    let mut disabled = bad;
    disabled.enabled = false;
    assert!(CompiledRules::new(vec![disabled]).is_ok());
}

#[test]
fn a_rule_that_no_longer_compiles_is_skipped_and_the_others_still_route() {
    let broken = rule(
        "broken",
        1,
        vec![Matcher::new("service", MatchOp::Regex, "(")],
        AlertUrgency::Critical,
    );
    let good = rule("api", 2, vec![eq("service", "api")], AlertUrgency::Low);
    let (rules, errors) = CompiledRules::skipping_invalid(vec![broken.clone(), good]);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].id, broken.id);
    let route = Case::new(&[("service", "api")]).route(&rules);
    assert_eq!(matched(&route), Some("api"));
}

#[test]
fn a_component_status_change_must_name_its_components_by_id_or_a_valid_label() {
    let mut change = rule("status", 1, vec![], AlertUrgency::High);
    change.component_status = Some(ComponentStatusAction {
        component_ids: Vec::new(),
        component_label: None,
        status: ComponentStatus::MajorOutage,
        apply: Apply::Propose,
    });
    assert_eq!(
        change.compile().expect_err("no components").problem,
        RuleProblem::NoComponents
    );
    if let Some(action) = change.component_status.as_mut() {
        action.component_label = Some("app.kubernetes.io/name".into());
    }
    assert_eq!(
        change.compile().expect_err("bad label").problem,
        RuleProblem::ComponentLabel("app.kubernetes.io/name".into())
    );
    if let Some(action) = change.component_status.as_mut() {
        action.component_label = Some("service".into());
    }
    assert!(change.compile().is_ok());
}

#[test]
fn declared_incidents_take_a_severity_from_the_alert_severity_unless_the_rule_sets_one() {
    assert_eq!(
        severity_to_incident(AlertSeverity::Critical),
        Severity::Sev2
    );
    assert_eq!(severity_to_incident(AlertSeverity::Error), Severity::Sev3);
    assert_eq!(severity_to_incident(AlertSeverity::Warning), Severity::Sev4);
    assert_eq!(severity_to_incident(AlertSeverity::Info), Severity::Sev4);
    let mut declare: DeclareAction =
        serde_json::from_value(serde_json::json!({})).expect("all optional");
    assert_eq!(
        declare.incident_severity(AlertSeverity::Critical),
        Severity::Sev2
    );
    declare.severity = Some(Severity::Sev1);
    assert_eq!(
        declare.incident_severity(AlertSeverity::Info),
        Severity::Sev1
    );
}

#[test]
fn actions_are_read_from_their_json_columns() {
    let component = Uuid::new_v4();
    let declare: DeclareAction = serde_json::from_value(serde_json::json!({
        "severity": "sev1", "component_ids": [component], "component_label": null,
        "title_template": "{{ labels.service }} is down"
    }))
    .expect("declare");
    assert_eq!(declare.severity, Some(Severity::Sev1));
    assert_eq!(declare.component_ids, vec![component]);
    assert_eq!(
        declare.title_template.as_ref().map(Template::as_str),
        Some("{{ labels.service }} is down")
    );
    let change: ComponentStatusAction = serde_json::from_value(serde_json::json!({
        "component_label": "service", "status": "partial_outage"
    }))
    .expect("component status");
    assert_eq!(change.apply, Apply::Propose, "propose is the default");
    assert_eq!(change.status, ComponentStatus::PartialOutage);
    let public: ComponentStatusAction = serde_json::from_value(serde_json::json!({
        "component_ids": [component], "status": "major_outage", "apply": "public"
    }))
    .expect("public");
    assert_eq!(public.apply, Apply::Public);
    assert_eq!(
        serde_json::to_value(&public).expect("serializes"),
        serde_json::json!({"component_ids": [component], "component_label": null,
            "status": "major_outage", "apply": "public"})
    );
    let bad_template = serde_json::from_value::<DeclareAction>(serde_json::json!({
        "title_template": "{{ labels.service"
    }));
    assert!(bad_template.is_err());
}
