#!/usr/bin/env bash
# Bundles bench entry points with esbuild and runs the first here, in Node on Dawn (SwiftShader when
# there is no GPU). Used by bench/run.sh and bench/e2e/run.sh:
#   bash bench/run_here.sh <bundle dir> <main.ts> [worker.ts ...] -- [flags for main]
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
out=$1
shift
entries=()
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do entries+=("$1"); shift; done
[ "$#" -gt 0 ] && shift
mkdir -p "$out"
for entry in "${entries[@]}"; do
  node_modules/.bin/esbuild "$entry" --bundle --platform=node --format=esm --target=node20 \
    --main-fields=module,main --external:webgpu --log-level=warning --outfile="$out/$(basename "$entry" .ts).mjs" \
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
export OUT="${OUT:-$root/$out/results}"
exec node "$out/$(basename "${entries[0]}" .ts).mjs" "$@"
