/** Worker thread entry for bench/kernels.ts: builds weights (bench/build_task.ts) off the main thread. */
import {parentPort} from 'node:worker_threads';
import {BuildTask, runBuildTask} from './build_task.js';

parentPort!.on('message', (t: BuildTask) => {
  const {result, transfer} = runBuildTask(t);
  parentPort!.postMessage(result, transfer);
});
