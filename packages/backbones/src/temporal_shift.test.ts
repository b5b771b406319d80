import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { createBackbone } from './backbone.js';
import { BackboneOptionError } from './errors.js';
import { TemporalShift, temporalShift } from './temporal_shift.js';

/** TSM's shift written out element by element: out[t, c] = x[t+1, c] (c < fold), x[t-1, c] (fold <= c < 2 fold), x[t, c]. */
function shiftByHand(x: Float32Array, clips: number, t: number, hw: number, c: number, div: number): Float32Array {
  const fold = Math.floor(c / div);
  const out = new Float32Array(x.length);
  for (let n = 0; n < clips; n++)
    for (let f = 0; f < t; f++)
      for (let p = 0; p < hw; p++)
        for (let ch = 0; ch < c; ch++) {
          const from = ch < fold ? f + 1 : ch < 2 * fold ? f - 1 : f;
          if (from < 0 || from >= t) continue;
          out[((n * t + f) * hw + p) * c + ch] = x[((n * t + from) * hw + p) * c + ch]!;
        }
  return out;
}

const seq = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 3);

describe('temporalShift', () => {
  it.each([
    [2, 4, 16, 8],
    [3, 3, 10, 4],
    [1, 5, 7, 2],
  ])('equals the shift written out: %i clips of %i frames, %i channels, div %i', (clips, t, c, div) => {
    const x = seq(clips * t * 2 * 3 * c);
    const got = tf.tidy(() => temporalShift(tf.tensor4d(x, [clips * t, 2, 3, c]), t, div).dataSync());
    // (+ 0: a zeroed entry may be -0.)
    expect(Array.from(got, (v) => v + 0)).toEqual(Array.from(shiftByHand(x, clips, t, 6, c, div)));
  });

  it('never mixes clips: changing one clip leaves the others unchanged', () => {
    const x = seq(3 * 4 * 8);
    const y = x.slice();
    for (let i = 4 * 8; i < 8 * 8; i++) y[i] = 100 + i; // clip 1 of 3
    const [a, b] = tf.tidy(() => [x, y].map((v) => Float32Array.from(temporalShift(tf.tensor4d(v, [12, 1, 1, 8]), 4, 4).dataSync(), (u) => u + 0)));
    expect(Array.from(a!.slice(0, 32))).toEqual(Array.from(b!.slice(0, 32)));
    expect(Array.from(a!.slice(64))).toEqual(Array.from(b!.slice(64)));
    expect(Array.from(a!.slice(32, 64))).not.toEqual(Array.from(b!.slice(32, 64)));
  });

  it('has the shift back in time as its gradient (against finite differences)', () => {
    const x = tf.tensor4d(seq(2 * 3 * 8), [6, 1, 1, 8]);
    const w = tf.tensor4d(
      seq(6 * 8).map((v) => v * 0.1 + 0.3),
      [6, 1, 1, 8],
    );
    const f = (v: tf.Tensor) => tf.sum(tf.mul(temporalShift(v as tf.Tensor4D, 3, 4), w));
    const g = tf.tidy(() => tf.grad(f)(x).dataSync());
    const base = x.dataSync();
    const eps = 1e-2;
    for (let i = 0; i < base.length; i++) {
      const at = (d: number) => {
        const v = base.slice();
        v[i]! += d;
        return tf.tidy(() => f(tf.tensor4d(v, [6, 1, 1, 8])).dataSync()[0]!);
      };
      expect(g[i]).toBeCloseTo((at(eps) - at(-eps)) / (2 * eps), 2);
    }
    tf.dispose([x, w]);
  });

  it('refuses a batch that is not whole clips', () => {
    const x = tf.zeros([5, 1, 1, 8]) as tf.Tensor4D;
    try {
      expect(() => temporalShift(x, 2, 4)).toThrow(BackboneOptionError);
      expect(() => temporalShift(x, 2, 4)).toThrow(/5 frames, not whole clips of 2/);
      expect(() => new TemporalShift({ segments: 0, div: 8 })).toThrow(/segments/);
    } finally {
      x.dispose();
    }
  });
});

describe('backbones with TSM', () => {
  it.each([
    ['resnet50', 16],
    ['mobilenet_v2', 10],
  ] as const)('%s shifts where the Something-Something code does (%i places), saves and loads, and mixes neighbouring frames only', async (name, places) => {
    const b = createBackbone(name, { inputSize: 64, numClasses: 3, width: 0.25, temporalShift: { segments: 4, div: 8 } });
    const plain = createBackbone(name, { inputSize: 64, numClasses: 3, width: 0.25 });
    try {
      expect(b.model.layers.filter((l) => l instanceof TemporalShift)).toHaveLength(places);
      expect(b.model.countParams()).toBe(plain.model.countParams());
      const x = tf.randomUniform([8, 64, 64, 3], -1, 1, 'float32', 3);
      const changed = tf.tidy(() => tf.concat([tf.slice(x, [0], [3]), tf.add(tf.slice(x, [3], [1]), 1), tf.slice(x, [4], [4])]));
      let saved: tf.io.ModelArtifacts | undefined;
      await b.model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
      const [before, after, again] = tf.tidy(() =>
        [b.model.predict(x), b.model.predict(changed), loaded.predict(x)].map((o) => (o as tf.Tensor[])[2]!.arraySync() as number[][]),
      );
      loaded.dispose();
      tf.dispose([x, changed]);
      expect(again).toEqual(before);
      // Frame 3 is clip 0's last: clip 0 sees it through the shifts, clip 1 (frames 4-7) does not.
      for (let i = 0; i < 4; i++) expect(after![i]).not.toEqual(before![i]);
      for (let i = 4; i < 8; i++) expect(after![i]).toEqual(before![i]);
    } finally {
      b.model.dispose();
      plain.model.dispose();
    }
  });
});
