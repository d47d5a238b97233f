//! Cloudflare's envelope (`success`, `errors`, `messages`, `result`), decoded with bounds.
//!
//! The body is capped at a few MiB, but a plain `serde` decode of such a body can still
//! take 80 times that in memory: `{"errors":[{},{},…]}` is three bytes per item on the
//! wire and hundreds of bytes per item in Rust. So the lists are decoded here by hand,
//! against limits that keep every item a person could read and count the rest:
//!
//! - each list (`errors`, `messages`, every `error_chain`) keeps its first
//!   [`MAX_LIST_ITEMS`] items, and each whole list at most [`MAX_ITEMS_PER_LIST`] items
//!   counting nested chains; the others are counted in an `…_omitted` field;
//! - chains deeper than [`MAX_CHAIN_DEPTH`] are counted, not kept;
//! - unknown fields of an item (`extra`, and `source`) keep values up to
//!   [`MAX_EXTRA_VALUE_BYTES`] of JSON each and [`MAX_EXTRA_BYTES_PER_LIST`] in all;
//!   larger ones are counted in `extra_omitted`;
//! - a number that does not fit (`1e400`) never fails the decode: it is kept as text.
//!
//! Strings (messages, causes) are kept whole: together they are never larger than the
//! body itself.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::numbers;
use crate::text::{one_line, write_bounded};

/// Items kept per list (`errors`, `messages`, each `error_chain`).
pub const MAX_LIST_ITEMS: usize = 20;
/// Items kept in one top-level list, nested chains included.
pub const MAX_ITEMS_PER_LIST: usize = 1_000;
/// `error_chain` levels kept below a top-level item.
pub const MAX_CHAIN_DEPTH: usize = 4;
/// Largest value of an unknown field kept, as JSON text.
pub const MAX_EXTRA_VALUE_BYTES: usize = 8 * 1024;
/// Unknown-field JSON kept per top-level list, in all.
pub const MAX_EXTRA_BYTES_PER_LIST: usize = 64 * 1024;

/// Items and nested chain levels shown by `Display` (the rest is "… and N more").
const SHOWN_ITEMS: usize = 3;
const SHOWN_CHAIN_ITEMS: usize = 2;
const SHOWN_CHAIN_DEPTH: usize = 2;

/// One item of a Cloudflare envelope's `errors` or `messages`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ApiErrorItem {
    /// Cloudflare's code (values above 65,535 exist, so 64 bits). 0 when the item had
    /// none, or one that is not an integer; then `extra["code"]` holds it as sent.
    pub code: i64,
    /// The message.
    pub message: String,
    /// A link to the documentation, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
    /// A JSON pointer into the request that the item is about, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<serde_json::Value>,
    /// Further items that caused this one (the first [`MAX_LIST_ITEMS`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub error_chain: Vec<ApiErrorItem>,
    /// Items of `error_chain` that were counted but not kept (see the module limits).
    #[serde(skip_serializing_if = "is_zero")]
    pub error_chain_omitted: usize,
    /// Fields this client does not know yet, kept as they came (up to the limits).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Unknown fields (or `source`) dropped because their values were too large.
    #[serde(skip_serializing_if = "is_zero")]
    pub extra_omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl ApiErrorItem {
    /// An item with a code and message (for tests and mocks).
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            documentation_url: None,
            source: None,
            error_chain: Vec::new(),
            error_chain_omitted: 0,
            extra: serde_json::Map::new(),
            extra_omitted: 0,
        }
    }

    fn fmt_depth(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        write!(f, "[{}] {}", self.code, one_line(&self.message, 200))?;
        if self.error_chain.is_empty() && self.error_chain_omitted == 0 {
            return Ok(());
        }
        f.write_str(" (caused by ")?;
        if depth >= SHOWN_CHAIN_DEPTH {
            let n = self.error_chain.len() + self.error_chain_omitted;
            write!(f, "{} more", crate::text::thousands(n))?;
        } else {
            let shown: Vec<Nested<'_>> = self
                .error_chain
                .iter()
                .map(|item| Nested {
                    item,
                    depth: depth + 1,
                })
                .collect();
            write_bounded(f, &shown, self.error_chain_omitted, SHOWN_CHAIN_ITEMS, "; ")?;
        }
        f.write_str(")")
    }
}

