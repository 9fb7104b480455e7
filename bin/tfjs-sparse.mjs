#!/usr/bin/env node
// The tfjs-sparse command: runs the compiled CLI in dist/ (built by `npm run build`, which `npm ci` and
// `npm install` run through the prepare script).
import {existsSync} from 'node:fs';

const cli = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('tfjs-sparse: dist/cli/main.js is missing: run `npm run build` in the tfjs-sparse package first\n');
  process.exit(1);
}
const {main} = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
