/// <reference types="node" />
/**
 * The `tfjs-sparse` command (bin/tfjs-sparse.mjs runs the compiled file). It picks a TF.js backend for
 * the calibration runs (wasm when @tensorflow/tfjs-backend-wasm is installed, else cpu) and runs the
 * subcommand.
 */
import {enableProdMode, setBackend} from '@tensorflow/tfjs-core';
import '../index.js';
import '../graph.js';
import {convertCommand} from './convert.js';

const USAGE = `Usage: tfjs-sparse convert <model.json> <out-dir> [options]   (tfjs-sparse convert --help for the options)`;

async function pickBackend(): Promise<string | null> {
  for (const [name, pkg] of [['wasm', '@tensorflow/tfjs-backend-wasm'], ['cpu', '@tensorflow/tfjs-backend-cpu']] as const) {
    try {
      await import(pkg);
      if (await setBackend(name)) return name;
    } catch {
      // Not installed, or it did not start: try the next one.
    }
  }
  return null;
}

/** Runs the command line `argv` (without node and the script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  // Silences TF.js's banners and warnings on the console: stderr is for the command's own messages.
  enableProdMode();
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  const [command, ...rest] = argv;
  if (command == null || command === '-h' || command === '--help') {
    (command == null ? err : out)(USAGE);
    return command == null ? 1 : 0;
  }
  if (command !== 'convert') {
    err(`tfjs-sparse: unknown command '${command}'. ${USAGE}`);
    return 1;
  }
  if (!rest.includes('--help') && !rest.includes('-h') && await pickBackend() == null) {
    err('tfjs-sparse: no TF.js backend: install @tensorflow/tfjs-backend-wasm or @tensorflow/tfjs-backend-cpu');
    return 1;
  }
  return convertCommand(rest, {out, err, progressStream: process.stderr.isTTY ? process.stderr : undefined});
}
