//! What each rehearsal case came to, and the table `cargo xtask rehearse-drift` prints.

use crate::drift::Verdict;

/// What one case came to.
#[derive(Debug)]
pub struct Outcome {
    /// Why the case could not be made to this operation, when it was skipped.
    pub skipped: Option<String>,
    /// The case.
    pub name: &'static str,
    /// Label word expected and seen.
    pub class: (&'static str, String),
    /// Verdict expected (green?) and seen.
    pub verdict: (bool, Verdict),
    /// Version before and after.
    pub version: Option<(String, String)>,
    /// What did not hold; empty when the case passed.
    pub problems: Vec<String>,
}

impl Outcome {
    pub(crate) fn skipped(name: &'static str, why: String) -> Self {
        Self {
            skipped: Some(why),
            name,
            class: ("-", "-".to_string()),
            verdict: (true, Verdict::NotRun),
            version: None,
            problems: Vec::new(),
        }
    }
}

/// The outcomes as a table, and whether every case held.
pub fn summary(outcomes: &[Outcome]) -> (String, bool) {
    let mut out = String::from("case | label | verdict | version | result\n");
    let mut ok = true;
    for o in outcomes {
        if let Some(why) = &o.skipped {
            out.push_str(&format!("{} | - | - | - | skipped: {why}\n", o.name));
            continue;
        }
        let version = o
            .version
            .as_ref()
            .map_or("-".to_string(), |(a, b)| format!("{a} -> {b}"));
        let result = if o.problems.is_empty() {
            "ok".to_string()
        } else {
            ok = false;
            format!("FAILED: {}", o.problems.join("; "))
        };
        out.push_str(&format!(
            "{} | {} | {} (expected {}) | {version} | {result}\n",
            o.name,
            o.class.1,
            o.verdict.1.word(),
            if o.verdict.0 { "green" } else { "red" }
        ));
    }
    (out, ok)
}
