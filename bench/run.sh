#!/usr/bin/env bash
# Runs bench/kernels.ts here in Node on Dawn (SwiftShader when there is no GPU): `npm run bench`
# runs `bash bench/run.sh --quick`; extra flags go after `--`, e.g. `npm run bench -- --M 1`.
exec bash "$(dirname "$0")/run_here.sh" .tmp/bench bench/kernels.ts bench/encode_worker.ts -- "$@"
