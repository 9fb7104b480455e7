/** The CLI's printed report: one line per layer or node, then the totals. */

/** One converted-or-not layer (LayersModel) or node (GraphModel), as the CLI reports it. */
export interface CliLayerRow {
  name: string;
  /** Layer class or op. */
  kind: string;
  shape: [number, number] | null;
  sparse: boolean;
  sparsity: number | null;
  bytesBefore: number;
  bytesAfter: number;
  reason?: string;
}

/** Whole-model sizes: the model directory on disk, and the weights as tensors on the GPU (or backend). */
export interface CliTotals {
  diskBytesBefore: number;
  diskBytesAfter: number;
  gpuBytesBefore: number;
  gpuBytesAfter: number;
  /** Over the listed layers' weights. */
  matmulBytesBefore: number;
  matmulBytesAfter: number;
  /** Fraction of zero weights over the listed layers' weights. */
  sparsity: number;
}

const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
const pct = (x: number | null) => x == null ? '-' : `${(100 * x).toFixed(1)}%`;

/** Long graph node names keep their end, which says the most. */
function shorten(name: string, width: number): string {
  return name.length <= width ? name : `…${name.slice(name.length - width + 1)}`;
}

export function formatReport(rows: CliLayerRow[], totals: CliTotals): string[] {
  const width = Math.min(64, Math.max(4, ...rows.map((r) => r.name.length)));
  const lines = [
    `${'name'.padEnd(width)}  ${'op'.padEnd(13)} ${'shape'.padEnd(11)} ${'sparsity'.padStart(8)} ${'before'.padStart(10)} ${'after'.padStart(10)}`,
  ];
  for (const r of rows) {
    const shape = r.shape ? `${r.shape[0]}×${r.shape[1]}` : '-';
    const bytes = (b: number) => (r.shape ? mb(b) : '-').padStart(10);
    lines.push(`${shorten(r.name, width).padEnd(width)}  ${r.kind.padEnd(13)} ${shape.padEnd(11)} ${pct(r.sparsity).padStart(8)} ` +
        `${bytes(r.bytesBefore)} ${bytes(r.bytesAfter)}${r.sparse ? '' : `  dense: ${r.reason ?? ''}`}`);
  }
  const ratio = (a: number, b: number) => b > 0 ? ` (${(a / b).toFixed(3)}×)` : '';
  lines.push(
      '',
      `matmul weights: ${mb(totals.matmulBytesBefore)} → ${mb(totals.matmulBytesAfter)}${ratio(totals.matmulBytesAfter, totals.matmulBytesBefore)}, ` +
        `${pct(totals.sparsity)} zeros`,
      `model on disk:  ${mb(totals.diskBytesBefore)} → ${mb(totals.diskBytesAfter)}${ratio(totals.diskBytesAfter, totals.diskBytesBefore)}`,
      `weights on GPU: ${mb(totals.gpuBytesBefore)} → ${mb(totals.gpuBytesAfter)}${ratio(totals.gpuBytesAfter, totals.gpuBytesBefore)}`,
  );
  return lines;
}
