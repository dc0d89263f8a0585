//! How much text each kind of field takes, and which characters. Every command checks
//! its text fields with one of these, so the admin UI, the API and the CLI refuse the
//! same things with the same words; the API states the same numbers as `maxLength`
//! (`#[schema(max_length = …)]` on its request fields).

/// A field refused: which one, and why, in words for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// The rule for one kind of text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLimit {
    /// At most this many characters (Unicode scalar values, as JSON Schema counts).
    pub max_chars: usize,
    /// Whether line breaks and tabs are allowed (Markdown and descriptions).
    pub multiline: bool,
}

/// Titles of incidents, workstreams, tasks and maintenances.
pub const TITLE: TextLimit = TextLimit::line(200);
/// Titles of action items, which often quote what they fix.
pub const ACTION_TITLE: TextLimit = TextLimit::line(300);
/// Names of components, groups, templates, tokens and people.
pub const NAME: TextLimit = TextLimit::line(100);
/// One-line notes: why a timestamp changed.
pub const REASON: TextLimit = TextLimit::line(500);
/// Short descriptions: of a subscriber, a template, a component or group.
pub const DESCRIPTION: TextLimit = TextLimit::lines(500);
/// Summaries and objectives (plain text or Markdown, a few paragraphs).
pub const SUMMARY: TextLimit = TextLimit::lines(5_000);
/// Markdown bodies: public updates, maintenance descriptions, action-item descriptions.
pub const MARKDOWN: TextLimit = TextLimit::lines(20_000);
/// Log entries, which often carry pasted output.
pub const NOTE: TextLimit = TextLimit::lines(50_000);
/// Postmortem templates.
pub const TEMPLATE: TextLimit = TextLimit::lines(100_000);
/// Postmortem documents (well under the 1 MiB request body limit).
pub const POSTMORTEM: TextLimit = TextLimit::lines(200_000);
/// URLs (webhook targets, trackers).
pub const URL: TextLimit = TextLimit::line(2_000);

impl TextLimit {
    pub const fn line(max_chars: usize) -> Self {
        TextLimit {
            max_chars,
            multiline: false,
        }
    }

    pub const fn lines(max_chars: usize) -> Self {
        TextLimit {
            max_chars,
            multiline: true,
        }
    }

    /// Refuse `value` if it is too long or holds a control character (a single-line
    /// field takes no line breaks or tabs either).
    pub fn check(self, field: &'static str, value: &str) -> Result<(), FieldError> {
        let label = field.replace('_', " ");
        let count = value.chars().count();
        if count > self.max_chars {
            return Err(FieldError {
                field,
                message: format!(
                    "The {label} has at most {} characters (this one has {count}).",
                    self.max_chars
                ),
            });
        }
        let allowed = |c: char| self.multiline && matches!(c, '\n' | '\r' | '\t');
        if let Some(bad) = value.chars().find(|c| c.is_control() && !allowed(*c)) {
            let what = if self.multiline {
                "control characters (line breaks and tabs are fine)"
            } else {
                "line breaks, tabs or other control characters"
            };
            return Err(FieldError {
                field,
                message: format!(
                    "The {label} cannot contain {what}; found U+{:04X}.",
                    u32::from(bad)
                ),
            });
        }
        Ok(())
    }

    /// Like [`check`](Self::check), and also refuse an empty (or blank) value.
    pub fn check_required(self, field: &'static str, value: &str) -> Result<(), FieldError> {
        if value.trim().is_empty() {
            let label = field.replace('_', " ");
            return Err(FieldError {
                field,
                message: format!("The {label} cannot be empty."),
            });
        }
        self.check(field, value)
    }

    /// `value` trimmed, refused with the words `if_empty` when nothing is left, then
    /// checked as [`check`](Self::check) does.
    pub fn trimmed<'a>(
        self,
        field: &'static str,
        value: &'a str,
        if_empty: &str,
    ) -> Result<&'a str, FieldError> {
        let value = value.trim();
        if value.is_empty() {
            let message = if_empty.to_owned();
            return Err(FieldError { field, message });
        }
        self.check(field, value).map(|()| value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_at_the_limit_is_taken_and_one_more_character_is_not() {
        assert!(TITLE.check("title", &"é".repeat(200)).is_ok());
        let err = TITLE.check("title", &"é".repeat(201)).unwrap_err();
        assert_eq!(err.field, "title");
        assert!(err.message.contains("at most 200"), "{}", err.message);
    }

    #[test]
    fn single_line_fields_refuse_line_breaks_and_control_characters() {
        assert!(TITLE.check("title", "db-3\non fire").is_err());
        assert!(TITLE.check("title", "bell\u{7}").is_err());
        assert!(TITLE.check("title", "C1 \u{85} next line").is_err());
        assert!(TITLE.check("title", "db-3 on fire?").is_ok());
    }

    #[test]
    fn markdown_keeps_newlines_and_tabs_but_not_other_control_characters() {
        assert!(MARKDOWN.check("body", "# Hi\r\n\n\tcode").is_ok());
        let err = MARKDOWN.check("body", "escape \u{1b}[31m").unwrap_err();
        assert!(err.message.contains("U+001B"), "{}", err.message);
    }

    #[test]
    fn a_required_field_may_not_be_blank() {
        assert!(NAME.check_required("name", "  ").is_err());
        assert!(NAME.check("name", "").is_ok());
    }
}
