#!/usr/bin/env bash
# npm test: runs every test/**/*.spec.ts in Node (cpu, and webgpu on Dawn when it has an adapter) and in
# headless Chromium through karma (cpu and webgpu), and the `tfjs-sparse convert` command's checks
# (scripts/test-cli.mjs; skipped when TEST_FILTER does not match "cli"), then prints one line
# "N passed, N failed, N skipped" summed over the runners. Exits non-zero on any failure, if a runner
# crashes or if one runs no spec. Replay a run's random data with TEST_SEED=<seed> npm test.
# npm run test:long (TEST_LONG=1) runs the property specs with ten times as many, and bigger, cases.
set -uo pipefail
cd "$(dirname "$0")/.."

export CHROME_BIN="${CHROME_BIN:-/usr/bin/chromium}"
if [ ! -x "$CHROME_BIN" ]; then
  echo "Chromium is missing: run apt-get update && apt-get install -y chromium"
  exit 1
fi

# Scratch folders (karma-esbuild's entry point, Chromium profiles) stay in the repo, not in /tmp.
mkdir -p .tmp/results .tmp/xdg
chmod 700 .tmp/xdg
export TMPDIR="$PWD/.tmp"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$PWD/.tmp/xdg}"
rm -f .tmp/results/node.json .tmp/results/karma.json .tmp/results/cli.json .tmp/results/node.log .tmp/results/karma.log .tmp/results/cli.log
runners="node karma"
if [ -z "${TEST_FILTER:-}" ] || echo cli | grep -Eq -- "$TEST_FILTER"; then runners="$runners cli"; fi

# Dawn (Node) on Chromium's SwiftShader Vulkan driver.
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then
  export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
fi

export TEST_SEED="${TEST_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
long=""
[ "${TEST_LONG:-}" = 1 ] && long=" TEST_LONG=1"
echo "TEST_SEED=$TEST_SEED$long (replay with: TEST_SEED=$TEST_SEED$long npm test)"

# The two runners run side by side (each mostly keeps one core busy: SwiftShader compiles shaders on
# one thread), and their logs are printed one after the other. TEST_SERIAL=1 runs them one after the
# other with live output instead.
start=$SECONDS
cli_rc=0
if [ "${TEST_SERIAL:-}" = 1 ]; then
  echo "=== Node ==="
  node scripts/run-node-tests.mjs
  node_rc=$?
  echo "=== Chromium (karma) ==="
  node_modules/.bin/karma start karma.conf.js
  karma_rc=$?
  if [[ $runners == *cli* ]]; then
    echo "=== tfjs-sparse convert ==="
    node scripts/test-cli.mjs
    cli_rc=$?
  fi
else
  echo "Running the Node and Chromium runners side by side (TEST_SERIAL=1 for one after the other)..."
  node scripts/run-node-tests.mjs > .tmp/results/node.log 2>&1 &
  node_pid=$!
  if [[ $runners == *cli* ]]; then
    node scripts/test-cli.mjs > .tmp/results/cli.log 2>&1 &
    cli_pid=$!
  fi
  node_modules/.bin/karma start karma.conf.js > .tmp/results/karma.log 2>&1
  karma_rc=$?
  wait "$node_pid"
  node_rc=$?
  if [[ $runners == *cli* ]]; then
    wait "$cli_pid"
    cli_rc=$?
  fi
  echo "=== Node ==="
  cat .tmp/results/node.log
  echo "=== Chromium (karma) ==="
  cat .tmp/results/karma.log
  if [[ $runners == *cli* ]]; then
    echo "=== tfjs-sparse convert ==="
    cat .tmp/results/cli.log
  fi
fi

node - "$((SECONDS - start))" "node:$node_rc" "karma:$karma_rc" $([[ $runners == *cli* ]] && echo "cli:$cli_rc") <<'JS'
const fs = require('fs');
const secs = Number(process.argv[2]);
const runs = process.argv.slice(3).map((a) => [a.split(':')[0], Number(a.split(':')[1])]);
let passed = 0, failed = 0, skipped = 0, bad = false;
for (const [name, rc] of runs) {
  let r;
  try {
    r = JSON.parse(fs.readFileSync(`.tmp/results/${name}.json`, 'utf8'));
  } catch {
    console.log(`${name}: crashed (exit ${rc}) before reporting results; counted as 1 failure`);
    failed += 1;
    bad = true;
    continue;
  }
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
  if (r.passed + r.failed === 0) {
    console.log(`${name}: ran no spec`);
    bad = true;
  }
  if (rc !== 0 && r.failed === 0) {
    console.log(`${name}: exited ${rc} with no failed spec; counted as 1 failure`);
    failed += 1;
  }
}
console.log(`(${secs} s)`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || bad ? 1 : 0);
JS
