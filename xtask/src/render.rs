//! The change report as text (for a terminal) and JSON (for machines). The Markdown
//! form, for job summaries and pull requests, is in `markdown`.

use crate::report::{Class, Report};

impl Report {
    /// The report as text: one line per change, then a summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for c in &self.changes {
            out.push_str(&format!(
                "{:<16} {}: {}\n",
                c.class.to_string(),
                c.pointer,
                c.message
            ));
        }
        out.push_str(&format!(
            "{} change(s): {} breaking, {} needs attention, {} additive, {} cosmetic\n",
            self.changes.len(),
            self.count(Class::Breaking),
            self.count(Class::NeedsAttention),
            self.count(Class::Additive),
            self.count(Class::Cosmetic)
        ));
        out
    }

    /// The report as JSON, for machines.
    pub fn to_json(&self) -> String {
        let value = serde_json::json!({
            "changes": self.changes,
            "summary": {
                "breaking": self.count(Class::Breaking),
                "needs_attention": self.count(Class::NeedsAttention),
                "additive": self.count(Class::Additive),
                "cosmetic": self.count(Class::Cosmetic),
            },
            "exit_code": self.exit_code(),
        });
        format!("{value:#}\n")
    }
}
