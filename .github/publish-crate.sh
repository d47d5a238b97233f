#!/usr/bin/env bash
# Publishes one workspace crate to crates.io (release.yml's publish job, one step per
# crate in dependency order). `cargo publish` returns once the index serves the new
# version, so the next crate resolves it. A version crates.io already has (a re-run
# after a partial publish) is passed over; any other failure fails the step.
set -euo pipefail
crate="$1"
log="${RUNNER_TEMP:-/tmp}/publish-$crate.log"
# --no-verify: the token is in this environment, so nothing is built here. CI, which
# the release's `version` job requires at this commit, checked that each package holds
# every file its build reads and compiles with only its own features (`cargo xtask
# ci`, its package step).
if cargo publish --locked --no-verify -p "$crate" 2>&1 | tee "$log"; then
  exit 0
fi
if grep -Eq "already (exists|uploaded)" "$log"; then
  echo "::notice::$crate: this version is already on crates.io; passed over"
  exit 0
fi
echo "::error::cargo publish -p $crate failed"
exit 1
