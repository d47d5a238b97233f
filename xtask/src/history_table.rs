//! The history replay's results: the table CONTRIBUTING.md quotes, and every pair as
//! JSON lines.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::bounded::Failure;
use crate::history_model::{Operation, Pair};
use crate::report::Class;

/// Whether `diff`'s class agrees with what the generated Rust API and the wire did:
/// breaking exactly when the Rust API broke or a breaking line is about the wire (auth,
/// path, method, a parameter), which the Rust API does not show. The table also counts
/// the pairs whose class matches the Rust API alone.
pub(crate) fn agrees(pair: &Pair) -> bool {
    breaking(pair.class) == (breaking(pair.rust) || pair.wire)
}

pub(crate) fn breaking(class: Option<Class>) -> bool {
    class == Some(Class::Breaking)
}

/// The table the command prints: one row per operation, then the totals.
pub fn table(ops: &[Operation]) -> String {
    let mut out = String::from(
        "| operation | upstream versions | byte-only | distinct | generated | refused by name | runaway | compiled | pairs classed as the Rust API and the wire moved | as the Rust API alone | by the JSON alone | renames |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut totals = [0usize; 12];
    let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for op in ops {
        let distinct = op.versions.len();
        let generated = op.versions.iter().filter(|v| v.generated.is_ok()).count();
        let refused = op
            .versions
            .iter()
            .filter(|v| matches!(v.generated, Err(Failure::Refused(_))))
            .count();
        let runaway = op
            .versions
            .iter()
            .filter(|v| matches!(v.generated, Err(Failure::Memory | Failure::Time)))
            .count();
        let compiled = op
            .versions
            .iter()
            .filter(|v| matches!(v.compiled, Some(Ok(()))))
            .count();
        let right = op.pairs.iter().filter(|p| agrees(p)).count();
        let renames = op.pairs.iter().filter(|p| p.renamed).count();
        let rust_alone = op
            .pairs
            .iter()
            .filter(|p| breaking(p.class) == breaking(p.rust))
            .count();
        let json_right = op
            .pairs
            .iter()
            .filter(|p| breaking(p.json) == breaking(p.rust))
            .count();
        for v in &op.versions {
            let why = match (&v.generated, &v.compiled) {
                (Err(Failure::Refused(m)), _) => first_line(m),
                (Err(Failure::Memory), _) => "runaway: memory bound".to_string(),
                (Err(Failure::Time), _) => "runaway: time bound".to_string(),
                (Ok(_), Some(Err(e))) => format!("compile: {}", first_line(e)),
                _ => continue,
            };
            failures.entry(op.target.clone()).or_default().push(format!(
                "{} {} {}: {why}",
                v.date,
                &v.commit[..8],
                v.operation_id
            ));
        }
        for p in op.pairs.iter().filter(|p| !agrees(p)) {
            let v = &op.versions[p.to];
            failures.entry(op.target.clone()).or_default().push(format!(
                "{} {} {}: classed {} while the Rust API moved {}",
                v.date,
                &v.commit[..8],
                v.operation_id,
                p.class.map_or("nothing".to_string(), |c| c.to_string()),
                p.rust.map_or("nothing".to_string(), |c| c.to_string()),
            ));
        }
        let row = [
            op.seen,
            op.byte_only,
            distinct,
            generated,
            refused,
            runaway,
            compiled,
            right,
            op.pairs.len(),
            rust_alone,
            json_right,
            renames,
        ];
        for (t, v) in totals.iter_mut().zip(row) {
            *t += v;
        }
        let _ = writeln!(out, "| {} | {} |", op.target, cells(&row));
    }
    let _ = writeln!(out, "| **all {}** | {} |", ops.len(), cells(&totals));
    for (op, lines) in failures {
        let _ = writeln!(out, "\n{op}:");
        for line in lines {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// Every pair as JSON lines (operation, both files, the three classes, diff's lines),
/// for finding real examples of a kind of change.
pub fn pairs_json(ops: &[Operation]) -> String {
    let class = |c: Option<Class>| c.map_or("none".to_string(), |c| c.to_string());
    let mut out = String::new();
    for op in ops {
        for p in &op.pairs {
            let (a, b) = (&op.versions[p.from], &op.versions[p.to]);
            let line = serde_json::json!({
                "operation": op.target,
                "old": a.file, "new": b.file,
                "old_id": a.operation_id, "new_id": b.operation_id,
                "class": class(p.class), "rust": class(p.rust), "json": class(p.json),
                "wire": p.wire,
                "lines": p.lines,
            });
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// A row's numbers as table cells: the pairs classed right as "n of m".
pub(crate) fn cells(row: &[usize; 12]) -> String {
    let mut out: Vec<String> = row.iter().map(ToString::to_string).collect();
    let of = format!("{} of {}", row[7], row[8]);
    out.splice(7..9, [of]);
    out.join(" | ")
}

pub(crate) fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(240).collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::history_model::Version;

    #[test]
    fn every_row_of_the_table_has_the_headers_columns() {
        let version = |generated| Version {
            commit: "0123456789abcdef".to_string(),
            date: "2024-01-02".to_string(),
            operation_id: "op".to_string(),
            file: PathBuf::new(),
            generated,
            compiled: Some(Ok(())),
        };
        let op = Operation {
            target: "GET /x".to_string(),
            seen: 3,
            byte_only: 1,
            versions: vec![version(Ok(String::new())), version(Ok(String::new()))],
            pairs: vec![Pair {
                to: 1,
                from: 0,
                class: Some(Class::Breaking),
                rust: None,
                json: Some(Class::Breaking),
                wire: true,
                renamed: true,
                lines: Vec::new(),
            }],
        };
        let table = table(&[op]);
        let columns = |line: &str| line.matches(" | ").count();
        let lines: Vec<&str> = table.lines().take(4).collect();
        assert_eq!(columns(lines[0]), columns(lines[2]), "{table}");
        assert_eq!(columns(lines[0]), columns(lines[3]), "{table}");
        assert!(lines[2].ends_with("| 1 of 1 | 0 | 0 | 1 |"), "{table}");
    }
}
