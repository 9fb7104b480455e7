/** Worker thread entry of bench/e2e/decode.ts: runs weight tasks (weight_tasks.ts) off the main thread. */
import {parentPort} from 'node:worker_threads';
import {runWeightTask, WeightTask} from './weight_tasks.js';

parentPort!.on('message', (task: WeightTask) => {
  const {result, transfer} = runWeightTask(task);
  parentPort!.postMessage(result, transfer);
});
