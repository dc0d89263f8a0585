//! Label matchers as in Alertmanager: `service="api"`, `env!="dev"`, `team=~"db|infra"`,
//! `instance!~"canary-.*"`.
//!
//! A label the alert does not carry matches as the empty string, so `env!="prod"`
//! holds for an alert without `env` and `env=""` selects exactly those. Regular
//! expressions are anchored at both ends (`=~ "api"` does not match `api-2`).

use std::fmt;
use std::str::FromStr;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::alerts::intake::Labels;

/// The most memory one compiled regular expression may take; a pattern over it is
/// refused when the rule is saved.
pub const REGEX_SIZE_LIMIT: usize = 64 * 1024;

/// How a matcher compares a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum MatchOp {
    /// `=`: the value equals.
    #[serde(rename = "=")]
    Eq,
    /// `!=`: the value differs.
    #[serde(rename = "!=")]
    NotEq,
    /// `=~`: the whole value matches the regular expression.
    #[serde(rename = "=~")]
    Regex,
    /// `!~`: the whole value does not match the regular expression.
    #[serde(rename = "!~")]
    NotRegex,
}

impl MatchOp {
    /// The operator as written: `=`, `!=`, `=~` or `!~`.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Eq => "=",
            MatchOp::NotEq => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One condition on one label, as stored (`{"label","op","value"}`) and as typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
}

/// Why a matcher, or the text of one, cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    #[error(
        "`{0}` is not a label name: use letters, digits and underscores, not starting with a digit"
    )]
    LabelName(String),
    #[error("the regular expression for `{label}` is invalid: {reason}")]
    InvalidRegex { label: String, reason: String },
    #[error("the regular expression for `{label}` is too large (over {} KiB compiled); make it simpler", REGEX_SIZE_LIMIT / 1024)]
    RegexTooLarge { label: String },
    #[error("expected a label name, found `{0}`")]
    MissingLabel(String),
    #[error("expected an operator (=, !=, =~ or !~) after `{0}`")]
    MissingOperator(String),
    #[error("the value for `{0}` opens a double quote that is never closed")]
    UnclosedQuote(String),
    #[error("the value for `{0}` contains a double quote; inside quotes write it as \\\"")]
    StrayQuote(String),
    #[error("unexpected `{rest}` after the matcher for `{label}`; separate matchers with commas")]
    Trailing { label: String, rest: String },
    #[error("expected exactly one matcher, like service=\"api\"")]
    NotOne,
}

/// A matcher ready to test labels, its regular expression compiled.
#[derive(Debug, Clone)]
pub struct CompiledMatcher {
    label: String,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Eq(String),
    NotEq(String),
    Regex(Regex),
    NotRegex(Regex),
}

/// Whether `name` is a label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Matcher {
    pub fn new(label: impl Into<String>, op: MatchOp, value: impl Into<String>) -> Matcher {
        Matcher {
            label: label.into(),
            op,
            value: value.into(),
        }
    }

    /// Checks the label name and compiles the regular expression, anchored at both ends.
    pub fn compile(&self) -> Result<CompiledMatcher, MatcherError> {
        if !is_label_name(&self.label) {
            return Err(MatcherError::LabelName(self.label.clone()));
        }
        let test = match self.op {
            MatchOp::Eq => Test::Eq(self.value.clone()),
            MatchOp::NotEq => Test::NotEq(self.value.clone()),
            MatchOp::Regex => Test::Regex(self.regex()?),
            MatchOp::NotRegex => Test::NotRegex(self.regex()?),
        };
        Ok(CompiledMatcher {
            label: self.label.clone(),
            test,
        })
    }

    fn regex(&self) -> Result<Regex, MatcherError> {
        // The pattern must stand on its own first: `a)|(b` would otherwise close the
        // anchoring group and match any value starting with `a`. This also keeps the
        // error's caret on the text the person wrote.
        build(&self.value).map_err(|error| self.regex_error(error))?;
        build(&format!("^(?:{})$", self.value)).map_err(|error| self.regex_error(error))
    }

    fn regex_error(&self, error: regex::Error) -> MatcherError {
        let label = self.label.clone();
        match error {
            regex::Error::CompiledTooBig(_) => MatcherError::RegexTooLarge { label },
            other => {
                // The crate's message spans lines (the pattern, a caret, then
                // `error: ...`); the last line is the part a person reads.
                let text = other.to_string();
                let reason = text
                    .lines()
                    .rev()
                    .find_map(|line| line.trim().strip_prefix("error: "))
                    .unwrap_or(text.trim())
                    .to_owned();
                MatcherError::InvalidRegex { label, reason }
            }
        }
    }
}