/// An item shown at some depth of a chain.
struct Nested<'a> {
    item: &'a ApiErrorItem,
    depth: usize,
}

impl fmt::Display for Nested<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.item.fmt_depth(f, self.depth)
    }
}

/// One line: `[7002] Not Found (caused by [1] a; [2] b; … and 3 more)`, bounded
/// whatever the chain holds.
impl fmt::Display for ApiErrorItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_depth(f, 0)
    }
}

/// Writes a list of items on one line, at most a few, then "… and N more".
pub(crate) fn write_items(
    f: &mut fmt::Formatter<'_>,
    items: &[ApiErrorItem],
    omitted: usize,
    sep: &str,
) -> fmt::Result {
    write_bounded(f, items, omitted, SHOWN_ITEMS, sep)
}

impl<'de> Deserialize<'de> for ApiErrorItem {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let budget = ListBudget::new();
        ItemSeed {
            budget: &budget,
            depth: 0,
        }
        .deserialize(de)
    }
}

/// A decoded list and how many of its items were counted but not kept.
#[derive(Debug, Default)]
pub(crate) struct ItemList {
    pub(crate) items: Vec<ApiErrorItem>,
    pub(crate) omitted: usize,
}

/// `deserialize_with` for a top-level list: a fresh budget per list.
pub(crate) fn bounded_list<'de, D: Deserializer<'de>>(de: D) -> Result<ItemList, D::Error> {
    let budget = ListBudget::new();
    ListSeed {
        budget: &budget,
        depth: 0,
    }
    .deserialize(de)
}

/// What one top-level list may still keep.
struct ListBudget {
    items: Cell<usize>,
    extra_bytes: Cell<usize>,
}

impl ListBudget {
    fn new() -> Self {
        Self {
            items: Cell::new(MAX_ITEMS_PER_LIST),
            extra_bytes: Cell::new(MAX_EXTRA_BYTES_PER_LIST),
        }
    }

    fn take_item(&self) -> bool {
        take(&self.items, 1)
    }

    fn take_extra(&self, bytes: usize) -> bool {
        bytes <= MAX_EXTRA_VALUE_BYTES && take(&self.extra_bytes, bytes)
    }
}

fn take(cell: &Cell<usize>, n: usize) -> bool {
    match cell.get().checked_sub(n) {
        Some(left) => {
            cell.set(left);
            true
        }
        None => false,
    }
}

struct ListSeed<'b> {
    budget: &'b ListBudget,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = ItemList;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<ItemList, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = ItemList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of Cloudflare error items")
    }

    fn visit_unit<E: de::Error>(self) -> Result<ItemList, E> {
        Ok(ItemList::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<ItemList, E> {
        Ok(ItemList::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ItemList, A::Error> {
        let mut list = ItemList::default();
        loop {
            let keep = self.depth <= MAX_CHAIN_DEPTH
                && list.items.len() < MAX_LIST_ITEMS
                && self.budget.take_item();
            if keep {
                let seed = ItemSeed {
                    budget: self.budget,
                    depth: self.depth,
                };
                match seq.next_element_seed(seed)? {
                    Some(item) => list.items.push(item),
                    None => break,
                }
            } else {
                match seq.next_element::<IgnoredAny>()? {
                    Some(_) => list.omitted += 1,
                    None => break,
                }
            }
        }
        Ok(list)
    }
}

struct ItemSeed<'b> {
    budget: &'b ListBudget,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = ApiErrorItem;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<ApiErrorItem, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = ApiErrorItem;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Cloudflare error item (an object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ApiErrorItem, A::Error> {
        let mut item = ApiErrorItem::new(0, "");
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "code" => {
                    let raw: Box<RawValue> = map.next_value()?;
                    match numbers::parse_integral(raw.get()) {
                        Some(code) => item.code = code,
                        None if raw.get() == "null" => {}
                        None => self.keep_extra(&mut item, key, &raw),
                    }
                }
                "message" => item.message = map.next_value::<Option<String>>()?.unwrap_or_default(),
                "documentation_url" => item.documentation_url = map.next_value()?,
                "error_chain" => {
                    let chain = map.next_value_seed(ListSeed {
                        budget: self.budget,
                        depth: self.depth + 1,
                    })?;
                    item.error_chain = chain.items;
                    item.error_chain_omitted = chain.omitted;
                }
                "source" => {
                    let raw: Box<RawValue> = map.next_value()?;
                    match self.bounded_value(&raw) {
                        Some(v) => item.source = Some(v),
                        None => item.extra_omitted += 1,
                    }
                }
                _ => {
                    let raw: Box<RawValue> = map.next_value()?;
                    self.keep_extra(&mut item, key, &raw);
                }
            }
        }
        Ok(item)
    }
}

