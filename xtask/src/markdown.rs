//! The change report as Markdown: a CI job summary or a pull request body. Spec text
//! (descriptions, enum values) lands in a document GitHub renders, so every cell is
//! either a code span or escaped text: it cannot become markup, a link or a new cell.

use crate::report::{Class, Report};

impl Report {
    /// The report as Markdown, for a CI job summary or a pull request body: a summary
    /// line, then one table row per change (class, JSON pointer, change, was, now).
    /// Spec text is shown inside code spans or escaped, so that it cannot become markup.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "**{} change(s)** in scope: {} breaking, {} needs attention, {} additive, {} cosmetic\n",
            self.changes.len(),
            self.count(Class::Breaking),
            self.count(Class::NeedsAttention),
            self.count(Class::Additive),
            self.count(Class::Cosmetic)
        );
        if self.changes.is_empty() {
            return out;
        }
        out.push_str(
            "\n| class | JSON pointer | change | was | now |\n| --- | --- | --- | --- | --- |\n",
        );
        for c in &self.changes {
            let value =
                |v: &Option<String>| v.as_deref().map_or_else(|| "—".to_string(), code_span);
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                c.class,
                code_span(&c.pointer),
                markdown_text(&c.message),
                value(&c.was),
                value(&c.now)
            ));
        }
        out
    }
}

/// `text` as one inline code span inside a table cell: on one line, `|` escaped (GFM
/// splits cells before it parses code spans), fenced with more backticks than it holds.
fn code_span(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ").replace('|', "\\|");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // A space keeps a leading or trailing backtick from joining the fence.
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// `text` as plain table-cell text: one line, no HTML, no cell breaks, no emphasis, no
/// link, image or mention. The command's summary cells (crates/cli/src/ci_output.rs)
/// follow the same rules; both are tested against crates/cli/testdata/hostile-markdown.txt.
pub fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if c.is_control() => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // `@team` and `#123` in a body would mention or link: entities render the
            // same characters without either.
            '@' => out.push_str("&#64;"),
            '#' => out.push_str("&#35;"),
            '|' | '*' | '_' | '`' | '[' | ']' | '\\' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `text` as a code span outside a table (a list item, a sentence): a backtick in it
/// becomes `'`, so that it cannot close the span.
pub fn inline_code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'"))
}

/// A code fence cannot be closed by text inside it.
pub fn fence_safe(text: &str) -> String {
    text.replace("```", "'''")
}

/// The update as Markdown: the source, the report table and the snapshots to review
/// (a job summary, or the body of the spec-drift pull request).
pub fn update_markdown(updated: &crate::update::Updated) -> String {
    let mut out = format!(
        "## Cloudflare spec drift\n\nSource: {}, commit {}.\n\n",
        inline_code(&updated.source),
        inline_code(&updated.commit)
    );
    if !updated.written {
        out.push_str("Nothing in scope changed; the tree was not touched.\n");
        return out;
    }
    out.push_str(&updated.report.to_markdown());
    let worst = updated
        .report
        .worst()
        .map_or("none (the fragment was respelled)".to_string(), |c| {
            c.to_string()
        });
    out.push_str(&format!(
        "\nMost serious class: **{worst}** (`cargo xtask diff` exit code {}).\n\n\
         ### Snapshots to review\n\n```text\n{}```\n",
        updated.report.exit_code(),
        fence_safe(&updated.snapshots)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Change;

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(code_span("/paths/a"), "`/paths/a`");
        assert_eq!(code_span("a|b"), "`a\\|b`");
        assert_eq!(code_span("x`y"), "``x`y``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(code_span("a\nb"), "`a b`");
    }

    #[test]
    fn text_cannot_become_markup() {
        assert_eq!(
            markdown_text("<script>|*x*_[a](b)\nnext"),
            "&lt;script&gt;\\|\\*x\\*\\_\\[a\\](b) next"
        );
        assert_eq!(
            markdown_text("ask @org/team, see #12"),
            "ask &#64;org/team, see &#35;12"
        );
    }

    include!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/cli/testdata/hostile_markdown.rs"
    ));

    /// The same hostile strings, and the same escaping, as the command's summary cells.
    #[test]
    fn text_escapes_the_shared_hostile_strings_as_the_command_does() {
        check_hostile_markdown(
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../crates/cli/testdata/hostile-markdown.txt"
            )),
            markdown_text,
        );
    }

    #[test]
    fn one_row_per_change_with_was_and_now() {
        let report = Report {
            changes: vec![
                Change {
                    class: Class::Breaking,
                    pointer: "/paths/~1a/post/responses/200".into(),
                    message: "response 200 removed".into(),
                    was: None,
                    now: None,
                },
                Change {
                    class: Class::NeedsAttention,
                    pointer: "/x/enum".into(),
                    message: "new enum value \"syncing\"".into(),
                    was: None,
                    now: Some("\"syncing\"".into()),
                },
            ],
        };
        assert_eq!(
            report.to_markdown(),
            "**2 change(s)** in scope: 1 breaking, 1 needs attention, 0 additive, 0 cosmetic\n\n\
             | class | JSON pointer | change | was | now |\n\
             | --- | --- | --- | --- | --- |\n\
             | breaking | `/paths/~1a/post/responses/200` | response 200 removed | — | — |\n\
             | needs-attention | `/x/enum` | new enum value \"syncing\" | — | `\"syncing\"` |\n"
        );
        assert_eq!(report.worst(), Some(Class::Breaking));
        assert_eq!(Report::default().worst(), None);
        assert_eq!(
            Report::default().to_markdown(),
            "**0 change(s)** in scope: 0 breaking, 0 needs attention, 0 additive, 0 cosmetic\n"
        );
    }
}
