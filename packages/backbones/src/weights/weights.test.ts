import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { Rng } from '@saccade/tensor';
import { fileIO } from '@saccade/tensor/node';
import { afterAll, describe, expect, it } from 'vitest';

import { createBackbone, type BackboneOptions } from '../backbone.js';
import { WeightFormatError, WeightMismatchError } from '../errors.js';
import { loadKerasWeights } from './keras.js';
import { readSafetensors } from './safetensors.js';
import { loadTorchvisionWeights, saveTorchvisionWeights } from './torchvision.js';

const root = await mkdtemp(join(tmpdir(), 'saccade-weights-'));
afterAll(() => rm(root, { recursive: true, force: true }));

/** A backbone whose batch-norm statistics are random too, so every tensor's mapping is exercised. */
function randomised(name: string, options: BackboneOptions) {
  const b = createBackbone(name, options);
  const rng = new Rng(options.seed ?? 0);
  for (const w of b.model.weights) {
    if (/moving_(mean|variance)$/.test(w.originalName)) {
      const n = w.shape.reduce((a: number, d) => a * (d ?? 1), 1);
      tf.tidy(() => {
        w.write(tf.tensor(rng.uniformArray(n, 0.5, 1.5), w.shape as number[]));
      });
    }
  }
  return b;
}

function outputs(model: tf.LayersModel, size: number): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.randomUniform([2, size, size, 3], -1, 1, 'float32', 5);
    return (model.predict(x) as tf.Tensor[]).map((t) => Float32Array.from(t.dataSync()));
  });
}

