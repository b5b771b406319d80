import * as tf from '@tensorflow/tfjs';
import { Rng } from '@saccade/tensor';
import { describe, expect, it } from 'vitest';

import { createCubePolicy, sampleFrames, spatialProxy, temporalProxy } from './cube.js';
import { PolicyOptionError } from './errors.js';

describe('sampleFrames', () => {
  it('midpoints of a uniform distribution spread evenly; a peaked one repeats its frame', () => {
    expect(Array.from(sampleFrames(new Float32Array(8).fill(1 / 8), 1, 8, 4, 'midpoint'))).toEqual([1, 3, 5, 7]);
    const peaked = new Float32Array(8);
    peaked[2] = 1;
    expect(Array.from(sampleFrames(peaked, 1, 8, 3, 'midpoint'))).toEqual([2, 2, 2]);
    // Two videos at once, unnormalised weights are normalised.
    const two = new Float32Array([...new Array(4).fill(2), 0, 0, 0, 4]);
    // The k-th draw is the first frame whose cumulative weight exceeds u_k (video 0: u = 2 and 6 of 8).
    expect(Array.from(sampleFrames(two, 2, 4, 2, 'midpoint'))).toEqual([1, 3, 3, 3]);
  });

  it('stratified: one draw per stratum, the same for the same seed', () => {
    const probs = new Float32Array(16).fill(1 / 16);
    const a = sampleFrames(probs, 1, 16, 4, 'stratified', new Rng(3));
    const b = sampleFrames(probs, 1, 16, 4, 'stratified', new Rng(3));
    expect(Array.from(a)).toEqual(Array.from(b));
    Array.from(a).forEach((f, j) => {
      expect(f).toBeGreaterThanOrEqual(4 * j);
      expect(f).toBeLessThan(4 * (j + 1));
    });
    const draws = new Set<string>();
    const rng = new Rng(9);
    for (let s = 0; s < 20; s++) draws.add(Array.from(sampleFrames(probs, 1, 16, 4, 'stratified', rng)).join());
    expect(draws.size).toBeGreaterThan(10);
  });

  it('rejects more focus frames than frames', () => {
    expect(() => sampleFrames(new Float32Array(4), 1, 4, 5, 'midpoint')).toThrow(PolicyOptionError);
    expect(() => sampleFrames(new Float32Array(4), 1, 4, 5, 'midpoint')).toThrow(/focusFrames: must be an integer in \[1, 4\]/);
    expect(() => sampleFrames(new Float32Array(4), 1, 4, 2, 'stratified')).toThrow(/needs an rng/);
  });
});

describe('cube policy', () => {
  const shape = [4, 4, 6] as const;

  it('gives one centre (and size) per video and a distribution over its frames', () => {
    const policy = createCubePolicy({ featureShape: shape, vectorWidth: 5, frames: 3, hidden: 8, scale: true, seed: 1 });
    const maps = tf.randomNormal([2, 3, ...shape], 0, 1, 'float32', 2) as tf.Tensor5D;
    const vectors = tf.randomNormal([2, 3, 5], 0, 1, 'float32', 3) as tf.Tensor3D;
    const short = tf.zeros([1, 2, ...shape]) as tf.Tensor5D;
    try {
      const { centres, sizes } = policy.where(maps);
      const probs = policy.when(vectors);
      expect(centres.shape).toEqual([2, 2]);
      expect(sizes!.shape).toEqual([2]);
      expect(Array.from(centres.dataSync()).every((v) => v > 0 && v < 1)).toBe(true);
      const p = probs.dataSync();
      expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 5);
      tf.dispose([centres, sizes!, probs]);
      expect(() => policy.where(short)).toThrow(/expects feature maps \[B, 3, 4, 4, 6\]/);
    } finally {
      tf.dispose([maps, vectors, short]);
      policy.dispose();
    }
  });

  it('learns through the feature-level proxies: gradients reach both policies, not the glance features', () => {
    const policy = createCubePolicy({ featureShape: shape, vectorWidth: 5, frames: 3, hidden: 8, seed: 4 });
    const [maps, vectors, logits] = tf.tidy(() => [
      tf.variable(tf.randomNormal([2, 3, ...shape], 0, 1, 'float32', 5)),
      tf.variable(tf.randomNormal([2, 3, 5], 0, 1, 'float32', 6)),
      tf.variable(tf.randomNormal([2, 3, 4], 0, 1, 'float32', 7)),
    ]) as tf.Variable[];
    const head = tf.randomNormal([6, 4], 0, 1, 'float32', 8);
    const target = tf.tidy(() => tf.oneHot(tf.tensor1d([1, 3], 'int32'), 4));
    try {
      const weights = policy.trainableWeights.map((w) => w.read() as tf.Variable);
      const { grads, value } = tf.variableGrads(() => {
        if (!maps || !vectors || !logits) throw new Error('unreachable');
        const { centres } = policy.where(maps as unknown as tf.Tensor5D, true);
        const region = spatialProxy(maps as unknown as tf.Tensor5D, centres, 0.5); // [2, 3, 6]
        const aux = tf.matMul(tf.reshape(region, [6, 6]), head);
        const spatialLoss = tf.losses.softmaxCrossEntropy(tf.reshape(tf.tile(tf.expandDims(target, 1), [1, 3, 1]), [6, 4]), aux);
        const temporalLoss = tf.losses.softmaxCrossEntropy(
          target,
          temporalProxy(logits as unknown as tf.Tensor3D, policy.when(vectors as unknown as tf.Tensor3D, true)),
        );
        return tf.add(spatialLoss, temporalLoss) as tf.Scalar;
      }, [...weights, maps!, vectors!, logits!]);
      const norm = (v: tf.Variable) => tf.tidy(() => tf.sum(tf.abs(grads[v.name]!)).dataSync()[0]!);
      expect(norm(policy.spatial.trainableWeights.find((w) => w.name.includes('spatial_head'))!.read() as tf.Variable)).toBeGreaterThan(0);
      expect(norm(policy.temporal.trainableWeights.find((w) => w.name.includes('temporal_logit'))!.read() as tf.Variable)).toBeGreaterThan(0);
      for (const v of [maps!, vectors!, logits!]) expect(norm(v)).toBe(0);
      tf.dispose([value, ...Object.values(grads)]);
    } finally {
      tf.dispose([maps!, vectors!, logits!, head, target]);
      policy.dispose();
    }
  });

  it('the proxies: the region holds a feature where the centre points at it, and logits are weighted by the frame distribution', () => {
    const map = tf.tidy(() => tf.reshape(tf.cast(tf.oneHot(tf.tensor1d([0], 'int32'), 16), 'float32'), [1, 1, 4, 4, 1]) as tf.Tensor5D); // one hot cell at (0, 0)
    const at = (y: number, x: number) => tf.tidy(() => spatialProxy(map, tf.tensor2d([[y, x]]), 0.5).dataSync()[0]!);
    expect(at(0, 0)).toBeCloseTo(1, 6);
    expect(at(1, 1)).toBe(0);
    const logits = tf.tensor3d([
      [
        [1, 0],
        [0, 1],
        [3, 3],
      ],
    ]);
    const probs = tf.tensor2d([[0.5, 0.25, 0.25]]);
    const mixed = temporalProxy(logits, probs);
    expect(Array.from(mixed.dataSync())).toEqual([0.5 + 0.75, 0.25 + 0.75]);
    tf.dispose([map, logits, probs, mixed]);
  });
});
