/**
 * Worker threads for data-parallel training (`train({ workers })`): each has its own tfjs backend
 * and a replica of the network (train-worker.ts). Requests and replies go in order on each
 * worker's port; a worker that dies or fails rejects what is pending, and every later call, with a
 * TrainingWorkerError naming it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import * as tf from '@tensorflow/tfjs';

import type { TrainConfigInput } from '../config.js';
import { TrainingWorkerError } from '../errors.js';
import type { Chunk, GradientPeers, PeerResult } from '../peers.js';

/** The worker's script: beside this module when built (dist), else the package's built one (tests run from the sources). */
function workerFile(): URL {
  const sibling = new URL('./train-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  const built = new URL('../../dist/train-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new TrainingWorkerError(0, `the training worker's script is not built (${fileURLToPath(built)}): build @saccade/sdk first`);
}

/**
 * The parent's Node flags without a `--conditions` that picks the packages' TypeScript sources (the
 * monorepo's tests run so): the worker runs built JavaScript, and so do the packages it imports.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if ((a === '--conditions' || a === '-C') && args[i + 1]?.includes('source')) i++;
    else if (!/^(--conditions|-C)=.*source/.test(a)) out.push(a);
  }
  return out;
}

/** Saccade's name of the current tfjs backend, for the workers to start the same one. */
function backendName(): string {
  const b = tf.getBackend();
  return b === 'tensorflow' ? 'node' : b;
}

type Reply = { type: 'ready' | 'synced' } | { type: 'result'; result: PeerResult } | { type: 'error'; name: string; message: string };

class Peer {
  private readonly pending: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private failure?: TrainingWorkerError;
  readonly ready: Promise<Reply>;

  constructor(
    readonly index: number,
    readonly worker: Worker,
  ) {
    this.ready = this.next();
    worker.on('message', (r: Reply) => {
      const p = this.pending.shift();
      if (!p) return;
      if (r.type === 'error') p.reject(new TrainingWorkerError(index, `training worker ${index} failed: ${r.name}: ${r.message}`));
      else p.resolve(r);
    });
    const fail = (why: string) => {
      this.failure ??= new TrainingWorkerError(index, `training worker ${index} ${why}; training stopped (the last checkpoint is kept)`);
      for (const p of this.pending.splice(0)) p.reject(this.failure);
    };
    worker.on('error', (e) => fail(`died: ${e.message}`));
    worker.on('exit', (code) => fail(`exited (code ${code})`));
  }

  private next(): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  request(message: unknown): Promise<Reply> {
    const reply = this.next();
    if (!this.failure) this.worker.postMessage(message);
    return reply;
  }
}

/** What `startTrainingWorkers` gives: the peers train() takes, and the threads (to watch or stop). */
export interface TrainingWorkers extends GradientPeers {
  readonly threads: readonly Worker[];
}

/** Start `count` worker threads with replicas of the network of `config` (their weights come with the first sync). */
export async function startTrainingWorkers(count: number, config: TrainConfigInput, classes: number): Promise<TrainingWorkers> {
  const file = workerFile();
  const peers = Array.from(
    { length: count },
    (_, i) => new Peer(i + 1, new Worker(file, { workerData: { config, classes, backend: backendName() }, execArgv: workerExecArgv() })),
  );
  const close = async () => {
    await Promise.all(peers.map((p) => p.worker.terminate()));
  };
  try {
    await Promise.all(peers.map((p) => p.ready));
  } catch (error) {
    await close();
    throw error;
  }
  return {
    count,
    threads: peers.map((p) => p.worker),
    async sync(weights) {
      await Promise.all(peers.map((p) => p.request({ type: 'sync', weights })));
    },
    async step(chunks: readonly Chunk[][], stage: number) {
      const replies = await Promise.all(peers.map((p, i) => p.request({ type: 'step', chunks: chunks[i] ?? [], stage })));
      return replies.map((r) => (r as { result: PeerResult }).result);
    },
    close,
  };
}
