#!/usr/bin/env bash
# Runs bench/e2e/decode.ts here in Node on Dawn (SwiftShader when there is no GPU), e.g.
#   bash bench/e2e/run.sh --config tiny --out .tmp/e2e
# Numbers from SwiftShader mean nothing; this checks that the benchmark runs end to end.
exec bash "$(dirname "$0")/../run_here.sh" .tmp/bench-e2e bench/e2e/decode.ts bench/e2e/weight_worker.ts -- "$@"
