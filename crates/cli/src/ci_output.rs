//! What a CI pipeline reads beside the JSON Lines records: a Markdown summary
//! (`--summary FILE`, e.g. `$GITHUB_STEP_SUMMARY`) and, on GitHub Actions, one
//! annotation per server that failed or is not ready. Both are made from the same
//! results as the records, and neither changes them or the exit code.

use std::io::Write;
use std::path::Path;

use cloudflare_mcp_sync::{Error, SyncReport};

use crate::output::Outcome;

/// Longest server text in one table cell or annotation.
const MAX_TEXT: usize = 300;

/// The summary's row of one server.
pub fn row(server_id: &str, result: &Result<SyncReport, Error>) -> String {
    let (result_word, status, cause, ray, attempts) = match result {
        Ok(report) => {
            let word = if report.is_ready() {
                "✅ ready"
            } else {
                "⚠️ not ready"
            };
            let cause = report
                .failure()
                .map(ToString::to_string)
                .unwrap_or_default();
            (
                word,
                report.status.to_string(),
                cause,
                report.meta.ray_id.clone().unwrap_or_default(),
                report.meta.attempts,
            )
        }
        Err(e) => (
            "❌ failed",
            e.status().map(|s| format!("HTTP {s}")).unwrap_or_default(),
            e.to_string(),
            e.ray_id().unwrap_or_default().to_string(),
            e.attempts(),
        ),
    };
    format!(
        "| {} | {result_word} | {} | {} | {} | {attempts} |",
        cell(server_id),
        cell(&status),
        cell(&cause),
        cell(&ray)
    )
}

/// The row of a server not attempted because the run was interrupted.
pub fn row_not_attempted(server_id: &str) -> String {
    format!(
        "| {} | ⏹ not attempted | | interrupted before it was sent | | 0 |",
        cell(server_id)
    )
}

/// The whole summary: a heading with the counts, then the table in input order.
pub fn document(rows: &[String], outcomes: &[Outcome], mock: bool) -> String {
    let count = |o: Outcome| outcomes.iter().filter(|x| **x == o).count();
    let mut out = format!(
        "### cf-mcp-sync: {} ready, {} not ready, {} failed",
        count(Outcome::Ready),
        count(Outcome::NotReady),
        count(Outcome::Failed)
    );
    let skipped = count(Outcome::NotAttempted);
    if skipped > 0 {
        out.push_str(&format!(", {skipped} not attempted"));
    }
    out.push_str("\n\n");
    if mock {
        out.push_str("Synced against the embedded mock, not Cloudflare.\n\n");
    }
    out.push_str("| Server | Result | Status | Cause | Ray ID | Attempts |\n");
    out.push_str("|---|---|---|---|---|---:|\n");
    for row in rows {
        out.push_str(row);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// Appends `text` to the file at `path`, which must be a regular file or not exist yet:
/// a FIFO would block the run, a directory or device is a mistake in the variable.
pub fn append(path: &Path, text: &str) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            return Err(std::io::Error::other("it is not a regular file"));
        }
        _ => {}
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.flush()
}

/// The GitHub Actions annotation of one server's result: an error for a failure, a
/// warning for a server that synced but is not ready, nothing when ready.
pub fn annotation(server_id: &str, result: &Result<SyncReport, Error>) -> Option<String> {
    let (level, message) = match result {
        Ok(report) if report.is_ready() => return None,
        Ok(report) => (
            "warning",
            match report.failure() {
                Some(failure) => format!("{} is {}: {failure}", server_id, report.status),
                None => format!("{} is {}", server_id, report.status),
            },
        ),
        Err(e) => ("error", format!("{server_id}: {e}")),
    };
    Some(format!(
        "::{level} title={}::{}",
        property(&format!("cf-mcp-sync {server_id}")),
        data(&message)
    ))
}

/// Server text on a line a CI runner reads (stdout, stderr) must not be a workflow
/// command. The `::cmd::` form only counts at a line's start, where our lines never
/// put server text; the older `##[cmd]` form counts anywhere in a line, so it is broken
/// up: in plain text by a word joiner (U+2060, invisible), in a JSON line by writing the
/// second `#` as `\u0023`, which JSON readers decode back to the same text.
pub fn defuse(line: &str, json: bool) -> String {
    if !line.contains("##[") {
        return line.to_string();
    }
    line.replace("##[", if json { "#\\u0023[" } else { "#\u{2060}#[" })
}

/// Text for a Markdown table cell: one line, bounded, with what Markdown or HTML would
/// read as markup escaped (server text must not format, link, mention or inject).
fn cell(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_TEXT {
            out.push('…');
            break;
        }
        push_markdown_text(&mut out, c);
    }
    out
}

/// One character of table-cell text. The rules are xtask's `markdown_text`'s (the CLI
/// does not depend on the xtask): both are tested against the same hostile strings,
/// testdata/hostile-markdown.txt. Control characters become a space; `&`, `<`,
/// `>`, `@`, `#` entities (a mention or an issue link needs the character itself);
/// punctuation that makes markup gets a backslash.
fn push_markdown_text(out: &mut String, c: char) {
    match c {
        c if c.is_control() => out.push(' '),
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '@' => out.push_str("&#64;"),
        '#' => out.push_str("&#35;"),
        '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '~' | '!' => {
            out.push('\\');
            out.push(c);
        }
        c => out.push(c),
    }
}