describe('torchvision safetensors', () => {
  it.each([
    [
      'resnet18',
      64,
      122,
      [
        ['conv1.weight', [64, 3, 7, 7]],
        ['layer2.0.downsample.0.weight', [128, 64, 1, 1]],
        ['fc.weight', [1000, 512]],
      ],
    ],
    [
      'resnet50',
      64,
      320,
      [
        ['layer1.0.conv3.weight', [256, 64, 1, 1]],
        ['layer4.2.bn3.running_var', [2048]],
        ['layer1.0.bn1.num_batches_tracked', []],
      ],
    ],
    [
      'mobilenet_v2',
      64,
      314,
      [
        ['features.0.0.weight', [32, 3, 3, 3]],
        ['features.1.conv.0.0.weight', [32, 1, 3, 3]],
        ['features.2.conv.1.0.weight', [96, 1, 3, 3]],
        ['features.18.0.weight', [1280, 320, 1, 1]],
        ['classifier.1.weight', [1000, 1280]],
      ],
    ],
  ] as const)('%s: torchvision names and layouts, and a round trip with identical outputs', (name, size, keys, expected) => {
    const a = randomised(name, { inputSize: size, numClasses: 1000, seed: 1 });
    const b = createBackbone(name, { inputSize: size, numClasses: 1000, seed: 2 });
    try {
      const bytes = saveTorchvisionWeights(a.model);
      const entries = readSafetensors(bytes);
      expect(entries.size).toBe(keys);
      for (const [key, shape] of expected) expect(entries.get(key)?.shape, key).toEqual(shape);
      const report = loadTorchvisionWeights(b.model, bytes);
      expect(report.loaded).toBe(a.model.weights.length);
      const [oa, ob] = [outputs(a.model, size), outputs(b.model, size)];
      oa.forEach((o, i) => expect(Array.from(ob[i]!)).toEqual(Array.from(o)));
    } finally {
      a.model.dispose();
      b.model.dispose();
    }
  });

  it('lists every mismatch and loads nothing when the architecture differs', () => {
    const small = createBackbone('resnet18', { inputSize: 64, numClasses: 10, seed: 1 });
    const big = createBackbone('resnet34', { inputSize: 64, numClasses: 10, seed: 2 });
    try {
      const before = Array.from(big.model.getLayer('conv1_conv').getWeights()[0]!.dataSync());
      const bytes = saveTorchvisionWeights(small.model);
      let error: unknown;
      try {
        loadTorchvisionWeights(big.model, bytes);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(WeightMismatchError);
      const message = (error as Error).message;
      expect(message).toMatch(/missing: layer1\.2\.conv1\.weight/);
      expect(message).toMatch(/missing: layer3\.5\.bn2\.running_var/);
      expect((error as WeightMismatchError).mismatches.length).toBeGreaterThan(10);
      expect(Array.from(big.model.getLayer('conv1_conv').getWeights()[0]!.dataSync())).toEqual(before);
    } finally {
      small.model.dispose();
      big.model.dispose();
    }
  });

  it('rejects a truncated file with a WeightFormatError', () => {
    const b = createBackbone('resnet_small', { seed: 1 });
    try {
      const bytes = saveTorchvisionWeights(b.model);
      expect(() => loadTorchvisionWeights(b.model, bytes.subarray(0, bytes.byteLength - 100))).toThrow(WeightFormatError);
      expect(() => loadTorchvisionWeights(b.model, bytes.subarray(0, 4))).toThrow(/too short/);
    } finally {
      b.model.dispose();
    }
  });
});

describe('Keras weights in the tfjs layers format', () => {
  it.each([
    [
      'mobilenet_v2',
      { inputSize: 64, numClasses: 1000, padding: 'keras', bnEpsilon: 1e-3 },
      [
        'Conv1/kernel',
        'bn_Conv1/moving_variance',
        'expanded_conv_depthwise/depthwise_kernel',
        'block_16_project_BN/gamma',
        'Conv_1_bn/beta',
        'predictions/bias',
      ],
    ],
    [
      'resnet50',
      { inputSize: 64, numClasses: 1000, padding: 'keras', strideIn: '1x1', bnEpsilon: 1.001e-5 },
      ['conv1_conv/kernel', 'conv2_block1_0_conv/kernel', 'conv5_block3_3_bn/moving_mean', 'predictions/kernel'],
    ],
  ] as const)('%s: Keras names, and a round trip through model.json with identical outputs', async (name, options, names) => {
    const dir = join(root, name);
    const a = randomised(name, { ...options, seed: 1 });
    const b = createBackbone(name, { ...options, seed: 2 });
    try {
      await a.model.save(fileIO(dir));
      const artifacts = await fileIO(dir).load!();
      const saved = artifacts.weightSpecs!.map((s) => s.name);
      for (const n of names) expect(saved).toContain(n);
      await loadKerasWeights(b.model, fileIO(dir));
      const [oa, ob] = [outputs(a.model, 64), outputs(b.model, 64)];
      oa.forEach((o, i) => expect(Array.from(ob[i]!)).toEqual(Array.from(o)));
    } finally {
      a.model.dispose();
      b.model.dispose();
    }
  });

  it("folds Keras ResNet50's conv biases into the following batch norm", async () => {
    const a = randomised('resnet_small', { seed: 1 });
    const b = createBackbone('resnet_small', { seed: 2 });
    try {
      const dir = join(root, 'fold');
      await a.model.save(fileIO(dir));
      const artifacts = await fileIO(dir).load!();
      const bias = new Float32Array(16).map((_, i) => i / 10);
      const biasTensor = tf.tensor1d(bias);
      const extra = await tf.io.encodeWeights({ 'conv1_conv/bias': biasTensor });
      biasTensor.dispose();
      const combined = {
        ...artifacts,
        weightSpecs: [...artifacts.weightSpecs!, ...extra.specs],
        weightData: concat(artifacts.weightData as ArrayBuffer, extra.data as ArrayBuffer),
      };
      const report = await loadKerasWeights(b.model, combined);
      expect(report.loaded).toBe(b.model.weights.length);
      const mean = (m: tf.LayersModel) => Array.from(m.getLayer('conv1_bn').getWeights()[2]!.dataSync());
      const expected = mean(a.model).map((v, i) => Math.fround(v - bias[i]!));
      expect(mean(b.model)).toEqual(expected);
    } finally {
      a.model.dispose();
      b.model.dispose();
    }
  });

  it('names every missing and unexpected weight', async () => {
    const a = createBackbone('resnet_small', { numClasses: 10, seed: 1 });
    const b = createBackbone('resnet18', { inputSize: 64, numClasses: 10, seed: 2 });
    try {
      const dir = join(root, 'wrong');
      await a.model.save(fileIO(dir));
      await expect(loadKerasWeights(b.model, fileIO(dir))).rejects.toThrow(/missing: conv2_block2_1_conv\/kernel/);
      await expect(loadKerasWeights(b.model, fileIO(dir))).rejects.toThrow(/shape: conv1_conv\/kernel is \[7,7,3,64\] in the network but \[3,3,3,16\]/);
    } finally {
      a.model.dispose();
      b.model.dispose();
    }
  });
});

function concat(a: ArrayBuffer, b: ArrayBuffer): ArrayBuffer {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(new Uint8Array(a), 0);
  out.set(new Uint8Array(b), a.byteLength);
  return out.buffer;
}

describe('tfjs layers format', () => {
  it.each(['mobilenet_v2_glance', 'resnet_small'])('%s saves as model.json + shards and loads back as the same network', async (name) => {
    const a = randomised(name, { numClasses: 10, seed: 1 });
    const dir = join(root, `layers-${name}`);
    try {
      await a.model.save(fileIO(dir));
      const loaded = await tf.loadLayersModel(fileIO(dir));
      const size = a.inputShape[0];
      const [oa, ob] = [outputs(a.model, size), outputs(loaded, size)];
      oa.forEach((o, i) => expect(Array.from(ob[i]!)).toEqual(Array.from(o)));
      loaded.dispose();
    } finally {
      a.model.dispose();
    }
  });
});
