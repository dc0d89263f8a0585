//! Routing: rules that decide, from a group's labels, integration and severity, how
//! urgent it is and what runs for it (declare an incident, change component status).
//!
//! `matcher`, `rules` and `template` are pure; `store` holds the rules' SQL and
//! commands, and the processor (`alerts::grouping`) loads them and runs the actions.

pub mod actions;
pub mod commands;
pub mod matcher;
pub mod preview;
pub mod rules;
pub mod store;
pub mod template;

pub use matcher::{parse_matchers, CompiledMatcher, MatchOp, Matcher, MatcherError};
pub use rules::{
    severity_to_incident, Apply, CompiledRules, ComponentStatusAction, DeclareAction, Route,
    RouteFacts, Rule, RuleError, RuleProblem,
};
pub use template::{Template, TemplateError, TemplateInput};
