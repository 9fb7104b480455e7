#!/usr/bin/env bash
# Runs bench/kernels.ts here in Node on Dawn (SwiftShader when there is no GPU): `npm run bench`
# runs `bash bench/run.sh --quick`; extra flags go after `--`, e.g. `npm run bench -- --M 1`.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
out=.tmp/bench
mkdir -p "$out"
for entry in kernels encode_worker; do
  node_modules/.bin/esbuild "bench/$entry.ts" --bundle --platform=node --format=esm --target=node20 \
    --main-fields=module,main --external:webgpu --log-level=warning --outfile="$out/$entry.mjs" \
    --banner:js="import { createRequire as __kitRequire } from 'module'; const require = __kitRequire(import.meta.url);"
done
bash bench/build_info.sh > "$out/build-info.json"
# No GPU here: Chromium's SwiftShader, and its Vulkan loader when the system has none.
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && [ -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then
  export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' && [ -f /usr/lib/chromium/libvulkan.so.1 ]; then
  export LD_LIBRARY_PATH=/usr/lib/chromium${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
# Results from here (SwiftShader) stay out of bench/results, which holds the lent GPU's.
export OUT="${OUT:-$root/.tmp/bench/results}"
exec node "$out/kernels.mjs" "$@"
