//! Postmortems, their templates and revisions, and action items with their change
//! history: the capability's commands and queries, one topic a file.

mod export;
mod facts;
mod items;
mod postmortem;
mod reports;
mod templates;

pub use export::{current_body, markdown_file, ActionItemJson, MarkdownFile};
pub use facts::facts;
pub use items::{
    create_item, item, item_changes, item_lines, items, items_of, items_of_many, update_item,
    ItemChangeRow, ItemFields, ItemFilter, ItemRow,
};
pub use postmortem::{
    change, find, list, of_incident, revisions, start, valid_summary, PostmortemChanges,
    PostmortemRow, RevisionRow, Stale,
};
pub use reports::{missing, public_of, MissingPostmortem};
pub use templates::{
    create_template, delete_template, template, templates, update_template, TemplateRow,
    STANDARD_TEMPLATE,
};
