//! The one place Markdown becomes HTML: CommonMark with tables, strikethrough, task lists
//! and autolinks, rendered by pulldown-cmark and sanitised by ammonia. Only what this
//! module returns may bypass template escaping.

use ammonia::Builder;
use pulldown_cmark::{html, Event, Options, Parser};
use std::collections::HashSet;
use std::sync::OnceLock;

/// The HTML elements rendered Markdown may contain.
const TAGS: &[&str] = &[
    "a",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
    "input",
    "sup",
    "sub",
];

fn sanitizer() -> &'static Builder<'static> {
    static SANITIZER: OnceLock<Builder<'static>> = OnceLock::new();
    SANITIZER.get_or_init(|| {
        let tags: HashSet<&str> = TAGS.iter().copied().collect();
        let mut builder = Builder::default();
        builder
            .tags(tags)
            .tag_attributes(
                [
                    ("a", ["href", "title"].into_iter().collect()),
                    (
                        "input",
                        ["type", "checked", "disabled"].into_iter().collect(),
                    ),
                    ("th", ["align"].into_iter().collect()),
                    ("td", ["align"].into_iter().collect()),
                    ("ol", ["start"].into_iter().collect()),
                ]
                .into_iter()
                .collect(),
            )
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .link_rel(Some("noopener noreferrer nofollow"));
        builder
    })
}

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Markdown → sanitised HTML, safe to put in a page unescaped.
pub fn render(markdown: &str) -> String {
    let linked = autolink(markdown);
    // Task-list boxes become characters: no form controls in user content.
    let parser = Parser::new_ext(&linked, options()).map(|event| match event {
        Event::TaskListMarker(done) => Event::Text(if done { "☑ " } else { "☐ " }.into()),
        other => other,
    });
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, parser);
    sanitizer().clean(&raw).to_string()
}

/// Plain text of a Markdown document (for titles, previews and feeds' summaries).
pub fn to_plain_text(markdown: &str) -> String {
    use pulldown_cmark::TagEnd;
    let mut out = String::new();
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item) => out.push(' '),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Turn bare `http(s)://` URLs into `<...>` autolinks, outside code. CommonMark only links
/// URLs written in angle brackets; people paste bare ones.
fn autolink(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() + 16);
    let mut in_fence = false;
    for line in markdown.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            out.push_str(line);
            continue;
        }
        if in_fence || line.starts_with("    ") || line.starts_with('\t') {
            out.push_str(line);
            continue;
        }
        out.push_str(&autolink_line(line));
    }
    out
}

