/**
 * A pool of worker threads, each running a bundled worker entry that answers every posted task with one
 * result (bench/encode_worker.ts for the kernel sweep, bench/e2e/weight_worker.ts for the decoder).
 * Drawing and encoding weights takes seconds per matrix in Node, so the benches spread them over the
 * cores. Runs the tasks inline, one at a time, when the worker bundle is missing (an unbundled run).
 */
import {existsSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {Worker} from 'node:worker_threads';

type Pending<T, R> = {task: T; resolve: (r: R) => void; reject: (e: Error) => void};

export class WorkerPool<T, R extends {error?: string}> {
  readonly size: number;
  readonly mode: 'workers' | 'inline';
  private readonly idle: Worker[] = [];
  private readonly queue: Array<Pending<T, R>> = [];
  private readonly running = new Map<Worker, Pending<T, R>>();

  /** `worker`: the bundle's URL; `inline` runs a task on this thread as the worker would. */
  constructor(worker: URL, workers: number, private readonly inline: (task: T) => {result: R}) {
    const file = worker.protocol === 'file:' ? fileURLToPath(worker) : '';
    this.mode = file && existsSync(file) && workers >= 1 ? 'workers' : 'inline';
    this.size = this.mode === 'workers' ? workers : 1;
    if (this.mode === 'workers') for (let i = 0; i < workers; i++) this.idle.push(this.spawn(file));
  }

  /** Runs a task; rejects with the task's error. */
  run(task: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({task, resolve, reject});
      // Inline: yield first, so that progress lines print between tasks.
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
    const {result} = this.inline(p.task);
    if (result.error) p.reject(new Error(result.error));
    else p.resolve(result);
  }

  private spawn(file: string): Worker {
    const w = new Worker(file);
    w.on('message', (result: R) => {
      const p = this.running.get(w);
      this.running.delete(w);
      w.unref();
      this.idle.push(w);
      if (p) {
        if (result.error) p.reject(new Error(result.error));
        else p.resolve(result);
      }
      this.pump();
    });
    w.on('error', (e) => {
      const p = this.running.get(w);
      this.running.delete(w);
      p?.reject(e instanceof Error ? e : new Error(String(e)));
      // Replace the dead worker and go on with the queue.
      try {
        this.idle.push(this.spawn(file));
      } catch { /* run the rest with fewer workers */ }
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
