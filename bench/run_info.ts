/** What a benchmark records about its run: the commit of the bundled code and the GPU's name. */
import {existsSync, readFileSync} from 'node:fs';

export interface BuildInfo {
  commit: string;
  dirty?: string[];
  builtAt?: string;
  source: string;
}

/**
 * The commit of the measured code: env BENCH_COMMIT, else build-info.json beside the bundle (written by
 * bench/prepare.sh, bench/e2e/prepare.sh and the run scripts, since the lent GPU has no git).
 */
export function readBuildInfo(): BuildInfo {
  if (process.env.BENCH_COMMIT) return {commit: process.env.BENCH_COMMIT, source: 'env BENCH_COMMIT'};
  try {
    const url = new URL('./build-info.json', import.meta.url);
    if (existsSync(url)) {
      const j = JSON.parse(readFileSync(url, 'utf8')) as BuildInfo;
      return {...j, source: url.pathname};
    }
  } catch { /* fall through */ }
  return {commit: 'unknown', source: 'none (run bench/prepare.sh or bench/run.sh, or set BENCH_COMMIT)'};
}

/** A readable GPU name ('NVIDIA H200') and a file-name slug ('nvidia-h200') from the adapter info. */
export function deviceNames(info: GPUAdapterInfo, override: string | null): {name: string; slug: string} {
  const dev = (info.device || '').replace(/-+$/, '');
  const slugify = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48) || 'gpu';
  let name: string;
  if (override) name = override;
  else if (dev && !/^0x[0-9a-f]+$/i.test(dev)) {
    name = dev.split('-').filter(Boolean)
        .map(t => (t === info.vendor || /\d/.test(t)) ? t.toUpperCase() : t[0]!.toUpperCase() + t.slice(1)).join(' ');
  } else {
    name = info.description || `${info.vendor} ${info.architecture}`.trim() || 'unknown GPU';
  }
  return {name, slug: slugify(override || (dev && !/^0x/i.test(dev) ? dev : name))};
}