fn autolink_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    let mut in_code = false;
    while !rest.is_empty() {
        let next_tick = rest.find('`');
        let next_url = if in_code {
            None
        } else {
            ["https://", "http://"]
                .iter()
                .filter_map(|p| rest.find(p))
                .min()
        };
        match (next_tick, next_url) {
            (Some(t), Some(u)) if t < u => {
                out.push_str(&rest[..=t]);
                rest = &rest[t + 1..];
                in_code = !in_code;
            }
            (Some(t), None) => {
                out.push_str(&rest[..=t]);
                rest = &rest[t + 1..];
                in_code = !in_code;
            }
            (_, Some(u)) => {
                let before = &rest[..u];
                let prev = before.chars().last();
                out.push_str(before);
                let end = rest[u..]
                    .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`'))
                    .map(|e| u + e)
                    .unwrap_or(rest.len());
                let mut url = &rest[u..end];
                // Trailing punctuation belongs to the sentence, not the URL.
                while url.ends_with(['.', ',', ';', ':', '!', '?', ')', ']', '\'', '*', '_']) {
                    url = &url[..url.len() - 1];
                }
                let already_linked = matches!(prev, Some('(') | Some('<') | Some('[') | Some('"'));
                if already_linked || url.len() <= "https://".len() {
                    out.push_str(url);
                } else {
                    out.push('<');
                    out.push_str(url);
                    out.push('>');
                }
                rest = &rest[u + url.len()..];
            }
            (None, None) => {
                out.push_str(rest);
                rest = "";
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_markdown_renders() {
        let html = render("**bold** _em_ ~~gone~~ `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo");
        for expected in [
            "<strong>bold</strong>",
            "<em>em</em>",
            "<del>gone</del>",
            "<code>code</code>",
            "<table>",
            "<td>1</td>",
            "☑ done",
        ] {
            assert!(html.contains(expected), "{expected} missing from {html}");
        }
    }

    #[test]
    fn bare_urls_become_links_with_safe_rel() {
        let html = render("See https://example.com/status. Thanks");
        assert!(
            html.contains(
                r#"<a href="https://example.com/status" rel="noopener noreferrer nofollow">"#
            ),
            "{html}"
        );
        assert!(html.contains("</a>. Thanks"), "{html}");
    }

    #[test]
    fn urls_in_code_are_left_alone() {
        let html = render("`curl https://example.com`\n\n```\nhttps://example.com\n```");
        assert!(!html.contains("<a "), "{html}");
    }

    #[test]
    fn markdown_links_keep_working() {
        let html = render("[the runbook](https://wiki.example.com/runbook)");
        assert!(
            html.contains(r#"href="https://wiki.example.com/runbook""#),
            "{html}"
        );
        assert_eq!(html.matches("<a ").count(), 1, "{html}");
    }

    /// A corpus of XSS evasions (after OWASP's cheat sheet and friends).
    const XSS: &[&str] = &[
        "<script>alert(1)</script>",
        "<SCRIPT SRC=https://evil.example/xss.js></SCRIPT>",
        "<img src=x onerror=alert(1)>",
        "<IMG SRC=\"javascript:alert('XSS');\">",
        "<IMG SRC=JaVaScRiPt:alert('XSS')>",
        "<svg/onload=alert(1)>",
        "<svg><script>alert(1)</script></svg>",
        "<body onload=alert(1)>",
        "<iframe src=\"javascript:alert(1)\"></iframe>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
        "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
        "<a href=\" javascript:alert(1)\">x</a>",
        "[click](javascript:alert(1))",
        "[click](JAVASCRIPT:alert(1))",
        "[click](  javascript:alert(1)  )",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](vbscript:msgbox(1))",
        "![img](javascript:alert(1))",
        "![img](x\" onerror=\"alert(1))",
        "<a href=x onmouseover=alert(1)>hover</a>",
        "<div style=\"background:url(javascript:alert(1))\">x</div>",
        "<style>body{background:red}</style>",
        "<object data=\"javascript:alert(1)\"></object>",
        "<embed src=\"javascript:alert(1)\">",
        "<form action=\"javascript:alert(1)\"><input type=submit></form>",
        "<input onfocus=alert(1) autofocus>",
        "<details open ontoggle=alert(1)>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
        "<link rel=stylesheet href=javascript:alert(1)>",
        "<base href=\"javascript:alert(1)//\">",
        "<<script>script>alert(1)<</script>/script>",
        "<scr<script>ipt>alert(1)</scr</script>ipt>",
        "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
        "<video><source onerror=\"alert(1)\">",
        "<marquee onstart=alert(1)>",
        "\"><script>alert(1)</script>",
        "<template><script>alert(1)</script></template>",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
        "<a href=\"https://ok.example\" target=\"_blank\" onclick=\"alert(1)\">ok</a>",
        "https://example.com/\"onmouseover=\"alert(1)",
    ];

    /// What the parsed document may hold: the sanitiser's tags and the document shell.
    fn allowed(tag: &str) -> bool {
        super::TAGS.contains(&tag) || ["html", "head", "body"].contains(&tag)
    }

    #[test]
    fn no_xss_evasion_reaches_the_html() {
        use scraper::Html;
        for (i, attack) in XSS.iter().enumerate() {
            let html = render(attack);
            let doc = Html::parse_fragment(&html);
            for node in doc.tree.nodes() {
                let Some(el) = node.value().as_element() else {
                    continue;
                };
                let tag = el.name();
                assert!(
                    allowed(tag),
                    "attack #{i} {attack:?} left <{tag}> in {html}"
                );
                for (name, value) in el.attrs() {
                    assert!(
                        !name.starts_with("on") && name != "style" && name != "src",
                        "attack #{i} {attack:?} left attribute {name} in {html}"
                    );
                    let squashed: String = value
                        .chars()
                        .filter(|c| !c.is_whitespace() && !c.is_control())
                        .collect::<String>()
                        .to_lowercase();
                    for scheme in ["javascript:", "vbscript:", "data:"] {
                        assert!(
                            !squashed.starts_with(scheme),
                            "attack #{i} {attack:?} left a {scheme} URL in {html}"
                        );
                    }
                }
                if tag == "a" {
                    assert_eq!(
                        el.attr("rel"),
                        Some("noopener noreferrer nofollow"),
                        "{html}"
                    );
                }
            }
            // Nothing that looks like a live tag survives in the text either.
            assert!(
                !html.to_lowercase().contains("<script"),
                "attack #{i}: {html}"
            );
        }
    }

    #[test]
    fn plain_text_drops_markup() {
        assert_eq!(
            to_plain_text("# Title\n\nSome **bold** `x`"),
            "Title Some bold x"
        );
    }
}
