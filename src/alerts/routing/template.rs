//! Titles for incidents a rule declares: text with `{{ labels.NAME }}`,
//! `{{ annotations.NAME }}`, `{{ severity }}`, `{{ integration }}` and `{{ count }}`.
//!
//! There is no logic: a template is text and values, checked when the rule is saved, so
//! rendering cannot fail.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::matcher::is_label_name;
use crate::alerts::intake::{cut, Labels, TITLE_MAX};
use crate::alerts::AlertSeverity;

/// A parsed title template; it is stored and sent as the text it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Label(String),
    Annotation(String),
    Severity,
    Integration,
    Count,
}

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("`{0}` is never closed with `}}}}`")]
    Unclosed(String),
    #[error("`{{{{ {0} }}}}` is not something a title can show; use labels.NAME, annotations.NAME, severity, integration or count")]
    Unknown(String),
    #[error("`{0}` in `{{{{ {1} }}}}` is not a label name: use letters, digits and underscores, not starting with a digit")]
    Name(String, String),
}

/// What a title is rendered from: the alert group as it stands.
#[derive(Debug, Clone, Copy)]
pub struct TemplateInput<'a> {
    pub labels: &'a Labels,
    pub annotations: &'a Labels,
    pub severity: AlertSeverity,
    /// The integration's name.
    pub integration: &'a str,
    /// How many alerts of the group fire.
    pub count: u32,
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let inside = &rest[open + 2..];
            let close = inside
                .find("}}")
                .ok_or_else(|| TemplateError::Unclosed(cut(&rest[open..], 30)))?;
            parts.push(expression(inside[..close].trim())?);
            rest = &inside[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template {
            source: source.to_owned(),
            parts,
        })
    }

    /// The text the template was parsed from.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The title: missing values are empty, the result is trimmed and cut to
    /// [`TITLE_MAX`] characters; `None` when nothing is left, so the caller keeps the
    /// group's own title.
    pub fn render(&self, input: &TemplateInput<'_>) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Label(name) => {
                    out.push_str(input.labels.get(name).map_or("", String::as_str))
                }
                Part::Annotation(name) => {
                    out.push_str(input.annotations.get(name).map_or("", String::as_str))
                }
                Part::Severity => out.push_str(input.severity.as_str()),
                Part::Integration => out.push_str(input.integration),
                Part::Count => out.push_str(&input.count.to_string()),
            }
        }
        let title = cut(out.trim(), TITLE_MAX);
        let title = title.trim_end();
        (!title.is_empty()).then(|| title.to_owned())
    }
}

fn expression(inner: &str) -> Result<Part, TemplateError> {
    let named = |name: &str, part: fn(String) -> Part| {
        let name = name.trim();
        if is_label_name(name) {
            Ok(part(name.to_owned()))
        } else {
            Err(TemplateError::Name(name.to_owned(), inner.to_owned()))
        }
    };
    match inner {
        "severity" => Ok(Part::Severity),
        "integration" => Ok(Part::Integration),
        "count" => Ok(Part::Count),
        _ => match inner
            .split_once('.')
            .map(|(map, name)| (map.trim_end(), name))
        {
            Some(("labels", name)) => named(name, Part::Label),
            Some(("annotations", name)) => named(name, Part::Annotation),
            _ => Err(TemplateError::Unknown(inner.to_owned())),
        },
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Template, D::Error> {
        let source = String::deserialize(deserializer)?;
        Template::parse(&source).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn render(template: &str) -> Option<String> {
        let labels = labels(&[("service", "api"), ("env", "prod")]);
        let annotations = labels_for_annotations();
        Template::parse(template)
            .expect(template)
            .render(&TemplateInput {
                labels: &labels,
                annotations: &annotations,
                severity: AlertSeverity::Critical,
                integration: "Prometheus",
                count: 3,
            })
    }

    fn labels_for_annotations() -> Labels {
        labels(&[("summary", "API slow")])
    }

    #[test]
    fn every_value_a_title_can_show_is_filled_in() {
        assert_eq!(
            render("[{{severity}}] {{ labels.service }} in {{labels.env}}: {{ annotations.summary }} ({{ count }} from {{ integration }})").as_deref(),
            Some("[critical] api in prod: API slow (3 from Prometheus)")
        );
    }

    #[test]
    fn whitespace_inside_the_braces_is_optional() {
        assert_eq!(
            render("{{labels.service}}"),
            render("{{   labels.service\t}}")
        );
        assert_eq!(render("{{ labels . service }}").as_deref(), Some("api"));
    }

    #[test]
    fn text_without_expressions_is_kept_as_it_is() {
        assert_eq!(render("Database down").as_deref(), Some("Database down"));
        assert_eq!(render("a } b { c }}").as_deref(), Some("a } b { c }}"));
    }

    #[test]
    fn a_missing_label_or_annotation_renders_as_nothing() {
        assert_eq!(
            render("{{ labels.region }}{{ annotations.runbook_url }} down: {{ labels.service }}")
                .as_deref(),
            Some("down: api")
        );
    }

    #[test]
    fn a_title_that_renders_empty_is_none_so_the_group_title_is_kept() {
        assert_eq!(render("  {{ labels.region }}  "), None);
        assert_eq!(render(""), None);
    }

    #[test]
    fn a_long_title_is_cut_to_the_title_limit_on_a_character_boundary() {
        let long = "é".repeat(TITLE_MAX + 20);
        let rendered = render(&format!("{long} {{{{ labels.service }}}}")).expect("some");
        assert_eq!(rendered.chars().count(), TITLE_MAX);
        assert!(rendered.chars().all(|c| c == 'é'));
    }

    #[test]
    fn an_expression_it_does_not_know_is_refused_by_name() {
        let error = Template::parse("{{ .Labels.service }}").expect_err("go syntax");
        assert_eq!(error, TemplateError::Unknown(".Labels.service".into()));
        assert_eq!(
            error.to_string(),
            "`{{ .Labels.service }}` is not something a title can show; use labels.NAME, annotations.NAME, severity, integration or count"
        );
        for source in [
            "{{ status }}",
            "{{}}",
            "{{ labels }}",
            "{{ severity | upper }}",
            "{{ values.x }}",
        ] {
            assert!(
                matches!(Template::parse(source), Err(TemplateError::Unknown(_))),
                "{source}"
            );
        }
    }

    #[test]
    fn a_name_that_is_not_a_label_name_is_refused() {
        assert_eq!(
            Template::parse("{{ labels.app-name }}"),
            Err(TemplateError::Name(
                "app-name".into(),
                "labels.app-name".into()
            ))
        );
        assert!(matches!(
            Template::parse("{{ annotations. }}"),
            Err(TemplateError::Name(..))
        ));
    }

    #[test]
    fn unclosed_braces_are_refused() {
        let error = Template::parse("{{ labels.service }} is {{ severity").expect_err("open");
        assert_eq!(error.to_string(), "`{{ severity` is never closed with `}}`");
        assert!(Template::parse("{{ labels.service }").is_err());
    }

    #[test]
    fn a_template_is_stored_as_its_text_and_checked_when_read() {
        let template = Template::parse("{{ labels.service }} down").expect("parses");
        let json = serde_json::to_value(&template).expect("serializes");
        assert_eq!(json, serde_json::json!("{{ labels.service }} down"));
        assert_eq!(
            serde_json::from_value::<Template>(json).expect("reads back"),
            template
        );
        let bad = serde_json::from_value::<Template>(serde_json::json!("{{ nope }}"))
            .expect_err("refused");
        assert!(bad.to_string().contains("`{{ nope }}` is not something"));
    }
}
