#!/usr/bin/env bash
# Bundles bench/kernels.ts for the lent GPU into .device/ (git-ignored) and records which commit it is.
#   bash bench/prepare.sh [more entry points]
# Then run with the device tool: carry [".device"], command
#   bash .device/setup.sh && .device/node .device/kernels.mjs [flags]
exec bash "$(dirname "$0")/prepare_device.sh" bench/kernels.ts bench/encode_worker.ts "$@"
