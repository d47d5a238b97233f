//! Empty: it exists so that `[build-dependencies]` in Cargo.toml apply (see there).
fn main() {
    // Without it cargo reruns this script, and rebuilds xtask, whenever any file in
    // the package changes.
    println!("cargo:rerun-if-changed=build.rs");
}
