//! Routing: rules that decide, from a group's labels, integration and severity, how
//! urgent it is and what runs for it (declare an incident, change component status).
//!
//! Everything here is pure; the processor loads the rules and runs the actions.

pub mod matcher;
pub mod rules;
pub mod template;

pub use matcher::{parse_matchers, CompiledMatcher, MatchOp, Matcher, MatcherError};
pub use rules::{
    severity_to_incident, Apply, CompiledRules, ComponentStatusAction, DeclareAction, Route,
    RouteFacts, Rule, RuleError, RuleProblem,
};
pub use template::{Template, TemplateError, TemplateInput};
