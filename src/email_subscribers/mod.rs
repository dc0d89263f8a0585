//! Email subscribers of the status page: the public form with double opt-in, each
//! address's choice of components, the messages customers read about every public change
//! and every coming maintenance, the outbox they go through, and the mailer that sends
//! them over reused SMTP connections.
//!
//! A command ([`commands`]) writes the subscriber, its confirmation mail and its audit
//! entry in one transaction. The `email` consumer of the domain-event stream
//! ([`fan_out`]) renders one message per public change ([`compose`]) and writes one
//! delivery per interested confirmed subscriber ([`outbox`]); the [`mailer::Mailer`]
//! sends them, with each recipient's own signed links ([`links`]) filled in.

pub mod commands;
pub mod compose;
pub mod csv;
pub mod fan_out;
pub mod links;
pub mod mailer;
mod model;
pub mod outbox;
pub mod store;

pub use links::Links;
pub use mailer::Mailer;
pub use model::{
    EmailSource, EmailState, EmailSubscriberRow, ATTEMPTS_PER_NETWORK_PER_HOUR, CONFIRM_FOR,
    MAILS_PER_ADDRESS_PER_DAY,
};
