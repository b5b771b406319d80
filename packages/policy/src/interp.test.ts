import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { cropPatches, Rng } from '@saccade/tensor';
import { fileIO } from '@saccade/tensor/node';
import { afterAll, describe, expect, it } from 'vitest';

import { PolicyOptionError } from './errors.js';
import { gruRunner } from './gru.js';
import { createInterpPolicy, wrapInterpPolicy } from './interp.js';

const root = await mkdtemp(join(tmpdir(), 'saccade-policy-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const shape = [4, 4, 8] as const;
const maps = (b: number, t: number, seed: number) => tf.randomNormal([b, t, ...shape], 0, 1, 'float32', seed) as tf.Tensor5D;

/** PyTorch's GRU step, by hand, for one vector. */
function gruReference(x: number[], h: number[], W: Record<string, { kernel: number[][]; bias: number[] }>): number[] {
  const lin = (name: string, v: number[]) => W[name]!.bias.map((b, j) => b + v.reduce((a, vi, i) => a + vi * W[name]!.kernel[i]![j]!, 0));
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const xz = lin('gru_x_z', x),
    hz = lin('gru_h_z', h),
    xr = lin('gru_x_r', x),
    hr = lin('gru_h_r', h),
    xn = lin('gru_x_n', x),
    hn = lin('gru_h_n', h);
  return h.map((hj, j) => {
    const z = sig(xz[j]! + hz[j]!);
    const r = sig(xr[j]! + hr[j]!);
    const n = Math.tanh(xn[j]! + r * hn[j]!);
    return (1 - z) * n + z * hj;
  });
}

describe('interp policy (AdaFocusV2)', () => {
  it('outputs centres in [0, 1] per frame, deterministic in its seed, and step-by-step equals the sequence', () => {
    const p = createInterpPolicy({ featureShape: shape, hidden: 16, seed: 3 });
    const q = createInterpPolicy({ featureShape: shape, hidden: 16, seed: 3 });
    try {
      tf.tidy(() => {
        const m = maps(3, 5, 1);
        const seq = p.sequence(m);
        expect(seq.shape).toEqual([3, 5, 2]);
        const values = seq.dataSync();
        expect(Math.min(...values)).toBeGreaterThan(0);
        expect(Math.max(...values)).toBeLessThan(1);
        expect(Array.from(q.sequence(m).dataSync())).toEqual(Array.from(values));
        let state = p.initialState(3);
        for (let k = 0; k < 5; k++) {
          const s = p.step(tf.reshape(tf.slice(m, [0, k, 0, 0, 0], [3, 1, ...shape]), [3, ...shape]) as tf.Tensor4D, state);
          const expected = tf.reshape(tf.slice(seq, [0, k, 0], [3, 1, 2]), [3, 2]);
          expect(tf.max(tf.abs(tf.sub(s.centres, expected))).dataSync()[0]).toBeLessThan(1e-6);
          state = s.state;
        }
      });
    } finally {
      p.dispose();
      q.dispose();
    }
  });

  it('computes at inference (raw-op GRU) what its layers compute', () => {
    const p = createInterpPolicy({ featureShape: shape, hidden: 16, seed: 5 });
    try {
      tf.tidy(() => {
        const m = maps(4, 6, 2);
        const fast = p.sequence(m, false);
        const encoded = tf.reshape(p.encoder.apply(tf.reshape(m, [24, ...shape])) as tf.Tensor, [4, 6, 16]);
        let state = p.initialState(4);
        for (let k = 0; k < 6; k++) {
          const [centres, next] = p.recurrent.apply([tf.reshape(tf.slice(encoded, [0, k, 0], [4, 1, 16]), [4, 16]), state]) as tf.Tensor2D[];
          const got = tf.reshape(tf.slice(fast, [0, k, 0], [4, 1, 2]), [4, 2]);
          expect(tf.max(tf.abs(tf.sub(got, centres!))).dataSync()[0]).toBeLessThan(1e-6);
          state = next!;
        }
      });
    } finally {
      p.dispose();
    }
  });

  it("runs PyTorch's GRU step", () => {
    const p = createInterpPolicy({ featureShape: shape, hidden: 6, seed: 4 });
    try {
      const weights: Record<string, { kernel: number[][]; bias: number[] }> = {};
      for (const layer of p.recurrent.layers) {
        if (!layer.name.startsWith('gru_') || layer.getWeights().length !== 2) continue;
        const [k, b] = layer.getWeights();
        weights[layer.name] = { kernel: k!.arraySync() as number[][], bias: Array.from(b!.dataSync()) };
      }
      const rng = new Rng(5);
      const x = Array.from({ length: 6 }, () => rng.normal());
      const h = Array.from({ length: 6 }, () => rng.normal(0, 0.5));
      const out = tf.tidy(() => (p.recurrent.predict([tf.tensor2d([x]), tf.tensor2d([h])]) as tf.Tensor[])[1]!.arraySync() as number[][]);
      gruReference(x, h, weights).forEach((v, j) => expect(out[0]![j]).toBeCloseTo(v, 5));
      // The inference path (raw ops) computes the same step.
      const fast = tf.tidy(() => {
        const gru = gruRunner(p.recurrent);
        return gru.step(gru.project(tf.tensor2d([x])), tf.tensor2d([h])).arraySync();
      });
      gruReference(x, h, weights).forEach((v, j) => expect(fast[0]![j]).toBeCloseTo(v, 5));
    } finally {
      p.dispose();
    }
  });

  it('is trained by the classification loss through the crop, and never trains the glance maps', () => {
    const p = createInterpPolicy({ featureShape: shape, hidden: 8, seed: 6 });
    try {
      tf.tidy(() => {
        const frames = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
        const m = tf.reshape(maps(2, 1, 8), [2, ...shape]) as tf.Tensor4D;
        const target = tf.randomUniform([2, 12, 12, 3], 0, 1, 'float32', 9);
        const loss = () => {
          const { centres } = p.step(m, p.initialState(2), true);
          return tf.mean(tf.square(tf.sub(cropPatches(frames, centres, 12), target))) as tf.Scalar;
        };
        const { grads } = tf.variableGrads(
          loss,
          p.trainableWeights.map((w) => w.read() as tf.Variable),
        );
        const head = Object.entries(grads).find(([name]) => name.includes('policy_head'))!;
        expect(tf.sum(tf.abs(head[1])).dataSync()[0]).toBeGreaterThan(0);
        const mapGrad = tf.grad((x: tf.Tensor) => tf.sum(p.step(x as tf.Tensor4D, p.initialState(2)).centres))(m);
        expect(tf.sum(tf.abs(mapGrad)).dataSync()[0]).toBe(0);
      });
    } finally {
      p.dispose();
    }
  });

  it('saves and loads both models as model.json + shards', async () => {
    const p = createInterpPolicy({ featureShape: shape, hidden: 8, seed: 10 });
    try {
      await p.encoder.save(fileIO(join(root, 'encoder')));
      await p.recurrent.save(fileIO(join(root, 'recurrent')));
      const q = wrapInterpPolicy(await tf.loadLayersModel(fileIO(join(root, 'encoder'))), await tf.loadLayersModel(fileIO(join(root, 'recurrent'))), 8, shape);
      tf.tidy(() => {
        const m = maps(2, 3, 11);
        expect(Array.from(q.sequence(m).dataSync())).toEqual(Array.from(p.sequence(m).dataSync()));
      });
      q.dispose();
    } finally {
      p.dispose();
    }
  });

  it('says what is wrong with its options and inputs', () => {
    expect(() => createInterpPolicy({ featureShape: [4, 0, 8], hidden: 8 })).toThrow(PolicyOptionError);
    const p = createInterpPolicy({ featureShape: shape, hidden: 8 });
    try {
      const bad = tf.zeros([2, 3, 4, 4, 7]) as tf.Tensor5D;
      expect(() => p.sequence(bad)).toThrow(/expects feature maps \[B, T, 4, 4, 8\], got \[2,3,4,4,7\]/);
      bad.dispose();
    } finally {
      p.dispose();
    }
  });
});
