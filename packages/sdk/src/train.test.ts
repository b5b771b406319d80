import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TOY, toyDataset } from '../test/toy.js';
import { parseConfig } from './config.js';
import { CheckpointError, ConfigError, DatasetError } from './errors.js';
import { fileCheckpoints, readCheckpoint } from './node/checkpoint.js';
import { cosineLr } from './optimizer.js';
import { evaluate, train, type TrainResult } from './train.js';
import { createVideoNet } from './adafocus.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saccade-train-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const data = toyDataset(36, 1);
const val = toyDataset(36, 2);

function weightsOf(r: TrainResult): number[][] {
  return Object.values(r.net.models()).flatMap((m) => m.getWeights().map((w) => Array.from(w.dataSync())));
}

describe('config', () => {
  it('fills defaults that suit two cores and names the bad field', () => {
    const c = parseConfig({});
    expect([c.frames, c.frameSize, c.glanceSize, c.patchSize, c.method, c.patches]).toEqual([16, 128, 32, 48, 'adafocus_v2', 'policy']);
    expect([c.lrPolicy, c.lrGlance, c.lrFocus, c.lrClassifier]).toEqual([0.1, 0.5, 0.2, 5]);
    // lrFocus's default depends on the method and on pretrained; a given value wins; a parsed config parses to itself.
    expect([parseConfig({ method: 'uniform' }), parseConfig({ method: 'adafocus_v1' }), parseConfig({ pretrained: false }), parseConfig({ lrFocus: 1 })].map((x) => x.lrFocus)).toEqual([1, 1, 1, 1]);
    expect(parseConfig(parseConfig({ method: 'uniform' }))).toEqual(parseConfig({ method: 'uniform' }));
    expect(() => parseConfig({ lrFocus: -1 })).toThrow(/config.lrFocus:/);
    expect(() => parseConfig({ learningRate: 0.1 })).toThrow(ConfigError);
    expect(() => parseConfig({ learningRate: 0.1 })).toThrow(/config.learningRate: unknown field/);
    expect(() => parseConfig({ lr: -1 })).toThrow(/config.lr:/);
    expect(() => parseConfig({ frames: 2.5 })).toThrow(/config.frames:/);
    expect(() => parseConfig({ patchSize: 200 })).toThrow(/config.patchSize: must be <= frameSize \(128\)/);
    try {
      parseConfig({ method: 'v9' });
    } catch (error) {
      expect((error as ConfigError).field).toBe('method');
    }
  });

  it('cosine schedule: warm-up, peak, half way, end', () => {
    expect(cosineLr(1, 0, 100, 10)).toBeCloseTo(0.1);
    expect(cosineLr(1, 10, 100, 10)).toBeCloseTo(1);
    expect(cosineLr(1, 55, 100, 10)).toBeCloseTo(0.5);
    expect(cosineLr(1, 100, 100, 10)).toBeCloseTo(0);
  });
});

describe('train', () => {
  it('learns the toy task above chance, evaluates every epoch and reports per-step accuracy', async () => {
    const epochs: number[] = [];
    const r = await train({ config: { ...TOY, epochs: 4 }, train: data, val, onEpoch: (e) => epochs.push(e.val!.accuracy) });
    try {
      expect(epochs).toHaveLength(4);
      const e = evaluate(r.net, val);
      expect(e.accuracyPerStep).toHaveLength(4);
      expect(e.accuracy).toBe(epochs[3]);
      // Every prediction rule on the trained weights (the same models under another config) is well
      // above chance (1/3) on the 36 validation videos.
      for (const prediction of ['focus', 'ensemble', 'classifier'] as const) {
        const other = createVideoNet({ ...r.net.config, prediction }, r.net.classes, r.net.models());
        const acc = evaluate(other, val).accuracy;
        expect(acc, prediction).toBeGreaterThan(0.6);
      }
      // AdaFocus reports where its patches went: one (y, x) in [0, 1] per video and step, the same
      // centres as a forward pass gives.
      expect(e.centres).toHaveLength(val.length * 4 * 2);
      expect(Array.from(e.centres!).every((v) => v >= 0 && v <= 1)).toBe(true);
    } finally {
      r.net.dispose();
    }
  });

  it('resumes from a checkpoint to exactly the weights of an uninterrupted run', async () => {
    const config = { ...TOY, epochs: 2, checkpointEvery: 2 };
    const whole = await train({ config, train: data });
    const expected = weightsOf(whole);
    whole.net.dispose();
    const store = fileCheckpoints(join(dir, 'resume'));
    // "Killed" after 11 of 18 steps (mid-epoch 2), then resumed in a fresh call.
    const first = await train({ config, train: data, checkpoints: store, maxSteps: 11 });
    expect(first.stopped).toBe('maxSteps');
    first.net.dispose();
    const ck = await readCheckpoint(store.path);
    expect([ck.epoch, ck.batch, ck.step]).toEqual([1, 2, 11]);
    tf.dispose([...Object.values(ck.weights), ...Object.values(ck.optimizer)]);
    const resumed = await train({ config, train: data, checkpoints: store, resume: true });
    try {
      expect(resumed.steps).toBe(18);
      expect(resumed.history).toHaveLength(2);
      expect(weightsOf(resumed)).toEqual(expected);
    } finally {
      resumed.net.dispose();
    }
  });

  it('stops cleanly on abort with a checkpoint; refuses a checkpoint from another config; reports a corrupt one', async () => {
    const store = fileCheckpoints(join(dir, 'abort'));
    const controller = new AbortController();
    const r = await train({ config: TOY, train: data, checkpoints: store, onBatch: (p) => p.step === 2 && controller.abort(), signal: controller.signal });
    r.net.dispose();
    expect(r.stopped).toBe('aborted');
    expect(r.steps).toBe(2);
    await expect(train({ config: { ...TOY, lr: 0.01 }, train: data, checkpoints: store, resume: true })).rejects.toThrow(CheckpointError);
    const bytes = await readFile(store.path);
    await writeFile(store.path, bytes.subarray(0, bytes.byteLength - 100));
    await expect(train({ config: TOY, train: data, checkpoints: store, resume: true })).rejects.toThrow(/truncated/);
    await writeFile(store.path, 'not a checkpoint');
    await expect(readCheckpoint(store.path)).rejects.toThrow(/bad magic/);
  });

  it('gradient accumulation over micro-batches gives the same first step as the whole batch (no BN difference at batch-independent layers)', async () => {
    const a = await train({ config: { ...TOY, method: 'glance', epochs: 1 }, train: data, maxSteps: 1 });
    const b = await train({ config: { ...TOY, method: 'glance', epochs: 1, microBatch: 4 }, train: data, maxSteps: 1 });
    try {
      // Same batch size (4) and one chunk: identical.
      expect(weightsOf(a)).toEqual(weightsOf(b));
    } finally {
      a.net.dispose();
      b.net.dispose();
    }
  });

  it('rejects a dataset that does not match the config', async () => {
    await expect(train({ config: { ...TOY, frames: 8 }, train: data })).rejects.toThrow(DatasetError);
    await expect(train({ config: { ...TOY, frames: 8 }, train: data })).rejects.toThrow(/holds 4 frames of 32px, the config wants 8 of 32px/);
  });
});
