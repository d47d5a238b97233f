//! The published crates' version, moved by CONTRIBUTING.md's policy when the spec changes:
//! while the version is `0.x`, a `breaking` change is the next minor and anything else
//! the next patch; from `1.0`, `breaking` is the next major, `additive` and
//! `needs-attention` the next minor, anything else the next patch. The version is plain
//! `major.minor.patch`: release tags (`v0.1.0`) must be ones that Dependabot and
//! binstall order and template, so Cloudflare's `info.version` is named in the
//! changelog (and sent by the generated client), not in build metadata.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use semver::Version;

use crate::report::Class;

/// The crates that share one version, by manifest; the first is read for the version.
pub const MANIFESTS: [(&str, &str); 3] = [
    (
        "cloudflare-mcp-sync-generated",
        "crates/generated/Cargo.toml",
    ),
    ("cloudflare-mcp-sync", "crates/ergonomic/Cargo.toml"),
    ("cf-mcp-sync", "crates/cli/Cargo.toml"),
];

/// `major.minor.patch` of a version, without build metadata; a pre-release is refused
/// (an automatic bump cannot know what it should become).
fn core(version: &str) -> Result<Version> {
    let parsed = Version::parse(version)
        .map_err(|e| anyhow!("version {version:?} is not major.minor.patch ({e})"))?;
    if !parsed.pre.is_empty() {
        bail!("version {version} has a pre-release part; bump it by hand");
    }
    Ok(Version::new(parsed.major, parsed.minor, parsed.patch))
}

/// `major.minor.patch` one change of `class` after `from` (`None`: only respelled).
fn bumped(from: &Version, class: Option<Class>) -> Version {
    let (major, minor, patch) = (from.major, from.minor, from.patch);
    match (major, class) {
        (0, Some(Class::Breaking)) => Version::new(0, minor + 1, 0),
        (_, Some(Class::Breaking)) => Version::new(major + 1, 0, 0),
        (1.., Some(Class::Additive | Class::NeedsAttention)) => Version::new(major, minor + 1, 0),
        _ => Version::new(major, minor, patch + 1),
    }
}

/// The last released version: the first `## [x]` heading after `## [Unreleased]`.
pub fn last_released(changelog: &str) -> Option<String> {
    changelog
        .lines()
        .filter_map(|l| l.strip_prefix("## ["))
        .filter_map(|rest| rest.split_once(']').map(|(v, _)| v))
        .find(|v| !v.eq_ignore_ascii_case("unreleased"))
        .map(str::to_string)
}

/// The version after a change of `class` (`None`: the spec was only respelled).
///
/// The policy moves the version from the last *release*, not from the manifests: two
/// drifts between releases are one bump (the larger: never below `current`), and
/// before the first release the version stays what it is, as that release is still
/// ahead. Build metadata of an older scheme (`+api.4.0.0`) is dropped.
pub fn next(current: &str, released: Option<&str>, class: Option<Class>) -> Result<String> {
    let now = core(current)?;
    let next = match released {
        None => now,
        Some(released) => now.max(bumped(&core(released)?, class)),
    };
    Ok(next.to_string())
}

/// The shared version, read from the first manifest.
pub fn current(root: &Path) -> Result<String> {
    let text = read(root, MANIFESTS[0].1)?;
    package_version(&text).ok_or_else(|| anyhow!("{} has no version", MANIFESTS[0].1))
}

fn package_version(manifest: &str) -> Option<String> {
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .map(str::to_string)
}

fn read(root: &Path, rel: &str) -> Result<String> {
    std::fs::read_to_string(root.join(rel)).with_context(|| format!("reading {rel}"))
}

/// Moves every manifest, the path dependencies between them and `Cargo.lock` from
/// `old` to `new`; returns the files to write (nothing is written here).
pub fn bump_files(root: &Path, old: &str, new: &str) -> Result<Vec<(std::path::PathBuf, String)>> {
    let (old_core, new_core) = (strip_build(old), strip_build(new));
    let mut files = Vec::new();
    for (_, rel) in MANIFESTS {
        let text = read(root, rel)?;
        let mut out = String::with_capacity(text.len());
        let mut moved = false;
        for line in text.split_inclusive('\n') {
            if !moved && line.trim_end() == format!("version = \"{old}\"") {
                out.push_str(&line.replace(old, new));
                moved = true;
            } else if line.contains("path = \"../") {
                out.push_str(&line.replace(
                    &format!("version = \"{old_core}\""),
                    &format!("version = \"{new_core}\""),
                ));
            } else {
                out.push_str(line);
            }
        }
        if !moved {
            bail!("{rel} does not have version {old}");
        }
        files.push((root.join(rel), out));
    }
    let mut lock = read(root, "Cargo.lock")?;
    for (name, _) in MANIFESTS {
        let from = format!("name = \"{name}\"\nversion = \"{old}\"\n");
        if !lock.contains(&from) {
            bail!("Cargo.lock has no {name} {old}");
        }
        lock = lock.replace(&from, &format!("name = \"{name}\"\nversion = \"{new}\"\n"));
    }
    files.push((root.join("Cargo.lock"), lock));
    Ok(files)
}

