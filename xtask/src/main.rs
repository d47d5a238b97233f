//! `cargo xtask <command>`: see `cargo xtask help`.

use std::process::ExitCode;

use xtask::{ci, generate, spec, surface};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  generate [--check]   write crates/generated/src/generated.rs from openapi/
                       (--check: compare only; exit 1 with a diff when stale)
  ci                   every check CI runs: generate --check, fmt, clippy, doc, test
  provenance           print where the spec fragment came from and its sha256
  surface              print the API surface summary of openapi/ (what the snapshots hold)
  help                 this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = spec::workspace_root();
    let result = match args.as_slice() {
        ["generate"] => generate::write(&root).map(|outcome| {
            let file = generate::GENERATED_FILE;
            match outcome {
                generate::Outcome::Written => eprintln!("wrote {file}"),
                generate::Outcome::Unchanged => eprintln!("{file} is up to date"),
            }
        }),
        ["generate", "--check"] => generate::check(&root).map(|()| {
            eprintln!("{} matches openapi/", generate::GENERATED_FILE);
        }),
        ["ci"] => ci::run(),
        ["provenance"] => print_provenance(&root),
        ["surface"] => spec::load_fragment(&root)
            .and_then(|(_, f)| surface::summary(&f.doc))
            .map(|s| print!("{s}")),
        ["help"] | ["--help"] | ["-h"] => {
            print!("{USAGE}");
            Ok(())
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_provenance(root: &std::path::Path) -> anyhow::Result<()> {
    let (prov, fragment) = spec::load_fragment(root)?;
    println!("fragment:    {}", fragment.rel_path);
    println!("operations:  {}", prov.operations.join(", "));
    println!("repository:  {}", prov.upstream.repository);
    println!("commit:      {}", prov.upstream.commit);
    println!("path:        {}", prov.upstream.path);
    if let Some(source) = &prov.source_sha256 {
        println!("source sha:  {source}");
    }
    println!("sha256:      {}", fragment.sha256);
    if fragment.sha256 != prov.fragment_sha256 {
        println!(
            "note:        the fragment differs from the one recorded at extraction ({})",
            prov.fragment_sha256
        );
    }
    Ok(())
}
