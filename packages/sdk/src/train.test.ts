import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TOY, toyDataset } from '../test/toy.js';
import { configFields, parseConfig, withoutIdleFields } from './config.js';
import { datasetFromArrays } from './dataset.js';
import { CheckpointError, ConfigError, DatasetError } from './errors.js';
import { fileCheckpoints, readCheckpoint } from './node/checkpoint.js';
import { cosineLr } from './optimizer.js';
import { evaluate, train, type TrainResult } from './train.js';
import { createVideoNet } from './create.js';

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
    expect(
      [parseConfig({ method: 'uniform' }), parseConfig({ method: 'adafocus_v1' }), parseConfig({ pretrained: false }), parseConfig({ lrFocus: 1 })].map(
        (x) => x.lrFocus,
      ),
    ).toEqual([1, 1, 1, 1]);
    expect(parseConfig(parseConfig({ method: 'uniform' }))).toEqual(parseConfig({ method: 'uniform' }));
    // Each method's config holds the shared fields and its own: a field of another method is refused, naming its method.
    expect(() => parseConfig({ grid: 3 })).toThrow(/config\.grid: 3 is for method adafocus_v1 \/ adafocus_v1_tsm and does nothing for adafocus_v2/);
    expect(() => parseConfig({ method: 'adafocus_v1', focusFrames: 4, prediction: 'ensemble' })).toThrow(/config\.focusFrames: 4 is for method uni_adafocus/);
    expect(() => parseConfig({ method: 'uniform', policyHidden: 64 })).toThrow(
      /config\.policyHidden: 64 is for method adafocus_v2 \/ adafocus_v1 \/ adafocus_v1_tsm and does nothing/,
    );
    expect(() => parseConfig({ method: 'adafocus_v5' })).toThrow(
      /config\.method: unknown method "adafocus_v5"; registered: adafocus_v2, adafocus_v1, adafocus_v1_tsm, uni_adafocus, uniform, glance/,
    );
    // The retired simplified V3: refused, naming what replaced it.
    expect(() => parseConfig({ method: 'adafocus_v3' })).toThrow(
      /config\.method: adafocus_v3 was Saccade's simplified AdaFocus V3 .* Uni-AdaFocus replaced it \(method uni_adafocus/,
    );
    expect(parseConfig({ method: 'adafocus_v1', grid: 3, stages: 2 })).toMatchObject({ grid: 3, stages: 2 });
    expect(Object.keys(parseConfig({ method: 'uniform' }))).toEqual(configFields('uniform'));
    expect(Object.keys(parseConfig({ method: 'uni_adafocus' }))).toEqual(expect.arrayContaining(['glanceFrames', 'focusFrames', 'sideMin']));
    expect(Object.keys(parseConfig({ method: 'uni_adafocus' }))).not.toContain('grid');
    // A whole config file of another method: the fields at their default are dropped, one set otherwise stays (and is refused).
    const whole = { ...parseConfig({ method: 'adafocus_v1' }), ...parseConfig({}), method: 'uniform' };
    expect(Object.keys(parseConfig(withoutIdleFields(whole, 'uniform')))).toEqual(configFields('uniform'));
    expect(() => parseConfig(withoutIdleFields({ ...whole, grid: 5 }, 'uniform'))).toThrow(/config\.grid: 5 is for method adafocus_v1/);
    // microBatch's default is the uniform baseline's 2 (memory), 0 for the others; a given value wins.
    expect([parseConfig({ method: 'uniform' }), parseConfig({}), parseConfig({ method: 'uniform', microBatch: 0 })].map((x) => x.microBatch)).toEqual([
      2, 0, 0,
    ]);
    expect(() => parseConfig({ lrFocus: -1 })).toThrow(/config.lrFocus:/);
    expect(() => parseConfig({ learningRate: 0.1 })).toThrow(ConfigError);
    expect(() => parseConfig({ learningRate: 0.1 })).toThrow(/config.learningRate: unknown field/);
    expect(() => parseConfig({ lr: -1 })).toThrow(/config.lr:/);
    expect(() => parseConfig({ frames: 2.5 })).toThrow(/config.frames:/);
    expect(() => parseConfig({ patchSize: 200 })).toThrow(/config.patchSize: must be <= frameSize \(128\)/);
    const error = (() => {
      try {
        parseConfig({ method: 'v9' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('method');
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

  it('gradient accumulation: a step over micro-batches is the mean of the steps each micro-batch would take alone', async () => {
    // SGD's first step is linear in the gradient (momentum starts from it, weight decay adds the
    // same term to each), so the accumulated step over two micro-batches of 2 must be the mean of
    // the steps that each pair of videos takes as a whole batch of 2 (batch norm sees the same pair
    // either way). Which videos form each micro-batch is read from the order the trainer asks for them.
    const config = { ...TOY, method: 'glance' as const, epochs: 1, optimizer: 'sgd' as const, lr: 0.05, flip: false, warmupEpochs: 0 };
    const four = toyDataset(4, 5);
    const asked: number[] = [];
    const spy = { ...four, video: (i: number) => (asked.push(i), four.video(i)) };
    const trainable = (r: TrainResult) => Object.values(r.net.models()).flatMap((m) => m.trainableWeights.map((w) => Float64Array.from(w.read().dataSync())));
    const initial = await train({ config, train: four, maxSteps: 0 });
    const w0 = trainable(initial);
    initial.net.dispose();
    const acc = await train({ config: { ...config, microBatch: 2 }, train: spy, maxSteps: 1 });
    const wAcc = trainable(acc);
    acc.net.dispose();
    const chunks = [asked.slice(0, 2), asked.slice(2, 4)];
    expect(new Set(asked.slice(0, 4)).size).toBe(4);
    const alone: Float64Array[][] = [];
    for (const chunk of chunks) {
      const pair = datasetFromArrays({
        classes: four.classes,
        frames: 4,
        size: 32,
        labels: chunk.map((i) => four.label(i)),
        videos: chunk.map((i) => four.video(i)),
      });
      const r = await train({ config: { ...config, batchSize: 2 }, train: pair, maxSteps: 1 });
      alone.push(trainable(r));
      r.net.dispose();
    }
    let worst = 0;
    let moved = 0;
    w0.forEach((w, t) => {
      for (let i = 0; i < w.length; i++) {
        const expected = w[i]! + 0.5 * (alone[0]![t]![i]! - w[i]!) + 0.5 * (alone[1]![t]![i]! - w[i]!);
        worst = Math.max(worst, Math.abs(wAcc[t]![i]! - expected));
        moved = Math.max(moved, Math.abs(wAcc[t]![i]! - w[i]!));
      }
    });
    expect(moved).toBeGreaterThan(1e-3);
    expect(worst).toBeLessThan(1e-5 + 1e-3 * moved);
  });

  it('rejects a dataset that does not match the config', async () => {
    await expect(train({ config: { ...TOY, frames: 8 }, train: data })).rejects.toThrow(DatasetError);
    await expect(train({ config: { ...TOY, frames: 8 }, train: data })).rejects.toThrow(/holds 4 frames of 32px, the config wants 8 of 32px/);
  });
});
