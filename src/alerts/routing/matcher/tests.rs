//! Tests of the matchers.

use super::*;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn check(label: &str, op: MatchOp, value: &str, against: &[(&str, &str)]) -> bool {
    Matcher::new(label, op, value)
        .compile()
        .expect("compiles")
        .matches(&labels(against))
}

#[test]
fn equality_compares_the_whole_value() {
    assert!(check("service", MatchOp::Eq, "api", &[("service", "api")]));
    assert!(!check(
        "service",
        MatchOp::Eq,
        "api",
        &[("service", "api-2")]
    ));
    assert!(!check("service", MatchOp::Eq, "api", &[("service", "API")]));
    assert!(check(
        "service",
        MatchOp::NotEq,
        "api",
        &[("service", "web")]
    ));
    assert!(!check(
        "service",
        MatchOp::NotEq,
        "api",
        &[("service", "api")]
    ));
}

#[test]
fn a_missing_label_matches_as_the_empty_string() {
    assert!(check("env", MatchOp::NotEq, "prod", &[]));
    assert!(check("env", MatchOp::Eq, "", &[]));
    assert!(!check("env", MatchOp::Eq, "", &[("env", "prod")]));
    assert!(check("env", MatchOp::Regex, ".*", &[]));
    assert!(!check("env", MatchOp::Regex, ".+", &[]));
    assert!(check("env", MatchOp::NotRegex, "prod|staging", &[]));
    assert!(!check("env", MatchOp::Eq, "prod", &[]));
}

#[test]
fn regular_expressions_are_anchored_at_both_ends() {
    assert!(check(
        "service",
        MatchOp::Regex,
        "api",
        &[("service", "api")]
    ));
    assert!(!check(
        "service",
        MatchOp::Regex,
        "api",
        &[("service", "api-2")]
    ));
    assert!(!check(
        "service",
        MatchOp::Regex,
        "api",
        &[("service", "my-api")]
    ));
    assert!(check(
        "service",
        MatchOp::Regex,
        "api|web",
        &[("service", "web")]
    ));
    assert!(!check(
        "service",
        MatchOp::Regex,
        "api|web",
        &[("service", "webapi")]
    ));
    assert!(check(
        "service",
        MatchOp::Regex,
        "api-.*",
        &[("service", "api-2")]
    ));
    assert!(check(
        "service",
        MatchOp::NotRegex,
        "api",
        &[("service", "api-2")]
    ));
    assert!(!check(
        "service",
        MatchOp::NotRegex,
        "a.i",
        &[("service", "api")]
    ));
}

#[test]
fn a_pattern_cannot_close_the_anchoring_group_and_escape_it() {
    let error = Matcher::new("service", MatchOp::Regex, "a)|(b")
        .compile()
        .expect_err("unbalanced on its own");
    assert!(
        matches!(error, MatcherError::InvalidRegex { .. }),
        "{error:?}"
    );
}

#[test]
fn an_invalid_regular_expression_is_explained_in_one_line() {
    let error = Matcher::new("service", MatchOp::Regex, "api(")
        .compile()
        .expect_err("invalid");
    let message = error.to_string();
    assert!(
        message.starts_with("the regular expression for `service` is invalid: "),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
    assert!(message.contains("unclosed group"), "{message}");
}

#[test]
fn a_regular_expression_over_the_size_limit_is_refused() {
    let error = Matcher::new("service", MatchOp::Regex, "(?:a{100}){100}")
        .compile()
        .expect_err("too large");
    assert_eq!(
        error,
        MatcherError::RegexTooLarge {
            label: "service".into()
        }
    );
    assert!(error.to_string().contains("over 64 KiB"));
}

#[test]
fn everyday_unicode_patterns_fit_within_the_size_limit() {
    for pattern in [
        r"\w+",
        r".*",
        r"[[:alpha:]]+-\d+",
        r"(?i)api|web|worker-\d{1,3}",
    ] {
        Matcher::new("service", MatchOp::Regex, pattern)
            .compile()
            .unwrap_or_else(|error| panic!("{pattern}: {error}"));
    }
}

#[test]
fn label_names_are_letters_digits_and_underscores_not_starting_with_a_digit() {
    assert!(is_label_name("service"));
    assert!(is_label_name("_private"));
    assert!(is_label_name("k8s_namespace2"));
    assert!(!is_label_name(""));
    assert!(!is_label_name("2fast"));
    assert!(!is_label_name("app.kubernetes.io/name"));
    assert!(!is_label_name("a-b"));
    let error = Matcher::new("a-b", MatchOp::Eq, "x")
        .compile()
        .expect_err("bad name");
    assert_eq!(error, MatcherError::LabelName("a-b".into()));
    assert!(error.to_string().starts_with("`a-b` is not a label name"));
}

#[test]
fn a_matcher_is_stored_as_label_op_and_value_with_the_operator_as_written() {
    let matcher = Matcher::new("team", MatchOp::NotRegex, "db|infra");
    let json = serde_json::to_value(&matcher).expect("serializes");
    assert_eq!(
        json,
        serde_json::json!({"label": "team", "op": "!~", "value": "db|infra"})
    );
    let back: Matcher = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back, matcher);
    for (written, op) in [
        ("=", MatchOp::Eq),
        ("!=", MatchOp::NotEq),
        ("=~", MatchOp::Regex),
        ("!~", MatchOp::NotRegex),
    ] {
        let json = serde_json::json!({"label": "a", "op": written, "value": ""});
        let matcher: Matcher = serde_json::from_value(json).expect("known operator");
        assert_eq!(matcher.op, op);
        assert_eq!(op.as_str(), written);
    }
    let unknown = serde_json::json!({"label": "a", "op": "==", "value": ""});
    assert!(serde_json::from_value::<Matcher>(unknown).is_err());
}

