import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { cropPatches, cropPatchesComposed } from './crop.js';
import { TensorArgumentError } from './errors.js';
import { Rng } from './random.js';
import { expectArraysClose, onBackend, randomData } from './testing/index.js';

const B = 3;
const H = 20;
const W = 24;
const C = 2;

function setup(seed: number, patch: [number, number]) {
  const rng = new Rng(seed);
  const frames = randomData(rng, [B, H, W, C], 0, 1);
  // Keep the fractional part of the corner away from 0 so finite differences stay in one cell.
  const centres = new Float32Array(B * 2);
  for (let b = 0; b < B; b++) {
    const top = rng.int(0, H - patch[0] - 1) + rng.uniform(0.2, 0.8);
    const left = rng.int(0, W - patch[1] - 1) + rng.uniform(0.2, 0.8);
    centres[2 * b] = top / (H - patch[0]);
    centres[2 * b + 1] = left / (W - patch[1]);
  }
  const weights = randomData(rng, [B, patch[0], patch[1], C]);
  return { frames, centres, weights };
}

describe('cropPatches', () => {
  it.each([
    ['square', [7, 7]],
    ['tall', [9, 5]],
  ] as const)('%s patches match tf.image.cropAndResize on cpu and wasm', async (_, patch) => {
    const { frames, centres } = setup(1, [patch[0], patch[1]]);
    const boxes = new Float32Array(B * 4);
    for (let b = 0; b < B; b++) {
      const top = (centres[2 * b] as number) * (H - patch[0]);
      const left = (centres[2 * b + 1] as number) * (W - patch[1]);
      boxes.set([top / (H - 1), left / (W - 1), (top + patch[0] - 1) / (H - 1), (left + patch[1] - 1) / (W - 1)], 4 * b);
    }
    const body = () => [
      cropPatches(tf.tensor4d(frames, [B, H, W, C]), tf.tensor2d(centres, [B, 2]), [patch[0], patch[1]]),
      tf.image.cropAndResize(
        tf.tensor4d(frames, [B, H, W, C]),
        tf.tensor2d(boxes, [B, 4]),
        tf.range(0, B, 1, 'int32') as tf.Tensor1D,
        [patch[0], patch[1]],
        'bilinear',
      ),
    ];
    for (const backend of ['cpu', 'wasm']) {
      const [ours, reference] = await onBackend(backend, body);
      expectArraysClose(ours!, reference!, { rtol: 1e-5, atol: 1e-5, label: backend });
    }
  });

  it('reproduces the frame exactly at whole-pixel positions and at both borders', async () => {
    const frames = randomData(new Rng(2), [B, H, W, C]);
    const p = 6;
    // top = 0, 7 and 14 (= H - p): the top border, an interior whole pixel, the bottom border.
    const centres = new Float32Array([0, 0, 7 / (H - p), 3 / (W - p), 1, 1]);
    const [patches] = await onBackend('wasm', () => cropPatches(tf.tensor4d(frames, [B, H, W, C]), tf.tensor2d(centres, [B, 2]), p));
    const [expected] = await onBackend('cpu', () => {
      const f = tf.tensor4d(frames, [B, H, W, C]);
      return tf.concat([tf.slice(f, [0, 0, 0, 0], [1, p, p, C]), tf.slice(f, [1, 7, 3, 0], [1, p, p, C]), tf.slice(f, [2, H - p, W - p, 0], [1, p, p, C])]);
    });
    expectArraysClose(patches!, expected!, { rtol: 0, atol: 1e-6 });
  });

  it('clamps centres beyond the border, with zero gradient for the clamped coordinate', async () => {
    const frames = randomData(new Rng(3), [2, H, W, C]);
    const outside = new Float32Array([-0.4, 1.7, 0.5, -2]);
    const clamped = new Float32Array([0, 1, 0.5, 0]);
    const weights = randomData(new Rng(4), [2, 5, 5, C]);
    const run = (centres: Float32Array) => () => {
      const f = tf.tensor4d(frames, [2, H, W, C]);
      const c = tf.tensor2d(centres, [2, 2]);
      const loss = (cc: tf.Tensor) => tf.sum(tf.mul(cropPatches(f, cc as tf.Tensor2D, 5), tf.tensor4d(weights, [2, 5, 5, C])));
      return [cropPatches(f, c, 5), tf.grad(loss)(c)];
    };
    const [pOut, gOut] = await onBackend('wasm', run(outside));
    const [pClamped] = await onBackend('wasm', run(clamped));
    expectArraysClose(pOut!, pClamped!, { rtol: 0, atol: 0 });
    // Coordinates 0 (-0.4), 1 (1.7) and 3 (-2) were clamped; coordinate 2 (0.5) was not.
    expect([gOut![0], gOut![1], gOut![3]].map((v) => Math.abs(v!))).toEqual([0, 0, 0]);
    expect(Math.abs(gOut![2]!)).toBeGreaterThan(1e-3);
  });

  it('has a centre gradient that matches finite differences', async () => {
    const patch: [number, number] = [7, 6];
    const { frames, centres, weights } = setup(5, patch);
    const loss = (c: tf.Tensor) =>
      tf.sum(tf.mul(cropPatches(tf.tensor4d(frames, [B, H, W, C]), c as tf.Tensor2D, patch), tf.tensor4d(weights, [B, ...patch, C])));
    const [analyticWasm] = await onBackend('wasm', () => tf.grad(loss)(tf.tensor2d(centres, [B, 2])));
    const [analyticCpu] = await onBackend('cpu', () => tf.grad(loss)(tf.tensor2d(centres, [B, 2])));
    // Central differences in float64 around each centre coordinate (the loss is linear in the
    // fractional offset inside one pixel cell, so a small step is exact up to rounding).
    const eps = 1e-3;
    const numeric = new Float64Array(B * 2);
    for (let i = 0; i < B * 2; i++) {
      const plus = Float32Array.from(centres);
      const minus = Float32Array.from(centres);
      plus[i] = (plus[i] as number) + eps;
      minus[i] = (minus[i] as number) - eps;
      const [lp] = await onBackend('cpu', () => loss(tf.tensor2d(plus, [B, 2])));
      const [lm] = await onBackend('cpu', () => loss(tf.tensor2d(minus, [B, 2])));
      numeric[i] = (lp![0]! - lm![0]!) / (2 * eps);
    }
    expectArraysClose(analyticCpu!, numeric as unknown as Float32Array, { rtol: 2e-2, atol: 2e-2, label: 'cpu vs finite differences' });
    expectArraysClose(analyticWasm!, analyticCpu!, { rtol: 1e-4, atol: 1e-4, label: 'wasm vs cpu' });
  });

  it('has a frame gradient that is the exact adjoint of the crop', async () => {
    const patch: [number, number] = [8, 8];
    const { frames, centres, weights } = setup(6, patch);
    for (const backend of ['cpu', 'wasm']) {
      const [grad, cropped] = await onBackend(backend, () => {
        const c = tf.tensor2d(centres, [B, 2]);
        const r = tf.tensor4d(weights, [B, ...patch, C]);
        const g = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(cropPatches(f as tf.Tensor4D, c, patch), r)))(tf.tensor4d(frames, [B, H, W, C]));
        return [g, cropPatches(tf.tensor4d(frames, [B, H, W, C]), c, patch)];
      });
      // The crop is linear in the frames: <crop(F), R> == <F, dL/dF>.
      let lhs = 0;
      let rhs = 0;
      weights.forEach((r, i) => (lhs += r * (cropped![i] as number)));
      frames.forEach((f, i) => (rhs += f * (grad![i] as number)));
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-3 * Math.max(1, Math.abs(lhs)));
      // Pixels outside every patch's support get no gradient.
      expect(grad!.filter((g) => g !== 0).length).toBeLessThanOrEqual(B * (patch[0] + 1) * (patch[1] + 1) * C);
    }
  });

  it('with frameGradient: false gives the same patches and centre gradient', async () => {
    const patch: [number, number] = [8, 8];
    const { frames, centres, weights } = setup(7, patch);
    for (const backend of ['cpu', 'wasm']) {
      const [withFrames, centresOnly] = await onBackend(backend, () => {
        const f = tf.tensor4d(frames, [B, H, W, C]);
        const r = tf.tensor4d(weights, [B, ...patch, C]);
        const loss = (frameGradient: boolean) => (c: tf.Tensor) => tf.sum(tf.mul(cropPatches(f, c as tf.Tensor2D, patch, { frameGradient }), r));
        const c = tf.tensor2d(centres, [B, 2]);
        return [tf.grad(loss(true))(c), tf.grad(loss(false))(c)];
      });
      expectArraysClose(centresOnly!, withFrames!, { rtol: 1e-6, atol: 1e-6, label: 'centre gradient' });
    }
  });

  it.each([
    ['interior, square', [8, 8], false],
    ['tall, with centres at and beyond the borders', [9, 5], true],
  ] as const)('kernels (cpu and wasm) compute what the composed crop computes: %s', async (_, patch, edges) => {
    const { frames, centres, weights } = setup(8, [patch[0], patch[1]]);
    if (edges) centres.set([0, 0.37, 0.61, -0.3, 1.4, 1]);
    const run = (crop: typeof cropPatches) => () => {
      const f = tf.tensor4d(frames, [B, H, W, C]);
      const c = tf.tensor2d(centres, [B, 2]);
      const r = tf.tensor4d(weights, [B, patch[0], patch[1], C]);
      const loss = (ff: tf.Tensor, cc: tf.Tensor) => tf.sum(tf.mul(crop(ff as tf.Tensor4D, cc as tf.Tensor2D, [patch[0], patch[1]]), r));
      const [dF, dC] = tf.grads(loss)([f, c]);
      const centreOnly = tf.grad((cc: tf.Tensor) => tf.sum(tf.mul(crop(f, cc as tf.Tensor2D, [patch[0], patch[1]], { frameGradient: false }), r)))(c);
      return [crop(f, c, [patch[0], patch[1]]), dF!, dC!, centreOnly];
    };
    for (const backend of ['cpu', 'wasm']) {
      const ours = await onBackend(backend, run(cropPatches));
      const reference = await onBackend(backend, run(cropPatchesComposed));
      const names = ['patches', 'frame gradient', 'centre gradient', 'centre gradient without frames'];
      ours.forEach((o, i) => expectArraysClose(o, reference[i]!, { rtol: 1e-5, atol: 1e-5, label: `${backend} ${names[i]}` }));
    }
  });

  it('rejects bad arguments with a TensorArgumentError that says what is wrong', () => {
    const f = tf.zeros([2, 10, 10, 3]) as tf.Tensor4D;
    const c = tf.zeros([2, 2]) as tf.Tensor2D;
    const c3 = tf.zeros([3, 2]) as tf.Tensor2D;
    const f3 = tf.zeros([10, 10, 3]);
    try {
      expect(() => cropPatches(f, c, 11)).toThrow(/patch height 11 is larger than the frame height 10/);
      expect(() => cropPatches(f, c3, 4)).toThrow(/frames have batch 2 but centres have 3/);
      expect(() => cropPatches(f, c, 0)).toThrow(TensorArgumentError);
      expect(() => cropPatches(f, c, 2.5)).toThrow(/positive integer/);
      expect(() => cropPatches(f3 as unknown as tf.Tensor4D, c, 4)).toThrow(/\[B, H, W, C\]/);
    } finally {
      tf.dispose([f, c, c3, f3]);
    }
  });
});
