//! The lines of a compiler's or a test run's output a person needs first.

/// The lines a person needs first: compiler errors with their context, failing tests
/// and panics, xtask's own errors; at most `max` lines.
pub fn first_findings(text: &str, max: usize) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut context = 0usize;
    for line in text.lines() {
        let t = line.trim_start();
        let starts = t.starts_with("error")
            || t.starts_with("--- failure")
            || t.starts_with("---- ")
            || (t.starts_with("test ") && t.ends_with("FAILED"))
            || t.contains("panicked at");
        if starts {
            context = 8;
        }
        if context > 0 {
            out.push(line);
            context -= 1;
            if line.trim().is_empty() {
                context = 0;
            }
        }
        if out.len() >= max {
            out.push("…");
            break;
        }
    }
    if out.is_empty() {
        let all: Vec<&str> = text.lines().collect();
        return all[all.len().saturating_sub(max)..].join("\n");
    }
    out.join("\n")
}
