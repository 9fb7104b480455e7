#!/usr/bin/env bash
# Bundles bench/kernels.ts for the lent GPU into .device/ (git-ignored) and records which commit it is.
#   bash bench/prepare.sh
# Then run with the device tool: carry [".device"], command
#   bash .device/setup.sh && .device/node .device/kernels.mjs [flags]
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
info=$(bash bench/build_info.sh)      # before bundling: the state of the tree that gets bundled
# The shared prepare appends to .git/info/exclude, which this checkout may lack.
mkdir -p "$(git rev-parse --git-path info)"
bash ../shared/device/prepare bench/kernels.ts bench/encode_worker.ts "$@"
printf '%s\n' "$info" > .device/build-info.json
echo "build info: $info"
size=$(du -sm .device | cut -f1)
[ "$size" -lt 64 ] || { echo "warning: .device is ${size} MiB; the device tool carries at most 64 MiB" >&2; }
