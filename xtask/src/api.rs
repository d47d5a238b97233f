//! What counts as API in a schema, as one table: the surface snapshot prints every
//! keyword that is not cosmetic, and `diff` classes a change by the keyword's kind. A
//! keyword either moves the snapshot and gets a class above cosmetic, or neither.

use crate::report::Class;

/// How a schema keyword is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Shape that is walked into (`properties`, `items`, `oneOf`…), not compared whole.
    Structure,
    /// What values are: any change breaks callers.
    Type,
    /// A regular expression: a change cannot be proven looser.
    Pattern,
    /// A numeric bound; `larger_is_looser` says which way loosens it.
    Bound {
        /// `true` for maximums, `false` for minimums.
        larger_is_looser: bool,
    },
    /// Enum values, compared one by one.
    Enum,
    /// Changes behaviour in a way the tool does not judge.
    Attention,
    /// Words for people: descriptions, examples, titles.
    Cosmetic,
}

/// Every schema keyword the tools know, in the order the surface prints them (`type`
/// first, structure last). Unknown keywords count as [`Kind::Attention`], and `x-…`
/// extensions as [`Kind::Cosmetic`].
pub const SCHEMA_KEYWORDS: &[(&str, Kind)] = &[
    ("type", Kind::Type),
    ("format", Kind::Type),
    ("enum", Kind::Enum),
    ("const", Kind::Attention),
    ("pattern", Kind::Pattern),
    (
        "minLength",
        Kind::Bound {
            larger_is_looser: false,
        },
    ),
    (
        "maxLength",
        Kind::Bound {
            larger_is_looser: true,
        },
    ),
    (
        "minimum",
        Kind::Bound {
            larger_is_looser: false,
        },
    ),
    (
        "maximum",
        Kind::Bound {
            larger_is_looser: true,
        },
    ),
    (
        "exclusiveMinimum",
        Kind::Bound {
            larger_is_looser: false,
        },
    ),
    (
        "exclusiveMaximum",
        Kind::Bound {
            larger_is_looser: true,
        },
    ),
    (
        "minItems",
        Kind::Bound {
            larger_is_looser: false,
        },
    ),
    (
        "maxItems",
        Kind::Bound {
            larger_is_looser: true,
        },
    ),
    (
        "minProperties",
        Kind::Bound {
            larger_is_looser: false,
        },
    ),
    (
        "maxProperties",
        Kind::Bound {
            larger_is_looser: true,
        },
    ),
    ("multipleOf", Kind::Attention),
    ("uniqueItems", Kind::Attention),
    ("nullable", Kind::Attention),
    ("readOnly", Kind::Attention),
    ("writeOnly", Kind::Attention),
    ("default", Kind::Attention),
    ("deprecated", Kind::Attention),
    ("discriminator", Kind::Attention),
    ("not", Kind::Attention),
    ("properties", Kind::Structure),
    ("required", Kind::Structure),
    ("additionalProperties", Kind::Structure),
    ("items", Kind::Structure),
    ("oneOf", Kind::Structure),
    ("anyOf", Kind::Structure),
    ("allOf", Kind::Structure),
    ("description", Kind::Cosmetic),
    ("summary", Kind::Cosmetic),
    ("title", Kind::Cosmetic),
    ("example", Kind::Cosmetic),
    ("examples", Kind::Cosmetic),
    ("externalDocs", Kind::Cosmetic),
    ("tags", Kind::Cosmetic),
    ("$comment", Kind::Cosmetic),
];

/// The kind of a schema keyword.
pub fn kind(key: &str) -> Kind {
    SCHEMA_KEYWORDS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, kind)| *kind)
        .unwrap_or(if key.starts_with("x-") {
            Kind::Cosmetic
        } else {
            Kind::Attention
        })
}

/// Whether a key (of a schema, parameter, response…) is words for people only.
pub fn is_cosmetic(key: &str) -> bool {
    kind(key) == Kind::Cosmetic
}

