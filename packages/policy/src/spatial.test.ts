import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { cropPatches } from '@saccade/tensor';
import { fileIO } from '@saccade/tensor/node';
import { afterAll, describe, expect, it } from 'vitest';

import { PolicyOptionError } from './errors.js';
import { createSpatialPolicy, wrapSpatialPolicy } from './spatial.js';

const root = await mkdtemp(join(tmpdir(), 'saccade-spatial-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const shape = [4, 4, 8] as const;
/** Maps [N, 4, 4, 8] of small noise with a strong activation of one channel at cell (i, j) per map. */
function peaked(cells: [number, number][], seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    const noise = tf.randomUniform([cells.length, ...shape], 0, 0.1, 'float32', seed);
    const peak = tf.buffer([cells.length, ...shape]);
    cells.forEach(([i, j], n) => peak.set(5, n, i, j, n % 8));
    return tf.add(noise, peak.toTensor()) as tf.Tensor4D;
  });
}

describe('spatial soft-argmax policy (AdaFocusV2 readout)', () => {
  it('starts by centring the patch on the cell where the map peaks, deterministic in its seed', () => {
    const p = createSpatialPolicy({ featureShape: shape, patchFraction: 0.25, seed: 1 });
    const q = createSpatialPolicy({ featureShape: shape, patchFraction: 0.25, seed: 1 });
    try {
      tf.tidy(() => {
        const cells: [number, number][] = [
          [0, 0],
          [1, 2],
          [3, 3],
          [2, 1],
        ];
        const m = peaked(cells, 3);
        const centres = p.step(m, p.initialState(4)).centres.arraySync();
        cells.forEach(([i, j], n) => {
          // The peak cell's centre as a frame fraction, converted to the crop's corner parameter.
          const want = [(i + 0.5) / 4, (j + 0.5) / 4].map((f) => Math.min(1, Math.max(0, (f - 0.125) / 0.75)));
          expect(centres[n]![0]).toBeCloseTo(want[0]!, 1);
          expect(centres[n]![1]).toBeCloseTo(want[1]!, 1);
        });
        expect(Array.from(q.step(m, q.initialState(4)).centres.dataSync())).toEqual(centres.flat());
        // Every weight vector is a distribution over the 16 cells.
        const w = p.weights(m);
        expect(w.shape).toEqual([4, 16]);
        tf.sum(w, 1)
          .dataSync()
          .forEach((s) => expect(s).toBeCloseTo(1, 5));
      });
    } finally {
      p.dispose();
      q.dispose();
    }
  });

  it('gives the same centres frame by frame and for a whole sequence', () => {
    const p = createSpatialPolicy({ featureShape: shape, patchFraction: 0.375, seed: 2 });
    try {
      tf.tidy(() => {
        const m = tf.randomNormal([2, 5, ...shape], 0, 1, 'float32', 4) as tf.Tensor5D;
        const seq = p.sequence(m);
        expect(seq.shape).toEqual([2, 5, 2]);
        let state = p.initialState(2);
        for (let k = 0; k < 5; k++) {
          const s = p.step(tf.reshape(tf.slice(m, [0, k, 0, 0, 0], [2, 1, ...shape]), [2, ...shape]) as tf.Tensor4D, state);
          const expected = tf.reshape(tf.slice(seq, [0, k, 0], [2, 1, 2]), [2, 2]);
          expect(tf.max(tf.abs(tf.sub(s.centres, expected))).dataSync()[0]).toBeLessThan(1e-6);
          state = s.state;
        }
      });
    } finally {
      p.dispose();
    }
  });

  it("trains through the crop: the gradient of a patch loss matches finite differences on the score layer's weights", () => {
    const p = createSpatialPolicy({ featureShape: shape, patchFraction: 0.5, seed: 3 });
    try {
      tf.tidy(() => {
        const m = tf.randomNormal([3, ...shape], 0, 1, 'float32', 5) as tf.Tensor4D;
        const frames = tf.randomUniform([3, 16, 16, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
        const target = tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 7);
        const loss = () =>
          tf.sum(tf.square(tf.sub(cropPatches(frames, p.step(m, p.initialState(3), true).centres, 8, { frameGradient: false }), target))) as tf.Scalar;
        const kernel = p.trainableWeights[0]!.read() as tf.Variable;
        const { grads } = tf.variableGrads(loss, [kernel]);
        const g = grads[kernel.name]!.dataSync();
        const base = kernel.dataSync().slice();
        const eps = 1e-2;
        // The saliency channel's weight (index 8) and two map channels' weights.
        for (const i of [8, 0, 5]) {
          const at = (d: number) => {
            const v = base.slice();
            v[i]! += d;
            kernel.assign(tf.tensor(v, kernel.shape));
            return loss().dataSync()[0]!;
          };
          const fd = (at(eps) - at(-eps)) / (2 * eps);
          kernel.assign(tf.tensor(base, kernel.shape));
          expect(Math.abs(g[i]! - fd)).toBeLessThan(0.02 * Math.max(1, Math.abs(fd)));
        }
        // The maps are inputs: their gradient is stopped.
        const dm = tf.grad((x: tf.Tensor) => tf.sum(p.step(x as tf.Tensor4D, p.initialState(3), true).centres))(m);
        expect(tf.max(tf.abs(dm)).dataSync()[0]).toBe(0);
      });
    } finally {
      p.dispose();
    }
  });

  it('saves and loads its score layer as model.json + shards', async () => {
    const p = createSpatialPolicy({ featureShape: shape, patchFraction: 0.25, seed: 4 });
    try {
      await p.encoder.save(fileIO(join(root, 'spatial')));
      const q = wrapSpatialPolicy(await tf.loadLayersModel(fileIO(join(root, 'spatial'))), shape, 0.25);
      try {
        tf.tidy(() => {
          const m = tf.randomNormal([2, 3, ...shape], 0, 1, 'float32', 8) as tf.Tensor5D;
          expect(Array.from(q.sequence(m).dataSync())).toEqual(Array.from(p.sequence(m).dataSync()));
        });
      } finally {
        q.dispose();
      }
    } finally {
      p.dispose();
    }
  });

  it("places each cell where `cells` says it looks (a backbone's receptive-field centres), not on the even grid", () => {
    const cells = { origin: [0.125 - 0.05, 0.125 + 0.03] as const, step: [0.25, 0.2] as const };
    const p = createSpatialPolicy({ featureShape: shape, patchFraction: 0.25, seed: 1, cells });
    const grid = createSpatialPolicy({ featureShape: shape, patchFraction: 0.25, seed: 1 });
    try {
      expect(p.cells).toEqual(cells);
      expect(grid.cells).toEqual({ origin: [0.125, 0.125], step: [0.25, 0.25] });
      tf.tidy(() => {
        const peaks: [number, number][] = [
          [1, 2],
          [2, 1],
          [3, 3],
        ];
        const m = peaked(peaks, 5);
        const moved = p.step(m, p.initialState(3)).centres.arraySync();
        const even = grid.step(m, grid.initialState(3)).centres.arraySync();
        // The same scores (same seed), so the centres differ by the geometry's shift of the soft-argmax (x 1 / (1 - r)).
        const w = p.weights(m).arraySync();
        peaks.forEach((_, n) => {
          let y = 0;
          let x = 0;
          w[n]!.forEach((v, k) => {
            y += v * (cells.origin[0] + Math.floor(k / 4) * cells.step[0]);
            x += v * (cells.origin[1] + (k % 4) * cells.step[1]);
          });
          expect(moved[n]![0]).toBeCloseTo(Math.min(1, Math.max(0, (y - 0.125) / 0.75)), 5);
          expect(moved[n]![1]).toBeCloseTo(Math.min(1, Math.max(0, (x - 0.125) / 0.75)), 5);
          expect(Math.abs(moved[n]![0]! - even[n]![0]!)).toBeGreaterThan(0.03);
        });
      });
      const loaded = wrapSpatialPolicy(p.encoder, shape, 0.25, cells);
      expect(loaded.cells).toEqual(cells);
    } finally {
      p.dispose();
      grid.dispose();
    }
  });

  it('refuses bad options and maps of the wrong shape with a PolicyOptionError', () => {
    expect(() => createSpatialPolicy({ featureShape: shape, patchFraction: 0.5, cells: { origin: [0.1, NaN], step: [0.25, 0.25] } })).toThrow(/cells\.origin/);
    expect(() => createSpatialPolicy({ featureShape: shape, patchFraction: 0.5, cells: { origin: [0.1, 0.1], step: [0.25, 0] } })).toThrow(
      /cells\.step: must be two finite numbers above 0/,
    );
    expect(() => createSpatialPolicy({ featureShape: shape, patchFraction: 0 })).toThrow(PolicyOptionError);
    expect(() => createSpatialPolicy({ featureShape: [4, 0, 8], patchFraction: 0.5 })).toThrow(/featureShape\[1\]/);
    const p = createSpatialPolicy({ featureShape: shape, patchFraction: 0.5 });
    try {
      expect(() => wrapSpatialPolicy(p.encoder, [4, 4, 6], 0.5)).toThrow(/expects input \[4, 4, 9\]/);
      tf.tidy(() => {
        expect(() => p.step(tf.zeros([2, 4, 4, 6]) as tf.Tensor4D, p.initialState(2))).toThrow(/expects feature maps \[B, 4, 4, 8\], got \[2,4,4,6\]/);
      });
    } finally {
      p.dispose();
    }
  });
});
