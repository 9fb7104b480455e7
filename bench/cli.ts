/** Command-line parsing shared by the benches (bench/kernels.ts, bench/e2e/decode.ts). */

/** A comma-separated list of finite numbers; `what` names the flag in the error. */
export function parseNumbers(s: string, what: string): number[] {
  const v = s.split(',').map((t) => t.trim()).filter(Boolean).map(Number);
  if (v.length === 0 || v.some((x) => !Number.isFinite(x))) throw new Error(`bad ${what}: '${s}'`);
  return v;
}

/**
 * Calls `on` for each flag of argv in order. `value()` takes the flag's argument (an error when there is
 * none); `optional()` takes it only when the next word is not itself a flag.
 */
export function eachFlag(argv: string[], on: (flag: string, value: () => string, optional: () => string | undefined) => void): void {
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v == null) throw new Error(`${flag} needs a value`);
      return v;
    };
    const optional = (): string | undefined => {
      const next = argv[i + 1];
      return next != null && !next.startsWith('--') ? argv[++i] : undefined;
    };
    on(flag, value, optional);
  }
}

/** `value` when it is one of `options`, else an error naming `flag` and the options. */
export function choice<T extends string>(flag: string, value: string, options: readonly T[]): T {
  if (!(options as readonly string[]).includes(value)) throw new Error(`${flag} takes ${options.join(' or ')}`);
  return value as T;
}
