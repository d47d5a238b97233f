//! Empty: it exists so that `[build-dependencies]` in Cargo.toml apply (see there).
fn main() {}
