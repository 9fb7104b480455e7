/**
 * Worker threads for the weight tasks: drawing and encoding a billion weights takes minutes on one core.
 * Runs the tasks inline when the worker bundle (weight_worker.mjs beside this file) is missing.
 */
import {existsSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {Worker} from 'node:worker_threads';
import {runWeightTask, WeightResult, WeightTask} from './weight_tasks.js';

type Pending = {task: WeightTask; resolve: (r: WeightResult) => void; reject: (e: Error) => void};

export class WeightPool {
  readonly size: number;
  readonly mode: 'workers' | 'inline';
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly running = new Map<Worker, Pending>();

  constructor(workers: number) {
    const url = new URL('./weight_worker.mjs', import.meta.url);
    const file = url.protocol === 'file:' ? fileURLToPath(url) : '';
    this.mode = file && existsSync(file) && workers >= 1 ? 'workers' : 'inline';
    this.size = this.mode === 'workers' ? workers : 1;
    if (this.mode === 'workers') for (let i = 0; i < workers; i++) this.idle.push(this.spawn(file));
  }

  /** Runs a task; rejects with the task's error. */
  run(task: WeightTask): Promise<WeightResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({task, resolve, reject});
      if (this.mode === 'inline') setImmediate(() => this.runInline());
      else this.pump();
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.idle, ...this.running.keys()].map((w) => w.terminate()));
  }

  private runInline(): void {
    const p = this.queue.shift();
    if (!p) return;
    const {result} = runWeightTask(p.task);
    if (result.error) p.reject(new Error(result.error));
    else p.resolve(result);
  }

  private spawn(file: string): Worker {
    const w = new Worker(file);
    w.on('message', (result: WeightResult) => {
      const p = this.running.get(w)!;
      this.running.delete(w);
      w.unref();
      this.idle.push(w);
      if (result.error) p.reject(new Error(result.error));
      else p.resolve(result);
      this.pump();
    });
    w.on('error', (e) => {
      const p = this.running.get(w);
      this.running.delete(w);
      p?.reject(e instanceof Error ? e : new Error(String(e)));
      this.pump();
    });
    w.unref();
    return w;
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const p = this.queue.shift()!;
      this.running.set(w, p);
      w.ref();  // a busy worker keeps the process alive until its answer arrives
      w.postMessage(p.task);
    }
  }
}
