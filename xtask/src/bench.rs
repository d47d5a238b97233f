//! `cargo xtask bench-extract`: how long `extract` takes on a document the size of
//! Cloudflare's full schema, beside the time just to parse it (the floor), same run.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{Value, json};

use crate::extract;

/// Grows `base` (an upstream-style document) with unrelated operations and schemas
/// until its pretty JSON is at least `target_bytes` long. The added operations share
/// components and one of them carries a `$ref` cycle, as upstream's do.
pub fn large_upstream(base: &Value, target_bytes: usize) -> Result<String> {
    let mut doc = base.clone();
    let start = serde_json::to_string_pretty(&doc)?.len();
    add_filler(&mut doc, 0)?;
    let per_round = serde_json::to_string_pretty(&doc)?
        .len()
        .saturating_sub(start)
        .max(1);
    let mut round = 1;
    loop {
        // Grow by the estimated number of rounds still needed, then measure again.
        let text = serde_json::to_string_pretty(&doc)?;
        if text.len() >= target_bytes {
            return Ok(text);
        }
        let rounds = (target_bytes - text.len()).div_ceil(per_round);
        for _ in 0..rounds {
            add_filler(&mut doc, round)?;
            round += 1;
        }
    }
}

/// One round of filler: 500 operations, 100 schemas chained into a cycle.
fn add_filler(doc: &mut Value, i: usize) -> Result<()> {
    let paths = doc["paths"]
        .as_object_mut()
        .ok_or_else(|| anyhow::anyhow!("no paths"))?;
    for j in 0..500 {
        paths.insert(
            format!("/zones/{{zone_id}}/bulk/s{i}_{j}"),
            json!({"get": {
                "operationId": format!("bulk-get-{i}-{j}"),
                "summary": "Get a setting",
                "description": "Fetches one setting of a zone; generated filler for the benchmark. ".repeat(3),
                "parameters": [{"$ref": "#/components/parameters/bulk_zone_id"}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/bulk_setting_{}", j % 100)}}}}},
                "security": [{"api_token": []}]
            }}),
        );
    }
    let components = doc["components"]
        .as_object_mut()
        .ok_or_else(|| anyhow::anyhow!("no components"))?;
    components
        .entry("parameters")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| anyhow::anyhow!("parameters"))?
        .insert("bulk_zone_id".into(), json!({"name": "zone_id", "in": "path", "required": true, "schema": {"type": "string"}}));
    let schemas = components["schemas"]
        .as_object_mut()
        .ok_or_else(|| anyhow::anyhow!("schemas"))?;
    for k in 0..100 {
        schemas.insert(
            format!("bulk_setting_{k}"),
            json!({"type": "object", "properties": {"value": {"type": "string"}, "next": {"$ref": format!("#/components/schemas/bulk_setting_{}", (k + 1) % 100)}}}),
        );
    }
    Ok(())
}

/// Times `runs` rounds of parse-only and parse+extract+serialise on a document of
/// `target_bytes`, interleaved, and returns a report with the medians.
pub fn run(
    base: &Value,
    operations: &[String],
    target_bytes: usize,
    runs: usize,
) -> Result<String> {
    let text = large_upstream(base, target_bytes)?;
    let mut parse = Vec::with_capacity(runs);
    let mut full = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let doc: Value = serde_json::from_str(&text)?;
        parse.push(t.elapsed());
        drop(doc);
        let t = Instant::now();
        let doc: Value = serde_json::from_str(&text)?;
        let fragment = extract::extract(&doc, operations)?;
        let _ = extract::to_committed_text(&fragment)?;
        full.push(t.elapsed());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (p, f) = (median(&mut parse), median(&mut full));
    Ok(format!(
        "document: {:.1} MB, {} runs, {} build\n\
         parse only (floor):        median {:>8.1} ms\n\
         parse + extract + write:   median {:>8.1} ms  ({:.2}x the floor)\n",
        text.len() as f64 / 1e6,
        runs.max(1),
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        },
        p.as_secs_f64() * 1e3,
        f.as_secs_f64() * 1e3,
        f.as_secs_f64() / p.as_secs_f64().max(1e-9),
    ))
}
