import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { SHIPPED_FASHION_MNIST_SAMPLE } from '@saccade/video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createVideoNet } from '../create.js';
import { parseConfig } from '../config.js';
import { BundleError, ConfigError } from '../errors.js';
import { checkPretrained, initBackbones, type Pretrained } from '../pretrained.js';
import { train as trainUniversal } from '../train.js';
import { toyDataset } from '../../test/toy.js';
import { evaluatePretrained, loadPretrained, pretrainBackbones } from './pretrain.js';

const SMALL = { frames: 4, frameSize: 64, glanceSize: 16, patchSize: 32, glanceWidth: 0.25, focusWidth: 0.25, policyHidden: 8, classifierWidth: 16 };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saccade-pretrain-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const dispose = (p: Pretrained) => {
  p.glance.dispose();
  p.focus.dispose();
};

describe('pretrainBackbones', () => {
  it('trains both backbones on composed frames, saves them atomically and loads them back identical', async () => {
    const out = join(dir, 'small');
    const steps: number[] = [];
    const info = await pretrainBackbones({
      out,
      config: SMALL,
      source: SHIPPED_FASHION_MNIST_SAMPLE,
      images: 64,
      valImages: 32,
      batchSize: 32,
      itemSize: 24,
      jitter: 4,
      seed: 1,
      onStep: (p) => steps.push(p.step),
    });
    expect(steps).toEqual([1, 2]);
    expect(info).toMatchObject({ glanceBackbone: 'resnet_small', glanceWidth: 0.25, focusWidth: 0.25, patchSize: 32, images: 64, source: 'option' });
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
    // Pretraining again into the same folder replaces it whole (moved aside, then removed).
    const again = await pretrainBackbones({
      out,
      config: SMALL,
      source: SHIPPED_FASHION_MNIST_SAMPLE,
      images: 32,
      valImages: 16,
      batchSize: 32,
      itemSize: 24,
      jitter: 4,
      seed: 2,
    });
    expect(again.seed).toBe(2);
    expect((await readdir(dir)).sort()).toEqual(['small']);
    const info1 = await loadPretrained(out);
    expect(info1.info.seed).toBe(2);
    dispose(info1);
    let trained: { glance: number[][]; focus: number[][] } | undefined;
    const weights = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
    await pretrainBackbones({
      out,
      config: SMALL,
      source: SHIPPED_FASHION_MNIST_SAMPLE,
      images: 64,
      valImages: 32,
      batchSize: 32,
      itemSize: 24,
      jitter: 4,
      seed: 1,
      onTrained: (m) => void (trained = { glance: weights(m.glance), focus: weights(m.focus) }),
    });
    const a = await loadPretrained(out);
    const b = await loadPretrained(out);
    try {
      // The saved and loaded weights are the trained ones, every value.
      expect(trained).toBeDefined();
      expect(weights(a.glance)).toEqual(trained!.glance);
      expect(weights(a.focus)).toEqual(trained!.focus);
      // The accuracies it records are what evaluatePretrained measures on the same held-out frames.
      const measured = await evaluatePretrained(a, { source: SHIPPED_FASHION_MNIST_SAMPLE, images: 32, itemSize: 24, jitter: 4, seed: 1 });
      expect([measured.glanceAccuracy, measured.focusAccuracy]).toEqual([a.info.glanceAccuracy, a.info.focusAccuracy]);
      const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 5);
      const [ya, yb] = [a, b].map((p) => tf.tidy(() => (p.focus.apply(x) as tf.Tensor[])[2]!.dataSync()));
      expect(Array.from(ya!)).toEqual(Array.from(yb!));
      x.dispose();
      // Transfer into a fresh network: the backbones hold the pretrained weights, the rest is fresh.
      const net = createVideoNet({ ...SMALL, seed: 9 }, 10);
      try {
        initBackbones(net, a);
        const same = (m1: tf.LayersModel, m2: tf.LayersModel) =>
          m1.getWeights().every((w, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(w, m2.getWeights()[i]!))).dataSync()[0]) === 0);
        expect(same(net.models()['glance']!, a.glance)).toBe(true);
        expect(same(net.models()['focus']!, a.focus)).toBe(true);
      } finally {
        net.dispose();
      }
      // A network of another width does not fit: a ConfigError on the 'pretrained' field.
      const wide = createVideoNet({ ...SMALL, focusWidth: 0.5 }, 10);
      try {
        expect(() => initBackbones(wide, a)).toThrow(ConfigError);
        expect(() => initBackbones(wide, a)).toThrow(/focus resnet_small x0.25, config resnet_small x0.5/);
      } finally {
        wide.dispose();
      }
    } finally {
      dispose(a);
      dispose(b);
    }
  });

  it('train() without weights for a pretrained config, and a folder that is not one, are clear errors', async () => {
    const data = toyDataset(8, 1);
    await expect(trainUniversal({ config: { ...SMALL, frameSize: 32, patchSize: 16, pretrained: true }, train: data })).rejects.toThrow(
      /pretrained.*no weights were given/,
    );
    await expect(loadPretrained(dir)).rejects.toBeInstanceOf(BundleError);
  });
});

describe('the shipped pretrained backbones', () => {
  it('fit the default config and recognise held-out items far above chance (10%)', async () => {
    const p = await loadPretrained();
    try {
      expect(() => checkPretrained(p.info, parseConfig({}))).not.toThrow();
      expect(() => checkPretrained(p.info, parseConfig({ method: 'uniform' }))).not.toThrow();
      // Test-split images of the shipped sample, composed as in the benchmark.
      const r = await evaluatePretrained(p, { source: SHIPPED_FASHION_MNIST_SAMPLE, images: 300, seed: 4 });
      expect(r.images).toBe(300);
      expect(r.focusAccuracy).toBeGreaterThan(0.6);
      expect(r.glanceAccuracy).toBeGreaterThan(0.3);
    } finally {
      dispose(p);
    }
  });
});
