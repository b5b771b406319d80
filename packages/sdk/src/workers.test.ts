// Data-parallel training on worker threads (train({ workers })): the same weights every time for a
// seed and a worker count; the same training as one thread with the same micro-batches (up to the
// float rounding of joining batch-norm statistics); a worker that dies stops training with a typed
// error and the last checkpoint kept.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TOY, toyDataset } from '../test/toy.js';
import type { TrainConfigInput } from './config.js';
import { TrainingWorkerError } from './errors.js';
import { fileCheckpoints, readCheckpointState } from './node/checkpoint.js';
import { train } from './node/train.js';
import { startTrainingWorkers } from './node/workers.js';
import { weightsOf } from './peers.js';
import type { VideoNet } from './video_net.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saccade-workers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const data = toyDataset(8, 21);
const CONFIG: TrainConfigInput = { ...TOY, batchSize: 4, epochs: 1 };

function values(net: VideoNet): Float32Array[] {
  return weightsOf(net).map((w) => (w.read().dataSync() as Float32Array).slice());
}

function largestDifference(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((x, i) => x.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - b[i]![j]!)))));
  return worst;
}

describe('train({ workers })', () => {
  it(
    'gives the same weights every time for a seed and a worker count, and what one thread gives with the same micro-batches',
    { timeout: 120_000 },
    async () => {
      const runs: Float32Array[][] = [];
      for (const workers of [2, 2]) {
        const r = await train({ config: CONFIG, train: data, workers, maxSteps: 2 });
        runs.push(values(r.net));
        r.net.dispose();
      }
      // Bit for bit.
      expect(largestDifference(runs[0]!, runs[1]!)).toBe(0);
      // One thread, the batch in the same two micro-batches: the same sums in the same order; the
      // batch-norm statistics joined instead of updated in turn differ by float rounding only.
      const one = await train({ config: { ...CONFIG, microBatch: 2 }, train: data, maxSteps: 2 });
      const single = values(one.net);
      one.net.dispose();
      expect(largestDifference(runs[0]!, single)).toBeLessThan(1e-4);
      // And the step moved the weights (the comparison is not of two untrained networks).
      const start = await train({ config: CONFIG, train: data, maxSteps: 0 });
      expect(largestDifference(values(start.net), single)).toBeGreaterThan(1e-3);
      start.net.dispose();
    },
  );

  it('a worker that dies stops training with a TrainingWorkerError, and the last checkpoint is kept', { timeout: 120_000 }, async () => {
    const store = fileCheckpoints(join(dir, 'dies'));
    const peers = await startTrainingWorkers(1, { ...CONFIG, pretrained: false }, data.classes.length);
    try {
      const run = train({
        config: { ...CONFIG, checkpointEvery: 1 },
        train: data,
        checkpoints: store,
        peers,
        onBatch: (p) => {
          if (p.step === 1) void peers.threads[0]!.terminate();
        },
      });
      await expect(run).rejects.toThrow(TrainingWorkerError);
      await expect(run).rejects.toThrow(/training worker 1 exited/);
      // Step 1's checkpoint (checkpointEvery 1) is there and whole.
      expect((await readCheckpointState(store.path)).step).toBe(1);
    } finally {
      await peers.close();
    }
  });
});
