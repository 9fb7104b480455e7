/**
 * A pool of worker threads running bench/build_task.ts. Encoding an 8192×8192 matrix takes seconds in
 * Node, and the full sweep encodes 64 of them, so they run in parallel on the CPU cores. Falls back to
 * running the tasks inline when the worker bundle (encode_worker.mjs beside this file) is missing.
 */
import {existsSync} from 'node:fs';
import {availableParallelism} from 'node:os';
import {fileURLToPath} from 'node:url';
import {Worker} from 'node:worker_threads';
import {BuildResult, BuildTask, runBuildTask} from './build_task.js';

type Pending = {task: BuildTask; resolve: (r: BuildResult) => void; reject: (e: Error) => void};

export class BuildPool {
  readonly size: number;
  readonly mode: 'workers' | 'inline';
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly running = new Map<Worker, Pending>();
  private nextId = 0;

  constructor(maxWorkers = availableParallelism()) {
    const url = new URL('./encode_worker.mjs', import.meta.url);
    const file = url.protocol === 'file:' ? fileURLToPath(url) : '';
    if (file && existsSync(file) && maxWorkers >= 1) {
      this.mode = 'workers';
      this.size = Math.max(1, maxWorkers);
      for (let i = 0; i < this.size; i++) this.idle.push(this.spawn(file));
    } else {
      this.mode = 'inline';
      this.size = 1;
    }
  }

  private spawn(file: string): Worker {
    const w = new Worker(file);
    w.on('message', (r: BuildResult) => {
      const p = this.running.get(w);
      this.running.delete(w);
      w.unref();
      this.idle.push(w);
      if (p) {
        if (r.error) p.reject(new Error(r.error));
        else p.resolve(r);
      }
      this.pump();
    });
    w.on('error', e => {
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

  run(task: Omit<BuildTask, 'id'>): Promise<BuildResult> {
    const t: BuildTask = {...task, id: this.nextId++};
    if (this.mode === 'inline') {
      return new Promise((resolve, reject) => {
        // Yield first so that progress lines print between tasks.
        setImmediate(() => {
          const {result} = runBuildTask(t);
          if (result.error) reject(new Error(result.error));
          else resolve(result);
        });
      });
    }
    return new Promise((resolve, reject) => {
      this.queue.push({task: t, resolve, reject});
      this.pump();
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.idle, ...this.running.keys()].map(w => w.terminate()));
  }
}