impl ItemSeed<'_> {
    /// The value as JSON, when it fits the budget; numbers out of range become text.
    fn bounded_value(&self, raw: &RawValue) -> Option<serde_json::Value> {
        let text = raw.get();
        if !self.budget.take_extra(text.len()) {
            return None;
        }
        Some(
            serde_json::from_str(text)
                .unwrap_or_else(|_| serde_json::Value::String(text.to_string())),
        )
    }

    fn keep_extra(&self, item: &mut ApiErrorItem, key: String, raw: &RawValue) {
        // The key counts against the budget too: a million short keys are no cheaper.
        let kept = self
            .budget
            .take_extra(key.len())
            .then(|| self.bounded_value(raw))
            .flatten();
        match kept {
            Some(v) => {
                item.extra.insert(key, v);
            }
            None => item.extra_omitted += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(json: &str) -> ItemList {
        let mut de = serde_json::Deserializer::from_str(json);
        bounded_list(&mut de).unwrap()
    }

    /// An unknown field's value is kept up to MAX_EXTRA_VALUE_BYTES of JSON text (8 KiB,
    /// as documented), and counted as omitted past it.
    #[test]
    fn unknown_values_are_kept_up_to_their_bound() {
        let value = |len: usize| format!("\"{}\"", "v".repeat(len - 2));
        let at = value(8 * 1024);
        let over = value(MAX_EXTRA_VALUE_BYTES + 1);
        let l = list(&format!(
            r#"[{{"code":1,"message":"m","a":{at},"b":{over}}}]"#
        ));
        let item = &l.items[0];
        assert_eq!(item.extra["a"].as_str().map(str::len), Some(8 * 1024 - 2));
        assert!(!item.extra.contains_key("b"));
        assert_eq!(item.extra_omitted, 1);
    }

    /// A null code is no code: 0, with nothing kept as an unknown field.
    #[test]
    fn a_null_code_is_no_code() {
        let l = list(r#"[{"code":null,"message":"m"},{"code":"E1","message":"n"}]"#);
        assert_eq!(l.items[0].code, 0);
        assert!(l.items[0].extra.is_empty(), "{:?}", l.items[0].extra);
        assert_eq!(
            l.items[1].extra["code"], "E1",
            "a code that is not a number is kept"
        );
    }

    /// What was counted but not kept reaches a serialised report; zeros stay out.
    #[test]
    fn serialised_items_carry_what_was_omitted() {
        let plain = serde_json::to_value(ApiErrorItem::new(1, "a")).unwrap();
        assert_eq!(plain, serde_json::json!({"code": 1, "message": "a"}));
        let mut cut = ApiErrorItem::new(2, "b");
        cut.error_chain_omitted = 4;
        cut.extra_omitted = 3;
        let cut = serde_json::to_value(cut).unwrap();
        assert_eq!(
            (&cut["error_chain_omitted"], &cut["extra_omitted"]),
            (&serde_json::json!(4), &serde_json::json!(3))
        );
    }

    #[test]
    fn small_lists_are_kept_whole() {
        let l = list(r#"[{"code":7002,"message":"Not Found","x":1,"error_chain":[{"code":1}]}]"#);
        assert_eq!(l.omitted, 0);
        let item = &l.items[0];
        assert_eq!((item.code, item.message.as_str()), (7002, "Not Found"));
        assert_eq!(item.extra["x"], 1);
        assert_eq!(item.error_chain[0].code, 1);
        assert_eq!(item.to_string(), "[7002] Not Found (caused by [1] )");
    }

    #[test]
    fn long_lists_keep_the_first_items_and_count_the_rest() {
        let json = format!("[{}]", vec!["{}"; 131_090].join(","));
        let l = list(&json);
        assert_eq!(l.items.len(), MAX_LIST_ITEMS);
        assert_eq!(l.omitted, 131_090 - MAX_LIST_ITEMS);
    }

    #[test]
    fn deep_chains_are_counted_below_the_depth_limit() {
        let mut json = r#"{"code":9,"error_chain":[{},{}]}"#.to_string();
        for _ in 0..10 {
            json = format!(r#"{{"code":1,"error_chain":[{json}]}}"#);
        }
        let l = list(&format!("[{json}]"));
        let mut item = &l.items[0];
        let mut depth = 0;
        while let Some(next) = item.error_chain.first() {
            item = next;
            depth += 1;
        }
        assert_eq!(depth, MAX_CHAIN_DEPTH);
        assert_eq!(item.error_chain_omitted, 1, "the next level is counted");
    }

    #[test]
    fn wide_chains_share_one_budget_per_list() {
        let chain = format!("[{}]", vec![r#"{"error_chain":[{},{},{}]}"#; 20].join(","));
        let one = format!(r#"{{"error_chain":{chain}}}"#);
        let json = format!("[{}]", vec![one.as_str(); 20].join(","));
        let l = list(&json);
        let kept = count(&l.items);
        assert!(kept <= MAX_ITEMS_PER_LIST, "{kept}");
        let omitted: usize = l.omitted + omitted_in(&l.items);
        assert!(omitted > 0);
    }

    fn count(items: &[ApiErrorItem]) -> usize {
        items.iter().map(|i| 1 + count(&i.error_chain)).sum()
    }

    fn omitted_in(items: &[ApiErrorItem]) -> usize {
        items
            .iter()
            .map(|i| i.error_chain_omitted + omitted_in(&i.error_chain))
            .sum()
    }

    #[test]
    fn large_unknown_values_are_counted_not_kept() {
        let big = vec!["0"; 100_000].join(",");
        let l = list(&format!(
            r#"[{{"code":1,"big":[{big}],"small":"ok","source":[{big}]}}]"#
        ));
        let item = &l.items[0];
        assert!(!item.extra.contains_key("big"));
        assert_eq!(item.extra["small"], "ok");
        assert!(item.source.is_none());
        assert_eq!(item.extra_omitted, 2);
    }

    #[test]
    fn odd_numbers_never_fail_the_item() {
        let l = list(r#"[{"code":1e400,"message":"m","n":-1e999},{"code":7002.0},{"code":null}]"#);
        assert_eq!(l.items[0].code, 0);
        assert_eq!(l.items[0].extra["code"], "1e400");
        assert_eq!(l.items[0].extra["n"], "-1e999");
        assert_eq!(l.items[1].code, 7002);
        assert_eq!(l.items[2].code, 0);
    }

    /// Below the shown depth, kept and omitted causes are counted together.
    #[test]
    fn causes_below_the_shown_depth_are_counted_kept_and_omitted_alike() {
        let mut leaf = ApiErrorItem::new(3, "leaf");
        leaf.error_chain = vec![ApiErrorItem::new(4, "a"), ApiErrorItem::new(5, "b")];
        leaf.error_chain_omitted = 3;
        let mut mid = ApiErrorItem::new(2, "mid");
        mid.error_chain = vec![leaf];
        let mut top = ApiErrorItem::new(1, "top");
        top.error_chain = vec![mid];
        assert_eq!(
            top.to_string(),
            "[1] top (caused by [2] mid (caused by [3] leaf (caused by 5 more)))"
        );
    }

    #[test]
    fn display_is_bounded_whatever_the_chain() {
        let leaf = r#"{"code":3,"message":"leaf","error_chain":[{},{},{},{},{}]}"#;
        let mid = format!(
            r#"{{"code":2,"message":"mid","error_chain":[{}]}}"#,
            vec![leaf; 15].join(",")
        );
        let top = format!(
            r#"{{"code":1,"message":"top","error_chain":[{}]}}"#,
            vec![mid.as_str(); 15].join(",")
        );
        let l = list(&format!("[{top}]"));
        let shown = l.items[0].to_string();
        assert!(shown.len() < 400, "{shown}");
        assert!(shown.ends_with("; … and 13 more)"), "{shown}");
        assert!(shown.contains("[3] leaf (caused by 5 more)"), "{shown}");
    }
}
