// Karma in headless Chromium: every test/**/*.spec.ts, bundled by karma-esbuild into one bundle.
// An ES module (package.json says "type": "module"): karma 6 loads it with require(), which takes ES
// modules from Node 20.19 on.
// scripts/test.sh runs it (with CHROME_BIN, TMPDIR=.tmp and TEST_SEED set); run only one karma at a
// time: karma-chrome-launcher always uses --remote-debugging-port=9222.
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const __dirname = path.dirname(fileURLToPath(import.meta.url));

const resultFile = path.join(__dirname, '.tmp', 'results', 'karma.json');

// Every test/**/*.spec.ts (the same list as scripts/run-node-tests.mjs), filtered by $TEST_FILTER (a regex).
function specFiles() {
  const filter = process.env.TEST_FILTER ? new RegExp(process.env.TEST_FILTER) : null;
  return fs.readdirSync(path.join(__dirname, 'test'), {recursive: true})
      .map((f) => 'test/' + String(f).split(path.sep).join('/'))
      .filter((f) => f.endsWith('.spec.ts') && (!filter || filter.test(f)))
      .sort();
}

/** Counts specs for scripts/test.sh (karma's own summary line is not machine-friendly). */
function CountsReporter() {
  const counts = {passed: 0, failed: 0, skipped: 0, errors: 0};
  const durations = [];
  this.onSpecComplete = (browser, result) => {
    durations.push([result.time || 0, [...result.suite, result.description].join(' ')]);
    if (result.skipped) counts.skipped++;
    else if (result.success) counts.passed++;
    else counts.failed++;
  };
  this.onBrowserError = () => {
    counts.errors++;
  };
  this.onRunComplete = (browsers, results) => {
    if (results.disconnected) counts.errors++;
    if (results.error && counts.errors === 0) counts.errors++;
    if (process.env.TEST_TIMES) {  // TEST_TIMES=n lists the n slowest specs
      durations.sort((a, b) => b[0] - a[0]);
      const top = durations.slice(0, Number(process.env.TEST_TIMES) || 15);
      process.stdout.write('\n' + top.map(([ms, name]) => `${String(ms).padStart(6)} ms  ${name}`).join('\n') + '\n');
    }
    const failed = counts.failed + counts.errors;
    fs.mkdirSync(path.dirname(resultFile), {recursive: true});
    fs.writeFileSync(resultFile, JSON.stringify({...counts, failed, total: counts.passed + failed + counts.skipped}));
    process.stdout.write(`\nkarma: ${counts.passed} passed, ${failed} failed, ${counts.skipped} skipped\n`);
  };
}

export default function(config) {
  config.set({
    basePath: __dirname,
    frameworks: ['jasmine'],
    plugins: [
      'karma-jasmine',
      'karma-esbuild',
      'karma-chrome-launcher',
      {'reporter:counts': ['type', CountsReporter]},
    ],
    files: [
      {pattern: 'test/setup/browser.ts', watched: false},
      ...specFiles().map((pattern) => ({pattern, watched: false})),
    ],
    preprocessors: {
      'test/**/*.ts': ['esbuild'],
    },
    esbuild: {
      target: 'es2022',
      singleBundle: true,
    },
    reporters: ['dots', 'counts'],
    browsers: ['ChromeHeadlessWebGPU'],
    customLaunchers: {
      ChromeHeadlessWebGPU: {
        // ChromeHeadless adds --headless and a fresh --user-data-dir in a new temporary folder (under
        // TMPDIR) for every launch.
        base: 'ChromeHeadless',
        flags: [
          '--no-sandbox',
          '--enable-unsafe-webgpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--disable-quic',
          '--no-first-run',
        ],
      },
    },
    client: {
      captureConsole: true,
      jasmine: {random: false, timeoutInterval: 60000},
      tfjsSparseSeed: process.env.TEST_SEED || '',
      tfjsSparseLong: process.env.TEST_LONG || '',
    },
    hostname: '127.0.0.1',
    listenAddress: '127.0.0.1',
    port: 9876,
    singleRun: true,
    autoWatch: false,
    concurrency: 1,
    captureTimeout: 60000,
    browserNoActivityTimeout: 120000,
    browserDisconnectTimeout: 10000,
    browserDisconnectTolerance: 0,
    failOnEmptyTestSuite: true,
    logLevel: config.LOG_WARN,
    colors: process.stdout.isTTY === true,
  });
}
