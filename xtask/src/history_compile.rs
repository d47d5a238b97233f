//! `cargo check` of every version's generated code in the history replay.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::history_model::{Operation, Options};
use crate::{compile, spec};

/// Checks every generated version, in batches (one crate each, one cargo run per
/// batch). Versions whose code differs only in comments (upstream's prose) are checked
/// once: comments do not change what compiles.
pub(crate) fn compile_all(options: &Options, ops: &mut [Operation]) -> Result<()> {
    let mut shapes: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    for (o, op) in ops.iter().enumerate() {
        for (v, version) in op.versions.iter().enumerate() {
            if let Ok(code) = &version.generated {
                shapes.entry(code_shape(code)).or_default().push((o, v));
            }
        }
    }
    let unique: Vec<&Vec<(usize, usize)>> = shapes.values().collect();
    let checker = compile::Checker::new(&options.root, &options.work_dir.join("check"))?;
    let mut done = 0;
    for batch in unique.chunks(60) {
        let sources: Vec<&str> = batch
            .iter()
            .map(|users| {
                let (o, v) = users[0];
                ops[o].versions[v]
                    .generated
                    .as_ref()
                    .map(String::as_str)
                    .unwrap_or_default()
            })
            .collect();
        done += sources.len();
        eprintln!(
            "  compiling {done} of {} distinct generated versions",
            unique.len()
        );
        let results = checker.check(&sources)?;
        for (users, result) in batch.iter().zip(results) {
            for &(o, v) in users.iter() {
                ops[o].versions[v].compiled = Some(result.clone());
            }
        }
    }
    Ok(())
}

/// The code without its comments (doc comments carry upstream's descriptions), hashed.
pub(crate) fn code_shape(code: &str) -> String {
    let kept: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    spec::sha256_hex(kept.as_bytes())
}
