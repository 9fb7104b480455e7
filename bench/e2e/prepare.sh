#!/usr/bin/env bash
# Bundles bench/e2e/decode.ts (and its weight worker) for the lent GPU into .device/ (git-ignored) and
# records which commit it is. Then run with the device tool: carry [".device"], command
#   bash .device/setup.sh && .device/node .device/decode.mjs [flags]
# Extra entry points to bundle alongside: bash bench/e2e/prepare.sh bench/dispatch_cost.ts
exec bash "$(dirname "$0")/../prepare_device.sh" bench/e2e/decode.ts bench/e2e/weight_worker.ts "$@"
