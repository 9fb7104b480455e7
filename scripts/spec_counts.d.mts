/** Types of scripts/spec_counts.mjs. */
export interface SpecCounts {passed: number; failed: number; skipped: number}

export function specCounter(prefix: string): {counts: SpecCounts; durations: Array<[number, string]>; reporter: object};