#[test]
fn one_matcher_is_read_from_the_alertmanager_form() {
    let parse = |text: &str| text.parse::<Matcher>().expect(text);
    assert_eq!(
        parse(r#"service="api""#),
        Matcher::new("service", MatchOp::Eq, "api")
    );
    assert_eq!(
        parse(r#"  team =~ "db|infra"  "#),
        Matcher::new("team", MatchOp::Regex, "db|infra")
    );
    assert_eq!(
        parse(r#"env!="dev""#),
        Matcher::new("env", MatchOp::NotEq, "dev")
    );
    assert_eq!(
        parse(r#"instance!~"canary-.*""#),
        Matcher::new("instance", MatchOp::NotRegex, "canary-.*")
    );
    assert_eq!(parse(r#"env="""#), Matcher::new("env", MatchOp::Eq, ""));
    assert_eq!(parse("env="), Matcher::new("env", MatchOp::Eq, ""));
    assert_eq!(
        parse("{env=prod}"),
        Matcher::new("env", MatchOp::Eq, "prod")
    );
}

#[test]
fn bare_values_are_read_up_to_the_next_comma_and_trimmed() {
    assert_eq!(
        parse_matchers("foo=bar,dings!=bums").expect("parses"),
        vec![
            Matcher::new("foo", MatchOp::Eq, "bar"),
            Matcher::new("dings", MatchOp::NotEq, "bums"),
        ]
    );
    assert_eq!(
        parse_matchers("summary = two words , x=~a.+").expect("parses"),
        vec![
            Matcher::new("summary", MatchOp::Eq, "two words"),
            Matcher::new("x", MatchOp::Regex, "a.+"),
        ]
    );
}

#[test]
fn a_list_may_sit_in_braces_and_end_with_a_comma() {
    let parsed = parse_matchers(r#"{foo = "bar", dings != "bums", }"#).expect("parses");
    assert_eq!(
        parsed,
        vec![
            Matcher::new("foo", MatchOp::Eq, "bar"),
            Matcher::new("dings", MatchOp::NotEq, "bums"),
        ]
    );
    assert_eq!(parse_matchers("{}").expect("empty"), Vec::new());
    assert_eq!(parse_matchers("  ").expect("empty"), Vec::new());
}

#[test]
fn quoted_values_keep_commas_and_understand_escapes() {
    let parsed = parse_matchers(r#"{quote="She said: \"Hi, all\"", path="C:\\temp", text="a\nb"}"#)
        .expect("parses");
    assert_eq!(
        parsed,
        vec![
            Matcher::new("quote", MatchOp::Eq, r#"She said: "Hi, all""#),
            Matcher::new("path", MatchOp::Eq, r"C:\temp"),
            Matcher::new("text", MatchOp::Eq, "a\nb"),
        ]
    );
    // Other backslashes are the regular expression's own, kept as written.
    assert_eq!(
        parse_matchers(r#"code=~"5\d\d""#).expect("parses"),
        vec![Matcher::new("code", MatchOp::Regex, r"5\d\d")]
    );
}

#[test]
fn the_written_form_reads_back_as_the_same_matcher() {
    let matcher = Matcher::new("quote", MatchOp::NotEq, "a \"b\"\\c\nd, e");
    let written = matcher.to_string();
    assert_eq!(written, r#"quote!="a \"b\"\\c\nd, e""#);
    assert_eq!(written.parse::<Matcher>().expect("reads back"), matcher);
    let regex = Matcher::new("code", MatchOp::Regex, r"5\d\d|\\");
    assert_eq!(
        regex.to_string().parse::<Matcher>().expect("reads back"),
        regex
    );
}

#[test]
fn malformed_text_gets_an_error_that_says_what_is_wrong() {
    let error = |text: &str| parse_matchers(text).expect_err(text).to_string();
    assert_eq!(
        error("service"),
        "expected an operator (=, !=, =~ or !~) after `service`"
    );
    assert_eq!(
        error(r#"service=="api""#),
        "the value for `service` contains a double quote; inside quotes write it as \\\""
    );
    assert_eq!(
        error(r#"service="api"#),
        "the value for `service` opens a double quote that is never closed"
    );
    assert_eq!(
        error(r#"service="api" env="prod""#),
        "unexpected `env=\"prod\"` after the matcher for `service`; separate matchers with commas"
    );
    assert_eq!(
        error(r#"="api""#),
        "expected a label name, found `=\"api\"`"
    );
    assert!(error(r#"9lives="x""#).starts_with("`9lives` is not a label name"));
    assert!(error(r#"a="b",,c="d""#).starts_with("expected a label name"));
    assert!(error(r#"service=~"(api""#)
        .starts_with("the regular expression for `service` is invalid: "));
}

#[test]
fn reading_one_matcher_refuses_none_or_several() {
    assert_eq!("".parse::<Matcher>(), Err(MatcherError::NotOne));
    assert_eq!("a=b, c=d".parse::<Matcher>(), Err(MatcherError::NotOne));
}