fn build(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

impl CompiledMatcher {
    /// Whether the labels pass; a missing label is taken as the empty string.
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.label).map_or("", String::as_str);
        match &self.test {
            Test::Eq(expected) => value == expected,
            Test::NotEq(expected) => value != expected,
            Test::Regex(regex) => regex.is_match(value),
            Test::NotRegex(regex) => !regex.is_match(value),
        }
    }
}

/// The Alertmanager form, `label=~"value"`, with `"`, `\` and line feeds escaped.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"", self.label, self.op.as_str())?;
        for c in self.value.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

/// Reads exactly one matcher, such as `service=~"api|web"`, and checks it compiles.
impl FromStr for Matcher {
    type Err = MatcherError;

    fn from_str(text: &str) -> Result<Matcher, MatcherError> {
        let mut matchers = parse_matchers(text)?;
        match (matchers.pop(), matchers.is_empty()) {
            (Some(matcher), true) => Ok(matcher),
            _ => Err(MatcherError::NotOne),
        }
    }
}

/// Reads a list of matchers as Alertmanager's classic parser does: optionally inside
/// `{ }`, separated by commas (a trailing one is allowed), each `label op value` with
/// spaces allowed around the operator. A value is either in double quotes, where `\"`,
/// `\\` and `\n` are escapes and commas are kept, or bare up to the next comma. Every
/// matcher is compiled, so what this returns can be saved.
pub fn parse_matchers(text: &str) -> Result<Vec<Matcher>, MatcherError> {
    let mut rest = text.trim();
    rest = rest.strip_prefix('{').unwrap_or(rest);
    rest = rest.strip_suffix('}').unwrap_or(rest);
    let mut matchers = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(matchers);
        }
        let (matcher, after) = parse_one(rest)?;
        matcher.compile()?;
        rest = after.trim_start();
        if !rest.is_empty() {
            match rest.strip_prefix(',') {
                Some(after_comma) => rest = after_comma,
                None => {
                    return Err(MatcherError::Trailing {
                        label: matcher.label,
                        rest: excerpt(rest),
                    })
                }
            }
        }
        matchers.push(matcher);
    }
}

/// One `label op value` from the start of `text`, and what follows it.
fn parse_one(text: &str) -> Result<(Matcher, &str), MatcherError> {
    let name_end = text
        .find(|c: char| c.is_whitespace() || "=!~,\"{}".contains(c))
        .unwrap_or(text.len());
    let label = &text[..name_end];
    if label.is_empty() {
        return Err(MatcherError::MissingLabel(excerpt(text)));
    }
    if !is_label_name(label) {
        return Err(MatcherError::LabelName(label.to_owned()));
    }
    let rest = text[name_end..].trim_start();
    let (op, rest) = [
        ("=~", MatchOp::Regex),
        ("!~", MatchOp::NotRegex),
        ("!=", MatchOp::NotEq),
        ("=", MatchOp::Eq),
    ]
    .into_iter()
    .find_map(|(written, op)| rest.strip_prefix(written).map(|after| (op, after)))
    .ok_or_else(|| MatcherError::MissingOperator(label.to_owned()))?;
    let rest = rest.trim_start();
    let (value, rest) = match rest.strip_prefix('"') {
        Some(quoted) => quoted_value(label, quoted)?,
        None => {
            let end = rest.find(',').unwrap_or(rest.len());
            let bare = rest[..end].trim_end();
            if bare.contains('"') {
                return Err(MatcherError::StrayQuote(label.to_owned()));
            }
            (unescape(bare.chars()), &rest[end..])
        }
    };
    Ok((Matcher::new(label, op, value), rest))
}

/// The value after an opening quote up to its closing one, and the text after that.
fn quoted_value<'a>(label: &str, text: &'a str) -> Result<(String, &'a str), MatcherError> {
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        match c {
            '\\' => escaped = !escaped,
            '"' if !escaped => return Ok((unescape(text[..at].chars()), &text[at + 1..])),
            _ => escaped = false,
        }
    }
    Err(MatcherError::UnclosedQuote(label.to_owned()))
}

/// OpenMetrics escapes: `\"`, `\\`, `\n`; any other backslash stays as written.
fn unescape(mut chars: impl Iterator<Item = char>) -> String {
    let mut out = String::new();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(c @ ('"' | '\\')) => out.push(c),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn excerpt(text: &str) -> String {
    crate::alerts::intake::cut(text, 40)
}

#[cfg(test)]
mod tests;