/// A workflow command's message: `%`, CR and LF escaped so that it stays one command.
fn data(text: &str) -> String {
    let bounded: String = text.chars().take(MAX_TEXT).collect();
    bounded
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: as [`data`], and `:` and `,` too.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A result as the library decodes it from a response.
    fn decoded(status: u16, body: &str) -> Result<SyncReport, Error> {
        let mut headers = hyper::header::HeaderMap::new();
        headers.insert(
            "content-type",
            hyper::header::HeaderValue::from_static("application/json"),
        );
        headers.insert(
            "cf-ray",
            hyper::header::HeaderValue::from_static("8f0a-AMS"),
        );
        cloudflare_mcp_sync::decode_sync_response(status, headers, body.as_bytes(), 2)
    }

    fn ready() -> Result<SyncReport, Error> {
        decoded(
            200,
            r#"{"success":true,"errors":[],"messages":[],"result":{"status":"ready"}}"#,
        )
    }

    fn not_ready() -> Result<SyncReport, Error> {
        decoded(
            200,
            r#"{"success":true,"errors":[],"messages":[],"result":{"status":"error","error":"MCP down"}}"#,
        )
    }

    fn failed() -> Result<SyncReport, Error> {
        decoded(
            403,
            r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}"#,
        )
    }

    #[test]
    fn rows_say_result_status_cause_ray_and_attempts() {
        assert_eq!(
            row("a", &ready()),
            "| a | ✅ ready | ready |  | 8f0a-AMS | 2 |"
        );
        let nr = row("b", &not_ready());
        assert!(
            nr.starts_with("| b | ⚠️ not ready | error | MCP down"),
            "{nr}"
        );
        assert!(nr.ends_with("| 8f0a-AMS | 2 |"), "{nr}");
        let f = row("c", &failed());
        assert!(f.starts_with("| c | ❌ failed | HTTP 403 | "), "{f}");
        assert!(f.contains("Authentication error"), "{f}");
        assert_eq!(
            row_not_attempted("d"),
            "| d | ⏹ not attempted | | interrupted before it was sent | | 0 |"
        );
    }

    #[test]
    fn the_document_counts_each_outcome_and_notes_the_mock() {
        let rows = vec!["| r |".to_string(), "| s |".to_string()];
        let doc = document(&rows, &[Outcome::Ready, Outcome::NotAttempted], true);
        assert!(
            doc.starts_with("### cf-mcp-sync: 1 ready, 0 not ready, 0 failed, 1 not attempted\n\n"),
            "{doc}"
        );
        assert!(doc.contains("embedded mock"), "{doc}");
        assert!(
            doc.ends_with("|---|---|---|---|---|---:|\n| r |\n| s |\n\n"),
            "{doc}"
        );
        let doc = document(&[], &[Outcome::Failed, Outcome::NotReady], false);
        assert!(
            doc.starts_with("### cf-mcp-sync: 0 ready, 1 not ready, 1 failed\n\n| Server"),
            "{doc}"
        );
    }

    #[test]
    fn annotations_for_failures_and_not_ready_only() {
        assert_eq!(annotation("a", &ready()), None);
        assert_eq!(
            annotation("b", &not_ready()).as_deref(),
            Some("::warning title=cf-mcp-sync b::b is error: MCP down")
        );
        let e = annotation("c", &failed()).unwrap_or_default();
        assert!(
            e.starts_with("::error title=cf-mcp-sync c::c: 403 Forbidden"),
            "{e}"
        );
    }

    #[test]
    fn cells_hold_server_text_as_text() {
        assert_eq!(
            cell("a|b <img src=x> `c` *d* [e](f) @team\nnext"),
            "a\\|b &lt;img src=x&gt; \\`c\\` \\*d\\* \\[e\\](f) &#64;team next"
        );
        assert_eq!(cell(&"x".repeat(400)).chars().count(), MAX_TEXT + 1);
    }

    include!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/hostile_markdown.rs"
    ));

    /// The same hostile strings, and the same escaping, as xtask's report.
    #[test]
    fn cells_escape_the_shared_hostile_strings_as_the_xtask_does() {
        check_hostile_markdown(
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/testdata/hostile-markdown.txt"
            )),
            cell,
        );
    }

    #[test]
    fn old_style_workflow_commands_in_server_text_are_broken_up() {
        assert_eq!(
            defuse("error: a: ##[error]x", false),
            "error: a: #\u{2060}#[error]x"
        );
        let json = defuse(r###"{"m":"##[set-env name=x]y"}"###, true);
        assert_eq!(json, r###"{"m":"#\u0023[set-env name=x]y"}"###);
        let back: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(
            back["m"], "##[set-env name=x]y",
            "JSON readers get the text back"
        );
        assert_eq!(defuse("plain # [x]", false), "plain # [x]");
    }

    #[test]
    fn workflow_commands_cannot_be_split_or_forged() {
        assert_eq!(
            data("50% done\r\n::error::forged"),
            "50%25 done%0D%0A::error::forged"
        );
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }

    #[test]
    fn a_summary_file_that_is_not_a_regular_file_is_refused_unopened() {
        let dir = tempfile::tempdir().unwrap();
        let err = append(dir.path(), "x").unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let file = dir.path().join("summary.md");
        append(&file, "one\n").unwrap();
        append(&file, "two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "one\ntwo\n");
    }
}
