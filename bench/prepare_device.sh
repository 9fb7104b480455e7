#!/usr/bin/env bash
# Bundles bench entry points for the lent GPU into .device/ (git-ignored) with ../shared/device/prepare,
# and records which commit it is. Used by bench/prepare.sh and bench/e2e/prepare.sh:
#   bash bench/prepare_device.sh <entry.ts> ...
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
info=$(bash bench/build_info.sh)      # before bundling: the state of the tree that gets bundled
# The shared prepare appends to .git/info/exclude, which this checkout may lack.
mkdir -p "$(git rev-parse --git-path info)"
bash ../shared/device/prepare "$@"
printf '%s\n' "$info" > .device/build-info.json
echo "build info: $info"
size=$(du -sm .device | cut -f1)
[ "$size" -lt 64 ] || { echo "warning: .device is ${size} MiB; the device tool carries at most 64 MiB" >&2; }