fn strip_build(version: &str) -> &str {
    version.split('+').next().unwrap_or(version)
}

/// `CHANGELOG.md` with an entry for this spec change under `## [Unreleased]`, and its
/// "To be released as" line naming the new version.
pub fn changelog(text: &str, old: &str, new: &str, entry: &str) -> Result<String> {
    let heading = "## [Unreleased]\n";
    let at = text
        .find(heading)
        .ok_or_else(|| anyhow!("CHANGELOG.md has no `## [Unreleased]` section"))?;
    let (before, after) = text.split_at(at + heading.len());
    let after = after.replacen(
        &format!("To be released as `{old}`"),
        &format!("To be released as `{new}`"),
        1,
    );
    Ok(format!(
        "{before}\n{}{after}",
        entry.trim_end().to_string() + "\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_follows_the_class() {
        let cases = [
            ("0.1.0", Some(Class::Breaking), "0.2.0"),
            ("0.1.3", Some(Class::Additive), "0.1.4"),
            ("0.1.3", Some(Class::NeedsAttention), "0.1.4"),
            ("0.1.3", Some(Class::Cosmetic), "0.1.4"),
            ("0.1.3", None, "0.1.4"),
            ("1.2.3", Some(Class::Breaking), "2.0.0"),
            ("1.2.3", Some(Class::Additive), "1.3.0"),
            ("1.2.3", Some(Class::NeedsAttention), "1.3.0"),
            ("1.2.3", Some(Class::Cosmetic), "1.2.4"),
            ("1.2.3", None, "1.2.4"),
        ];
        // Moved from the release, when the manifests still say the released version.
        for (from, class, to) in cases {
            assert_eq!(
                next(from, Some(from), class).unwrap(),
                to,
                "{from} {class:?}"
            );
        }
        assert_eq!(next("0.1.0", Some("0.1.0"), None).unwrap(), "0.1.1");
        assert!(next("0.1.0-rc.1", Some("0.1.0"), None).is_err());
        assert!(next("0.1.0", Some("0.1"), None).is_err());
        assert!(next("0.1", None, None).is_err());
    }

    #[test]
    fn drifts_between_releases_are_one_bump_and_none_before_the_first() {
        let breaking = Some(Class::Breaking);
        let additive = Some(Class::Additive);
        // Nothing released yet: the first release is still ahead.
        assert_eq!(next("0.1.0", None, breaking).unwrap(), "0.1.0");
        // A version of the older scheme loses its build metadata.
        assert_eq!(next("0.1.0+api.4.0.0", None, breaking).unwrap(), "0.1.0");
        // Released 0.1.0, then an additive drift (0.1.1), then a breaking one: 0.2.0.
        assert_eq!(next("0.1.1", Some("0.1.0"), breaking).unwrap(), "0.2.0");
        // Two breaking drifts before the next release: still 0.2.0, not 0.3.0.
        assert_eq!(next("0.2.0", Some("0.1.0"), breaking).unwrap(), "0.2.0");
        // An additive drift after a breaking one keeps the larger bump.
        assert_eq!(next("0.2.0", Some("0.1.0"), additive).unwrap(), "0.2.0");
    }

    #[test]
    fn the_last_release_is_read_from_the_changelog() {
        let log =
            "# Changelog\n\n## [Unreleased]\n\n- x\n\n## [0.1.1] - 2027-01-02\n\n## [0.1.0]\n";
        assert_eq!(last_released(log).as_deref(), Some("0.1.1"));
        assert_eq!(
            last_released("# Changelog\n\n## [Unreleased]\n\n- x\n"),
            None
        );
    }

    #[test]
    fn the_changelog_gets_an_entry_and_the_new_version() {
        let text = "# Changelog\n\n## [Unreleased]\n\nTo be released as `0.1.0`, first.\n\n### Added\n- x\n";
        let out = changelog(text, "0.1.0", "0.1.1", "### Spec drift\n- y\n").unwrap();
        assert_eq!(
            out,
            "# Changelog\n\n## [Unreleased]\n\n### Spec drift\n- y\n\nTo be released as `0.1.1`, first.\n\n### Added\n- x\n"
        );
        assert!(changelog("# no section\n", "a", "b", "c").is_err());
    }
}
