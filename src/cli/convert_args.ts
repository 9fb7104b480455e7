/** The options of `tfjs-sparse convert`, parsed and checked; each problem is one line (a CliError). */
import {CliError} from './model_files.js';

export const CONVERT_USAGE = `Usage: tfjs-sparse convert <model.json> <out-dir> [options]

Prunes the matmul weights of a TF.js LayersModel or GraphModel and writes a model whose Dense layers
(LayersModel) or matmul nodes (GraphModel) keep them sparse.

Options:
  --sparsity <s>         fraction of each converted weight to drop, in [0, 1] (default 0.5), or 'auto'
  --budget <b>           with --sparsity auto: fraction of all converted weights to drop, spent on the
                         layers whose pruning moves the output least (needs --calibration)
  --levels <l,l,...>     with --sparsity auto: the sparsities a layer may get (default 0.5,0.6,...,0.95)
  --method <m>           magnitude (default), wanda or sparsegpt; wanda and sparsegpt need
                         --calibration
  --calibration <file>   calibration inputs, JSON: a list of batches, each {"<input name>":
                         {"shape": [...], "dtype": "float32", "data": [...]}, ...}
  --skip <pattern>       keep the layers or nodes whose name matches dense (* is a wildcard; repeatable)
  --min-weights <n>      weights with fewer entries stay dense (default 16384)
  --value-type <t>       float16 (default) or float32
  --report <file>        the JSON report (default <out-dir>/tfjs-sparse-report.json)
  -h, --help             this text`;

export interface ConvertArgs {
  model: string;
  out: string;
  sparsity: number | 'auto';
  budget?: number;
  levels?: number[];
  method: 'magnitude' | 'wanda' | 'sparsegpt';
  calibration?: string;
  skip: string[];
  minWeights?: number;
  valueType: 'float16' | 'float32';
  report?: string;
  help: boolean;
}

function fraction(v: string, what: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new CliError(`${what} must be a number, got '${v}'`);
  if (x < 0 || x > 1) throw new CliError(`${what} must be in [0, 1], got ${v}`);
  return x;
}

/** Parses the arguments after `convert`. */
export function parseConvertArgs(argv: string[]): ConvertArgs {
  const positional: string[] = [];
  const a: ConvertArgs = {model: '', out: '', sparsity: 0.5, method: 'magnitude', skip: [], valueType: 'float16', help: false};
  let sparsityText: string | undefined, budgetText: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      a.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v == null || (inline == null && v.startsWith('--'))) throw new CliError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--sparsity': sparsityText = value(); break;
      case '--budget': budgetText = value(); break;
      case '--levels': a.levels = value().split(',').map((l) => fraction(l, '--levels')); break;
      case '--method': {
        const m = value();
        if (m !== 'magnitude' && m !== 'wanda' && m !== 'sparsegpt') throw new CliError(`--method must be magnitude, wanda or sparsegpt, got '${m}'`);
        a.method = m;
        break;
      }
      case '--calibration': a.calibration = value(); break;
      case '--skip': a.skip.push(value()); break;
      case '--min-weights': {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new CliError(`--min-weights must be a non-negative integer, got '${v}'`);
        a.minWeights = n;
        break;
      }
      case '--value-type': {
        const t = value();
        if (t !== 'float16' && t !== 'float32') throw new CliError(`--value-type must be float16 or float32, got '${t}'`);
        a.valueType = t;
        break;
      }
      case '--report': a.report = value(); break;
      default: throw new CliError(`unknown option ${flag} (see tfjs-sparse convert --help)`);
    }
  }
  if (a.help) return a;
  if (positional.length !== 2) {
    throw new CliError(positional.length < 2 ? 'convert needs <model.json> and <out-dir> (see tfjs-sparse convert --help)' :
        `convert takes two paths, got ${positional.length}: ${positional.join(' ')}`);
  }
  [a.model, a.out] = positional;
  if (sparsityText === 'auto') {
    if (budgetText == null) throw new CliError('--sparsity auto needs --budget <fraction of weights to drop>');
    a.sparsity = 'auto';
    a.budget = fraction(budgetText, '--budget');
  } else {
    if (budgetText != null) throw new CliError('--budget goes with --sparsity auto');
    if (a.levels != null) throw new CliError('--levels goes with --sparsity auto');
    if (sparsityText != null) a.sparsity = fraction(sparsityText, '--sparsity');
  }
  if ((a.method !== 'magnitude' || a.sparsity === 'auto') && a.calibration == null) {
    throw new CliError(`${a.sparsity === 'auto' ? '--sparsity auto' : `--method ${a.method}`} needs --calibration <file>`);
  }
  return a;
}
