#!/usr/bin/env bash
# Bundles bench/e2e/decode.ts (and its weight worker) for the lent GPU into .device/ (git-ignored) and
# records which commit it is. Then run with the device tool: carry [".device"], command
#   bash .device/setup.sh && .device/node .device/decode.mjs [flags]
# Extra entry points to bundle alongside: bash bench/e2e/prepare.sh bench/dispatch_cost.ts
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
info=$(bash bench/build_info.sh)      # before bundling: the state of the tree that gets bundled
mkdir -p "$(git rev-parse --git-path info)"
bash ../shared/device/prepare bench/e2e/decode.ts bench/e2e/weight_worker.ts "$@"
printf '%s\n' "$info" > .device/build-info.json
echo "build info: $info"
size=$(du -sm .device | cut -f1)
[ "$size" -lt 64 ] || { echo "warning: .device is ${size} MiB; the device tool carries at most 64 MiB" >&2; }
