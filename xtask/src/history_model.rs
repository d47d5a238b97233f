//! What `cargo xtask replay-history` is asked ([`Options`]) and what it finds: each
//! operation's distinct versions and the consecutive pairs, classed.

use std::path::PathBuf;

use crate::bounded::Failure;
use crate::report::Class;

/// What to replay.
#[derive(Debug, Clone)]
pub struct Options {
    /// A clone of cloudflare/api-schemas (its git directory or work tree).
    pub git_dir: PathBuf,
    /// `METHOD /path` of each operation.
    pub operations: Vec<String>,
    /// Only commits at or after this date (`git log --since`).
    pub since: Option<String>,
    /// Only commits before this date (`git log --until`).
    pub until: Option<String>,
    /// Compile the generated code (`cargo check`), besides generating it.
    pub compile: bool,
    /// Where fragments, generated code and the check crate go.
    pub work_dir: PathBuf,
    /// The xtask binary, for bounded generation.
    pub exe: PathBuf,
    /// The workspace (its lock file and the generated crate's dependencies).
    pub root: PathBuf,
}

/// One distinct fragment of one operation.
#[derive(Debug)]
pub struct Version {
    /// The first upstream commit that has it, and its date.
    pub commit: String,
    pub date: String,
    /// The operationId it carries.
    pub operation_id: String,
    /// Where the fragment was written.
    pub file: PathBuf,
    /// The generated code, or why there is none.
    pub generated: std::result::Result<String, Failure>,
    /// `cargo check` of the generated code: None when not compiled.
    pub compiled: Option<std::result::Result<(), String>>,
}

/// A consecutive pair and how it was classed.
#[derive(Debug)]
pub struct Pair {
    /// Index of the newer version.
    pub to: usize,
    /// `diff`'s class, from the JSON and the generated Rust together (None: nothing).
    pub class: Option<Class>,
    /// What the generated Rust API did alone (None: unchanged).
    pub rust: Option<Class>,
    /// The JSON diff's class alone, as `diff` judged before it read the Rust API.
    pub json: Option<Class>,
    /// A breaking change on the wire that the Rust API does not show (auth, a
    /// parameter's or a request body's constraint): `judge` keeps such lines breaking
    /// while the Rust API holds.
    pub wire: bool,
    /// The operationId changed.
    pub renamed: bool,
    /// The older version's index.
    pub from: usize,
    /// `diff`'s lines: class, pointer, message.
    pub lines: Vec<String>,
}

/// Everything replayed for one operation.
#[derive(Debug, Default)]
pub struct Operation {
    /// `METHOD /path`.
    pub target: String,
    /// Upstream versions holding it.
    pub seen: usize,
    /// Of those, how many changed the raw extract while the canonical fragment stayed.
    pub byte_only: usize,
    /// Distinct canonical fragments, oldest first.
    pub versions: Vec<Version>,
    /// Consecutive pairs of versions that both generated.
    pub pairs: Vec<Pair>,
}
