#!/usr/bin/env bash
# Prints the build info of the code in this checkout as JSON: the commit, with "-dirty" when src/,
# bench/ or package.json differ from it (tracked changes or untracked files), and which files differ.
# The bench cannot run git on the lent GPU, so prepare.sh and run.sh write this next to the bundle.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
sha=$(git rev-parse HEAD)
dirty=$(git status --porcelain --untracked-files=all -- src bench package.json | grep -v ' bench/results/' || true)
[ -n "$dirty" ] && sha="$sha-dirty"
SHA="$sha" DIRTY="$dirty" node -e '
  const dirty = process.env.DIRTY.split("\n").filter(Boolean);
  console.log(JSON.stringify({commit: process.env.SHA, dirty, builtAt: new Date().toISOString()}));'
