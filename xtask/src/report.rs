//! The change report `cargo xtask diff` produces: each change, its class, and the
//! counts and exit code derived from them. Kept apart from the comparers that fill it
//! and the renderers that print it, so that every module can name a class without
//! pulling in the diff itself.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// How much a change matters to users of this client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Breaks users: removed or retyped response field, new required parameter, a change
    /// of requiredness or of an enum's values or presence (a generated Rust type
    /// changes), removed operation, moved path or method, tightened parameter
    /// constraint, removed auth.
    Breaking,
    /// Tolerated, but the client should learn it: new response enum value, new status.
    NeedsAttention,
    /// New optional things.
    Additive,
    /// Descriptions, examples, summaries.
    Cosmetic,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Breaking => "breaking",
            Self::NeedsAttention => "needs-attention",
            Self::Additive => "additive",
            Self::Cosmetic => "cosmetic",
        })
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Its class.
    pub class: Class,
    /// Where, as a JSON pointer into the document (through `$ref`s).
    pub pointer: String,
    /// What happened.
    pub message: String,
    /// The old value, when the change is one of a value (shortened to 80 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub was: Option<String>,
    /// The new value, likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
}

/// Every change, sorted most serious first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The changes.
    pub changes: Vec<Change>,
}

impl Report {
    /// 0 nothing changed, 1 only non-breaking changes, 2 something breaking.
    pub fn exit_code(&self) -> u8 {
        if self.changes.iter().any(|c| c.class == Class::Breaking) {
            2
        } else if self.changes.is_empty() {
            0
        } else {
            1
        }
    }

    /// How many changes of a class.
    pub fn count(&self, class: Class) -> usize {
        self.changes.iter().filter(|c| c.class == class).count()
    }

    /// The most serious class present, if anything changed (the spec-drift pull
    /// request's label).
    pub fn worst(&self) -> Option<Class> {
        self.changes.iter().map(|c| c.class).min()
    }

    /// A change that is not one of a value.
    pub(crate) fn add(&mut self, class: Class, pointer: &str, message: impl Into<String>) {
        self.changes.push(Change {
            class,
            pointer: pointer.to_string(),
            message: message.into(),
            was: None,
            now: None,
        });
    }

    /// A change of a value: the message, and what it was and is now (absent sides
    /// stay empty).
    pub(crate) fn add_values(
        &mut self,
        class: Class,
        pointer: &str,
        message: impl Into<String>,
        was: Option<&Value>,
        now: Option<&Value>,
    ) {
        self.add(class, pointer, message);
        if let Some(change) = self.changes.last_mut() {
            change.was = was.map(|v| short(Some(v)));
            change.now = now.map(|v| short(Some(v)));
        }
    }
}

/// A value as shown in a report: its JSON, cut to 80 characters.
pub(crate) fn short(v: Option<&Value>) -> String {
    match v {
        None => "absent".to_string(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 80 {
                format!("{}…", s.chars().take(80).collect::<String>())
            } else {
                s
            }
        }
    }
}