/// Which side of the exchange a schema is on: what the client sends is held to what
/// the server accepts, what it receives only has to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Parameters and request bodies.
    Request,
    /// Response bodies.
    Response,
}

/// The class of a change from `old` to `new` of a keyword of kind `kind` (for
/// [`Kind::Structure`] and [`Kind::Enum`], `diff` looks inside instead; the class here
/// is for a change it cannot break down).
pub fn classify(
    kind: Kind,
    side: Side,
    old: Option<&serde_json::Value>,
    new: Option<&serde_json::Value>,
) -> Class {
    match kind {
        Kind::Type => Class::Breaking,
        Kind::Pattern => match side {
            Side::Request => Class::Breaking,
            Side::Response => Class::Additive,
        },
        Kind::Bound { larger_is_looser } => match (side, tightened(larger_is_looser, old, new)) {
            (Side::Request, true) => Class::Breaking,
            _ => Class::Additive,
        },
        Kind::Cosmetic => Class::Cosmetic,
        Kind::Attention | Kind::Structure | Kind::Enum => Class::NeedsAttention,
    }
}

/// Whether a bound moved the strict way (a new bound where there was none is stricter).
pub fn tightened(
    larger_is_looser: bool,
    old: Option<&serde_json::Value>,
    new: Option<&serde_json::Value>,
) -> bool {
    match (
        old.and_then(serde_json::Value::as_f64),
        new.and_then(serde_json::Value::as_f64),
    ) {
        (Some(x), Some(y)) if larger_is_looser => y < x,
        (Some(x), Some(y)) => y > x,
        (None, Some(_)) => true,
        (_, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rules() {
        use Class::*;
        use Side::*;
        let max = kind("maxLength");
        let min = kind("minimum");
        let (a, b) = (json!(10), json!(20));
        /// (kind, side, old, new, expected)
        type Rule<'a> = (
            Kind,
            Side,
            Option<&'a serde_json::Value>,
            Option<&'a serde_json::Value>,
            Class,
        );
        let rules: &[Rule<'_>] = &[
            (kind("type"), Request, Some(&a), Some(&b), Breaking),
            (kind("type"), Response, Some(&a), Some(&b), Breaking),
            (kind("format"), Response, None, Some(&b), Breaking),
            (kind("pattern"), Request, Some(&a), Some(&b), Breaking),
            (kind("pattern"), Response, Some(&a), Some(&b), Additive),
            (max, Request, Some(&b), Some(&a), Breaking),
            (max, Request, Some(&a), Some(&b), Additive),
            (max, Request, None, Some(&a), Breaking),
            (max, Request, Some(&a), None, Additive),
            (max, Response, Some(&b), Some(&a), Additive),
            (min, Request, Some(&a), Some(&b), Breaking),
            (min, Request, Some(&b), Some(&a), Additive),
            (kind("default"), Request, Some(&a), Some(&b), NeedsAttention),
            (
                kind("deprecated"),
                Response,
                None,
                Some(&json!(true)),
                NeedsAttention,
            ),
            (
                kind("writeOnly"),
                Response,
                None,
                Some(&json!(true)),
                NeedsAttention,
            ),
            (kind("x-unknown-to-us"), Request, None, Some(&a), Cosmetic),
            (
                kind("somethingNew"),
                Request,
                None,
                Some(&a),
                NeedsAttention,
            ),
            (kind("description"), Request, Some(&a), Some(&b), Cosmetic),
        ];
        for (i, (k, side, old, new, expected)) in rules.iter().enumerate() {
            assert_eq!(
                classify(*k, *side, *old, *new),
                *expected,
                "rule {i}: {k:?} {side:?}"
            );
        }
    }

    #[test]
    fn every_keyword_is_listed_once() {
        for (i, (key, _)) in SCHEMA_KEYWORDS.iter().enumerate() {
            assert!(
                SCHEMA_KEYWORDS[..i].iter().all(|(k, _)| k != key),
                "{key} is listed twice"
            );
        }
    }
}
