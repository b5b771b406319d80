import * as tf from '@tensorflow/tfjs';
import { Rng } from '@saccade/tensor';
import { describe, expect, it } from 'vitest';

import { PolicyOptionError } from './errors.js';
import { actionBoxes, buildUniModels, glanceConfidence, interpolateFrames, inverseCdfFrames, mcTemporalProxy, priorActions, saliencyPositions } from './uni.js';

describe('inverseCdfFrames', () => {
  it('spreads the midpoints of a uniform distribution over the whole video', () => {
    // 4 glance frames over 8 frames, K = 4: quantiles 1/8, 3/8, 5/8, 7/8 of the video.
    expect(Array.from(inverseCdfFrames(new Float32Array(4).fill(0.25), 1, 4, 8, 4, 'midpoint'))).toEqual([1, 3, 5, 7]);
    // K = T: every frame.
    expect(Array.from(inverseCdfFrames(new Float32Array(4).fill(0.25), 1, 4, 8, 8, 'midpoint'))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('moves repeated frames on, so that the K frames are distinct, and keeps room for the rest', () => {
    // All mass on the first glance frame: the quantiles fall in the first quarter of the video
    // (frames 0, 0, 1, 1 before the fix), then 0, 1, 2, 3.
    expect(Array.from(inverseCdfFrames(new Float32Array([1, 0, 0, 0]), 1, 4, 8, 4, 'midpoint'))).toEqual([0, 1, 2, 3]);
    // All mass on the last: 6, 6, 7, 7 -> 6, 7, 8, 9, capped at T - K + k: 4, 5, 6, 7.
    expect(Array.from(inverseCdfFrames(new Float32Array([0, 0, 0, 1]), 1, 4, 8, 4, 'midpoint'))).toEqual([4, 5, 6, 7]);
    // Two videos at once; video 1 half and half on glance frames 1 and 2 of 4 (frames 2..5 of 8):
    // quantiles 0.375 and 0.625 of the video.
    expect(Array.from(inverseCdfFrames(new Float32Array([0.25, 0.25, 0.25, 0.25, 0, 0.5, 0.5, 0]), 2, 4, 8, 2, 'midpoint'))).toEqual([2, 6, 3, 5]);
  });

  it('stratified: distinct, increasing, inside the video, the same for the same seed', () => {
    const w = new Float32Array([0.05, 0.5, 0.05, 0.1, 0.1, 0.1, 0.05, 0.05]);
    const a = inverseCdfFrames(w, 1, 8, 24, 6, 'stratified', new Rng(4));
    expect(Array.from(a)).toEqual(Array.from(inverseCdfFrames(w, 1, 8, 24, 6, 'stratified', new Rng(4))));
    for (let j = 1; j < 6; j++) expect(a[j]!).toBeGreaterThan(a[j - 1]!);
    expect(a[5]!).toBeLessThan(24);
    const seen = new Set<string>();
    const rng = new Rng(5);
    for (let i = 0; i < 20; i++) seen.add(inverseCdfFrames(w, 1, 8, 24, 6, 'stratified', rng).join());
    expect(seen.size).toBeGreaterThan(1);
    expect(() => inverseCdfFrames(w, 1, 8, 24, 6, 'stratified')).toThrow(PolicyOptionError);
    expect(() => inverseCdfFrames(w, 1, 8, 4, 6, 'midpoint')).toThrow(/focusFrames/);
  });
});

describe('interpolateFrames', () => {
  it('is PyTorch linear interpolation with align_corners False', () => {
    const a = tf.tensor3d([0, 10, 4, 20], [1, 2, 2]);
    const out = interpolateFrames(a, 4);
    // Sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (the last glance frame).
    expect(Array.from(out.dataSync())).toEqual([0, 10, 1, 12.5, 3, 17.5, 4, 20]);
    tf.dispose([a, out]);
  });
});

describe('actionBoxes', () => {
  it('maps size to a side between the bounds and the centre to a corner inside the frame', () => {
    const a = tf.tensor2d([0, 1, 0, 1, 0.5, 0.25, 0.5, 0], [2, 4]);
    const out = actionBoxes(a, 224, 96, 224);
    const v = Array.from(out.dataSync());
    expect(v).toEqual([0, 0, 96, 224, 32, 32, 160, 96]);
    expect(() => actionBoxes(a, 224, 96, 300)).toThrow(PolicyOptionError);
    tf.dispose([a, out]);
  });
});

describe('mcTemporalProxy', () => {
  const logits = new Rng(1).uniformArray(2 * 6 * 3, -2, 2);
  const w = new Float32Array([0.1, 0.3, 0.2, 0.1, 0.2, 0.1, 0.4, 0.1, 0.1, 0.1, 0.1, 0.2]);

  it('with nothing left out is the weighted average of the logits', () => {
    const out = tf.tidy(() => mcTemporalProxy(tf.tensor3d(logits, [2, 6, 3]), tf.tensor2d(w, [2, 6]), 1, 4, new Rng(2)));
    const expected = [0, 1].flatMap((v) => [0, 1, 2].map((c) => [0, 1, 2, 3, 4, 5].reduce((s, g) => s + w[v * 6 + g]! * logits[(v * 6 + g) * 3 + c]!, 0)));
    Array.from(out.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 5));
    out.dispose();
  });

  it('is seeded, leaves frames out in proportion to their weight, and has the gradient of its formula', () => {
    const run = (seed: number) =>
      tf.tidy(() => Array.from(mcTemporalProxy(tf.tensor3d(logits, [2, 6, 3]), tf.tensor2d(w, [2, 6]), 3, 64, new Rng(seed)).dataSync()));
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
    // A frame with all the weight but a sliver: leaving it out leaves the rest, so the proxy moves
    // towards the others' logits (the official estimator's behaviour).
    const peaked = new Float32Array([0.999, 0.0002, 0.0002, 0.0002, 0.0002, 0.0002]);
    const one = tf.tidy(() =>
      Array.from(mcTemporalProxy(tf.tensor3d(logits.slice(0, 18), [1, 6, 3]), tf.tensor2d(peaked, [1, 6]), 2, 8, new Rng(5)).dataSync()),
    );
    const others = [0, 1, 2].map((c) => [1, 2, 3, 4, 5].reduce((s, g) => s + logits[g * 3 + c]!, 0) / 5);
    one.forEach((x, c) => expect(x).toBeCloseTo((logits[c]! + others[c]!) / 2, 2));
    // The normaliser is held constant for the gradient, so the proxy is linear in the weights along
    // the weights themselves: sum_g w_g * df/dw_g == f(w) (with the normaliser free it would be 0).
    const r = [1, -2, 0.5, 2, 1, -1];
    const f = (x: tf.Tensor) =>
      tf.sum(tf.mul(mcTemporalProxy(tf.tensor3d(logits, [2, 6, 3]), x as tf.Tensor2D, 3, 16, new Rng(6)), tf.tensor2d(r, [2, 3]))) as tf.Scalar;
    const [value, grad] = tf.tidy(() => {
      const x = tf.tensor2d(w, [2, 6]);
      return [f(x).dataSync()[0]!, Array.from(tf.grad(f)(x).dataSync())];
    });
    const along = grad.reduce((s, g, i) => s + g * w[i]!, 0);
    expect(Math.abs(value)).toBeGreaterThan(1e-2);
    expect(along).toBeCloseTo(value, 4);
  });
});

describe('buildUniModels', () => {
  it('gives 4 actions in (0, 1) per glance frame, each reading only glance frames within two of it', () => {
    const { spatial, temporal } = buildUniModels({ featureShape: [3, 3, 5], vectorWidth: 5, glanceFrames: 8, spatialHidden: 6, temporalHidden: 4, seed: 1 });
    const maps = new Rng(2).uniformArray(8 * 3 * 3 * 5, 0, 1);
    const changed = Float32Array.from(maps);
    for (let i = 0; i < 45; i++) changed[i] = changed[i]! + 1; // glance frame 0 only
    const [a, b] = [maps, changed].map((m) => tf.tidy(() => Array.from((spatial.predict(tf.tensor5d(m, [1, 8, 3, 3, 5])) as tf.Tensor).dataSync())));
    expect(a!.length).toBe(32);
    a!.forEach((x) => expect(x > 0 && x < 1).toBe(true));
    const moved = Array.from({ length: 8 }, (_, g) => a!.slice(4 * g, 4 * g + 4).some((x, i) => x !== b![4 * g + i]));
    // Two 3x3x3 convolutions: frames 0, 1, 2 see frame 0; frames 3..7 do not.
    expect(moved).toEqual([true, true, true, false, false, false, false, false]);
    const logits = tf.tidy(() => (temporal.predict(tf.ones([2, 8, 5])) as tf.Tensor).shape);
    expect(logits).toEqual([2, 8]);
    // Layer names follow the official module indices.
    expect(spatial.layers.map((l) => l.name)).toContain('encoder_9');
    expect(temporal.layers.map((l) => l.name)).toContain('Tconv_6');
    spatial.dispose();
    temporal.dispose();
  });
});

describe('the spatial prior', () => {
  it('saliencyPositions: the soft-argmax of the standardised channel maximum, sharper with the sharpness', () => {
    // Two 4 x 4 maps of 3 channels, each with one strong cell: (1, 2) and (3, 0).
    const buf = tf.buffer([2, 4, 4, 3]);
    const noise = new Rng(3).uniformArray(2 * 4 * 4 * 3, 0, 0.1);
    noise.forEach((v, i) => (buf.values[i] = v));
    buf.set(4, 0, 1, 2, 1);
    buf.set(4, 1, 3, 0, 2);
    const maps = buf.toTensor() as tf.Tensor4D;
    const sharp = Array.from(tf.tidy(() => saliencyPositions(maps, 20).dataSync()));
    // The even grid: cell (i, j) at ((i + 0.5) / 4, (j + 0.5) / 4).
    expect(sharp[0]).toBeCloseTo(1.5 / 4, 3);
    expect(sharp[1]).toBeCloseTo(2.5 / 4, 3);
    expect(sharp[2]).toBeCloseTo(3.5 / 4, 3);
    expect(sharp[3]).toBeCloseTo(0.5 / 4, 3);
    // Sharpness 0: every cell weighs the same, the frame's middle.
    tf.tidy(() => Array.from(saliencyPositions(maps, 0).dataSync())).forEach((v) => expect(v).toBeCloseTo(0.5, 5));
    // The formula, written out for map 0 at sharpness 3 with given cell geometry.
    const cells = { origin: [0.1, 0.2] as const, step: [0.25, 0.2] as const };
    const got = tf.tidy(() => Array.from(saliencyPositions(maps, 3, cells).dataSync()));
    const m0 = Array.from(maps.dataSync()).slice(0, 48);
    const sal = Array.from({ length: 16 }, (_, q) => Math.max(m0[3 * q]!, m0[3 * q + 1]!, m0[3 * q + 2]!));
    const mean = sal.reduce((a, b) => a + b) / 16;
    const sd = Math.sqrt(sal.reduce((a, b) => a + (b - mean) ** 2, 0) / 16 + 1e-6);
    const e = sal.map((v) => Math.exp((3 * (v - mean)) / sd));
    const z = e.reduce((a, b) => a + b);
    const y = e.reduce((a, v, q) => a + (v / z) * (0.1 + Math.floor(q / 4) * 0.25), 0);
    const x = e.reduce((a, v, q) => a + (v / z) * (0.2 + (q % 4) * 0.2), 0);
    expect(got[0]).toBeCloseTo(y, 5);
    expect(got[1]).toBeCloseTo(x, 5);
    // A fixed prior: no gradient reaches the maps.
    const g = tf.grad((m: tf.Tensor) => tf.sum(saliencyPositions(m as tf.Tensor4D, 3)))(maps);
    expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0])).toBe(0);
    g.dispose();
    expect(() => saliencyPositions(maps, -1)).toThrow(PolicyOptionError);
    maps.dispose();
  });

  it('priorActions: an action centre of 0.5 centres the box on the position; others move it, within the frame', () => {
    const positions = tf.tensor2d([0.3, 0.7, 0.5, 0.5, 0.02, 0.98], [3, 2]);
    const actions = tf.tensor2d([0.5, 0.5, 0.2, 0.3, 0.9, 0.2, 0, 0, 0.5, 0.5, 0.5, 0.5], [3, 4]);
    const out = tf.tidy(() => priorActions(actions, positions, 128, 48, 96));
    const boxes = tf.tidy(() => Array.from(actionBoxes(out, 128, 48, 96).dataSync()));
    // Video 0: sides 48 + 0.2 * 48 and 48 + 0.3 * 48; the box's centre at the position.
    expect(boxes[0]! + boxes[2]! / 2).toBeCloseTo(0.3 * 128, 3);
    expect(boxes[1]! + boxes[3]! / 2).toBeCloseTo(0.7 * 128, 3);
    // Sizes pass through.
    expect(Array.from(out.dataSync()).filter((_, i) => i % 4 >= 2)).toEqual(Array.from(actions.dataSync()).filter((_, i) => i % 4 >= 2));
    // Video 1: action centres 0.9 and 0.2 move the box towards the bottom and the left of the position.
    expect(boxes[4]! + boxes[6]! / 2).toBeGreaterThan(64 + 5);
    expect(boxes[5]! + boxes[7]! / 2).toBeLessThan(64 - 5);
    // Video 2: a position at the border keeps the box inside the frame.
    expect(boxes[8]!).toBeGreaterThanOrEqual(0);
    expect(boxes[9]! + boxes[11]!).toBeLessThanOrEqual(128 + 1e-3);
    // Differentiable in the actions: finite differences of the first box's top.
    const top = (a: tf.Tensor2D) => tf.tidy(() => actionBoxes(priorActions(a, positions, 128, 48, 96), 128, 48, 96).dataSync()[0]!);
    const grad = tf.grad((a: tf.Tensor) => tf.slice(actionBoxes(priorActions(a as tf.Tensor2D, positions, 128, 48, 96), 128, 48, 96), [0, 0], [1, 1]).sum())(
      actions,
    );
    for (const i of [0, 2]) {
      const d = 1e-2;
      const [up, down] = [d, -d].map((e) => {
        const v = Array.from(actions.dataSync());
        v[i] = v[i]! + e;
        const a = tf.tensor2d(v, [3, 4]);
        const r = top(a);
        a.dispose();
        return r;
      });
      expect(grad.dataSync()[i]!).toBeCloseTo((up! - down!) / (2 * d), 1);
    }
    const wrong = tf.zeros([2, 2]) as tf.Tensor2D;
    expect(() => priorActions(actions, wrong, 128, 48, 96)).toThrow(/positions/);
    tf.dispose([positions, actions, out, grad, wrong]);
  });

  it("glanceConfidence: the negative entropy of each frame's softmax, standardised per video; flat frames score lowest", () => {
    // Video 0: frame 0 confident, frame 1 flat, frame 2 between. Video 1: every frame alike.
    const logits = tf.tensor3d(
      [
        [
          [6, 0, 0],
          [0, 0, 0],
          [2, 0, 1],
        ],
        [
          [1, 0, 0],
          [1, 0, 0],
          [1, 0, 0],
        ],
      ],
      [2, 3, 3],
    );
    const got = tf.tidy(() => Array.from(glanceConfidence(logits).dataSync()));
    const negEntropy = (row: number[]) => {
      const z = row.reduce((a, v) => a + Math.exp(v), 0);
      return row.reduce((a, v) => a + (Math.exp(v) / z) * (v - Math.log(z)), 0);
    };
    const rows = logits.arraySync()[0]!.map(negEntropy);
    const mean = rows.reduce((a, b) => a + b) / 3;
    const sd = Math.sqrt(rows.reduce((a, b) => a + (b - mean) ** 2, 0) / 3 + 1e-6);
    rows.forEach((r, i) => expect(got[i]!).toBeCloseTo((r - mean) / sd, 4));
    expect(got[1]!).toBeLessThan(got[2]!);
    expect(got[2]!).toBeLessThan(got[0]!);
    // Alike frames: all 0.
    got.slice(3).forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-3));
    const g = tf.grad((l: tf.Tensor) => tf.sum(glanceConfidence(l as tf.Tensor3D)))(logits);
    expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0])).toBe(0);
    const wrong = tf.zeros([3, 3]);
    expect(() => glanceConfidence(wrong as unknown as tf.Tensor3D)).toThrow(PolicyOptionError);
    tf.dispose([logits, g, wrong]);
  });
});
