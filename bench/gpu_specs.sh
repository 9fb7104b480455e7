#!/usr/bin/env bash
# Builds the Node spec bundle (.test-build/node/specs.mjs) and bundles bench/gpu_specs.ts for the lent
# GPU. Then run with the device tool: carry [".device", ".test-build"], command
#   bash .device/setup.sh && mkdir -p node_modules && ln -sfn ../.device/node_modules/webgpu node_modules/webgpu &&
#   .device/node .device/gpu_specs.mjs
# (the link lets the spec bundle import Dawn's `webgpu` from the repo root). The USE-lite spec reads its
# model from node_modules, which is not on the device: it fails there, and only there.
set -euo pipefail
cd "$(dirname "$0")/.."
TEST_FILTER= node scripts/run-node-tests.mjs --bundle-only
exec bash bench/prepare_device.sh bench/gpu_specs.ts
