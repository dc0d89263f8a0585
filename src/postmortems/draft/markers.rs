//! The markers around a postmortem's generated parts: the sections between them are
//! regenerated or refreshed without touching what authors wrote elsewhere, and the
//! markers are stripped from exports.

pub const TIMELINE_START: &str = "<!-- fireline:timeline -->";
pub const TIMELINE_END: &str = "<!-- /fireline:timeline -->";
pub const ACTIONS_START: &str = "<!-- fireline:action-items -->";
pub const ACTIONS_END: &str = "<!-- /fireline:action-items -->";

/// Replace what is between every `start` … `end` pair; `None` when there is none.
pub fn replace_between(body: &str, start: &str, end: &str, content: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    let mut found = false;
    while let Some(open) = rest.find(start) {
        let from = open + start.len();
        let Some(close) = rest[from..].find(end) else {
            break;
        };
        out.push_str(&rest[..from]);
        out.push('\n');
        out.push_str(content.trim_end());
        out.push('\n');
        out.push_str(end);
        rest = &rest[from + close + end.len()..];
        found = true;
    }
    out.push_str(rest);
    found.then_some(out)
}

/// The body with every action-item table made current (unchanged if the markers are gone).
pub fn refresh_actions(body: &str, table: &str) -> String {
    replace_between(body, ACTIONS_START, ACTIONS_END, table).unwrap_or_else(|| body.to_owned())
}

/// The body without the markers (for export).
pub fn strip_markers(body: &str) -> String {
    body.lines()
        .filter(|l| {
            let t = l.trim();
            t != TIMELINE_START && t != TIMELINE_END && t != ACTIONS_START && t != ACTIONS_END
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_sections_can_be_replaced_without_touching_the_rest() {
        let body = format!("# Hi\nmine\n{TIMELINE_START}\nold\n{TIMELINE_END}\nalso mine\n");
        let out = replace_between(&body, TIMELINE_START, TIMELINE_END, "new").unwrap();
        assert_eq!(
            out,
            format!("# Hi\nmine\n{TIMELINE_START}\nnew\n{TIMELINE_END}\nalso mine\n")
        );
        assert!(replace_between("no markers", TIMELINE_START, TIMELINE_END, "x").is_none());
        let twice = format!(
            "{ACTIONS_START}\nold1\n{ACTIONS_END}\nmid\n{ACTIONS_START}\nold2\n{ACTIONS_END}"
        );
        let both = refresh_actions(&twice, "new");
        assert_eq!(
            both.matches("new").count(),
            2,
            "every copy is refreshed: {both}"
        );
        assert!(!both.contains("old"));
        assert_eq!(strip_markers(&out), "# Hi\nmine\nnew\nalso mine");
    }
}
