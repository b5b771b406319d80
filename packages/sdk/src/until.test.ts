// Training until the validation accuracy stops improving: patience, a time budget, the best epoch's
// weights kept (in the checkpoint too), and a resumed run that had stopped staying stopped.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TOY, toyDataset } from '../test/toy.js';
import { ConfigError } from './errors.js';
import { fileCheckpoints } from './node/checkpoint.js';
import { train, type TrainResult } from './train.js';
import type { VideoNet } from './video_net.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saccade-until-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const data = toyDataset(16, 2);
const val = toyDataset(8, 3);
// 6 epochs at most; the schedule spans them.
const config = { ...TOY, epochs: 6, batchSize: 8 };

function weightsOf(net: VideoNet): number[] {
  return Object.values(net.models()).flatMap((m) => m.getWeights().flatMap((w) => Array.from(w.dataSync())));
}

async function weightsAfter(run: Promise<TrainResult>): Promise<{ r: TrainResult; w: number[] }> {
  const r = await run;
  try {
    return { r, w: weightsOf(r.net) };
  } finally {
    r.net.dispose();
  }
}

describe('train({ until })', () => {
  it('stops once patience epochs have not beaten the best, and returns the best epoch’s weights', async () => {
    // minDelta 1: no epoch can beat the first by more than 100 points, so epochs 2 and 3 are the patience.
    const { r, w } = await weightsAfter(train({ config, train: data, val, until: { patience: 2, minDelta: 1 } }));
    expect(r.stopped).toBe('plateau');
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(r.bestEpoch).toBe(1);
    // The weights after epoch 1 of the same 6-epoch schedule.
    const first = await weightsAfter(train({ config, train: data, maxSteps: 2 }));
    expect(first.r.steps).toBe(2);
    expect(w).toEqual(first.w);
    // Without minDelta the best epoch is the one with the highest validation accuracy (the first of equals).
    const plain = await weightsAfter(train({ config, train: data, val, until: { patience: 6 } }));
    expect(plain.r.stopped).toBeUndefined();
    expect(plain.r.history).toHaveLength(6);
    const accuracies = plain.r.history.map((h) => h.val!.accuracy);
    expect(plain.r.bestEpoch).toBe(accuracies.indexOf(Math.max(...accuracies)) + 1);
  }, 300_000);

  it('stops when the epochs so far took the time budget', async () => {
    const r = await train({ config, train: data, val, until: { patience: 5, timeBudgetSeconds: 1e-6 } });
    try {
      expect(r.stopped).toBe('timeBudget');
      expect(r.history).toHaveLength(1);
      expect(r.bestEpoch).toBe(1);
    } finally {
      r.net.dispose();
    }
  }, 120_000);

  it('keeps the best weights in the checkpoint: interrupted and resumed, it ends as one run would; a stopped run resumed stays stopped', async () => {
    const until = { patience: 2, minDelta: 1 };
    const once = await weightsAfter(train({ config, train: data, val, until }));
    const store = fileCheckpoints(join(dir, 'run'));
    // Interrupted in epoch 2, after epoch 1 (the best) was checkpointed.
    const cut = await weightsAfter(train({ config, train: data, val, until, checkpoints: store, maxSteps: 3 }));
    expect(cut.r.stopped).toBe('maxSteps');
    const resumed = await weightsAfter(train({ config, train: data, val, until, checkpoints: store, resume: true }));
    expect(resumed.r.stopped).toBe('plateau');
    expect(resumed.r.bestEpoch).toBe(1);
    expect(resumed.w).toEqual(once.w);
    expect(resumed.r.history.map((h) => h.val!.accuracy)).toEqual(once.r.history.map((h) => h.val!.accuracy));
    const again = await weightsAfter(train({ config, train: data, val, until, checkpoints: store, resume: true }));
    expect(again.r.stopped).toBe('plateau');
    expect(again.r.stepsThisCall).toBe(0);
    expect(again.w).toEqual(once.w);
  }, 300_000);

  it('needs a validation set and sensible numbers', async () => {
    await expect(train({ config, train: data, until: { patience: 2 } })).rejects.toThrow(ConfigError);
    await expect(train({ config, train: data, val, until: { patience: 0 } })).rejects.toThrow(/until.patience: must be a whole number/);
    await expect(train({ config, train: data, val, until: { patience: 1, timeBudgetSeconds: -1 } })).rejects.toThrow(/timeBudgetSeconds/);
  });
});
