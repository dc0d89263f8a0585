use serde::{Deserialize, Serialize};
use std::fmt;

/// What a user may do. Ordered: an admin can do all a responder can, and so on.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    sqlx::Type,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[sqlx(type_name = "user_role", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Responder,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Responder, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Responder => "responder",
            Role::Viewer => "viewer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Responder => "Responder",
            Role::Viewer => "Viewer",
        }
    }

    /// One line on what the role allows, shown next to the role picker.
    pub fn describe(self) -> &'static str {
        match self {
            Role::Admin => "everything, including users, components, subscribers and templates",
            Role::Responder => "runs incidents, maintenance and postmortems",
            Role::Viewer => "reads everything, changes nothing",
        }
    }

    /// Whether someone with this role may do what `needed` allows.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }

    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a value was refused, in words for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

fn invalid(msg: impl Into<String>) -> ValidationError {
    ValidationError(msg.into())
}

/// A trimmed, lower-cased e-mail address that at least looks like one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(invalid("Enter an email address."));
        }
        if email.len() > 254 {
            return Err(invalid("An email address has at most 254 characters."));
        }
        let valid = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !email.chars().any(|c| c.is_whitespace() || c.is_control())
                    && !domain.contains('@')
            }
            None => false,
        };
        if !valid {
            return Err(invalid(format!(
                "{:?} is not an email address.",
                raw.trim()
            )));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A person's display name: trimmed, not empty, not absurdly long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(invalid("Enter a name."));
        }
        if name.chars().count() > 100 {
            return Err(invalid("A name has at most 100 characters."));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid("A name cannot contain control characters."));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A password someone chose, before hashing. Its `Debug` never shows it.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_BYTES: usize = 1024;

    pub fn parse(raw: String) -> Result<Self, ValidationError> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(invalid(format!(
                "A password needs at least {} characters.",
                Self::MIN_CHARS
            )));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(invalid("A password has at most 1024 bytes."));
        }
        if raw.trim().is_empty() {
            return Err(invalid("A password cannot be only spaces."));
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let email = Email::parse("  Ada@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ada@example.com");
    }

    #[test]
    fn things_that_are_not_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@.com",
            "a da@example.com",
            "a@b@c",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn short_passwords_are_refused_with_the_minimum_named() {
        let err = NewPassword::parse("short".into()).unwrap_err();
        assert!(err.0.contains("12"), "{err}");
        assert!(NewPassword::parse("correct horse battery".into()).is_ok());
    }

    #[test]
    fn passwords_never_show_in_debug_output() {
        let pw = NewPassword::parse("correct horse battery".into()).unwrap();
        assert!(!format!("{pw:?}").contains("horse"));
    }

    #[test]
    fn roles_are_ordered_by_what_they_allow() {
        assert!(Role::Admin.allows(Role::Responder));
        assert!(Role::Responder.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Responder));
        assert!(!Role::Responder.allows(Role::Admin));
    }

    #[test]
    fn names_must_not_be_blank() {
        assert!(PersonName::parse("   ").is_err());
        assert_eq!(PersonName::parse(" Ada ").unwrap().as_str(), "Ada");
    }
}
