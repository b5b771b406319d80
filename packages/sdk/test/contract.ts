// The contract every method keeps, as a suite any test file runs over the variants it names (the
// SDK's over every registered one, the random- and centre-patch ones included; the toy-method test
// over a method it registers itself):
// - stepping equals forward: the same logits, the same patch centres and frames;
// - the same seed gives the same patches on every path (forward, forwardPixels, step, classify);
// - bytes equal normalised frames (forwardPixels against forward);
// - save, load and classify give the same result;
// - resume is bit-exact.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { Rng } from '@saccade/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createVideoNet } from '../src/create.js';
import { normalise, rawPixels } from '../src/dataset.js';
import { reorderFrames } from '../src/frame_order.js';
import type { MethodVariant } from '../src/methods/spec.js';
import { loadModel, saveBundle } from '../src/node/bundle.js';
import { fileCheckpoints } from '../src/node/checkpoint.js';
import { train, type TrainResult } from '../src/train.js';
import type { VideoNet } from '../src/video_net.js';
import { TOY, toyDataset } from './toy.js';

const videosOf = (seed: number) => {
  const rng = new Rng(seed);
  return [0, 1].map(() => Uint8Array.from({ length: 4 * 32 * 32 * 3 }, () => rng.int(0, 256)));
};

function stepAll(net: VideoNet, x: tf.Tensor5D, seed: number): { logits: number[][][]; centres: number[][][]; frames: number[][] } {
  const logits: number[][][] = [[], []];
  const centres: number[][][] = [[], []];
  const frames: number[][] = [[], []];
  let state = net.begin(x);
  for (let k = 0; k < net.steps; k++) {
    const out = net.step(state, seed);
    state = out.state;
    const l = out.logits.arraySync();
    const c = out.centre?.arraySync();
    tf.dispose([out.logits, out.centre, out.size]);
    for (let b = 0; b < 2; b++) {
      logits[b]!.push(l[b]!);
      if (c) centres[b]!.push(c[b]!);
      frames[b]!.push(out.frames[b]!);
    }
  }
  tf.dispose(state.tensors);
  return { logits, centres, frames };
}

const weightsOf = (r: TrainResult) => Object.values(r.net.models()).flatMap((m) => m.getWeights().map((w) => Array.from(w.dataSync())));

/**
 * The contract suite over `variants`: `extra` gives each method's fields for the toy sizes (32 px
 * frames of 4, patches of 16). Call it at the top level of a test file.
 */
export function contractSuite(variants: readonly MethodVariant[], extra: Readonly<Record<string, object>> = {}): void {
  const configOf = (v: MethodVariant) => ({ ...TOY, ...v.config, ...(extra[v.config.method] ?? {}) });
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'saccade-contract-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  describe.each(variants.map((v) => [v.name, v] as const))('the VideoNet contract: %s', (name, variant) => {
    it('stepping equals forward: logits, patch centres and frames, with the same seed', () => {
      const net = createVideoNet(configOf(variant), 3);
      try {
        const x = normalise(videosOf(1), 4, 32, net.config);
        const all = tf.tidy(() => {
          const r = net.forward(x, { seed: 7 });
          return { logits: r.logits.arraySync(), centres: r.centres?.arraySync(), frames: r.frameIndices?.arraySync() };
        });
        const stepped = stepAll(net, x, 7);
        for (let b = 0; b < 2; b++) {
          for (let k = 0; k < net.steps; k++) {
            for (let j = 0; j < 3; j++) expect(stepped.logits[b]![k]![j]!, `${name} video ${b} step ${k}`).toBeCloseTo(all.logits[b]![k]![j]!, 4);
            if (all.centres) expect(stepped.centres[b]![k], `${name} centre ${b},${k}`).toEqual(all.centres[b]![k]);
            expect(stepped.frames[b]![k]).toBe(all.frames ? all.frames[b]![k] : k);
          }
        }
        // The same seed twice: the same patches; another seed: random patches move, the others do not.
        const again = stepAll(net, x, 7);
        expect(again.centres).toEqual(stepped.centres);
        const other = stepAll(net, x, 8);
        if ((variant.config as { patches?: string }).patches === 'random') expect(other.centres).not.toEqual(stepped.centres);
        else expect(other.centres).toEqual(stepped.centres);
        x.dispose();
      } finally {
        net.dispose();
      }
    });

    it('bytes equal normalised frames (forwardPixels, where the network reads pixels, against forward)', () => {
      const net = createVideoNet(configOf(variant), 3);
      try {
        if (!net.forwardPixels) {
          // Networks that normalise in JavaScript and call forward (V1, V3): nothing to compare, and no pixel stepping either.
          expect(net.beginPixels).toBeUndefined();
          return;
        }
        const videos = videosOf(2);
        tf.tidy(() => {
          const a = net.forward(normalise(videos, 4, 32, net.config), { seed: 5 });
          const b = net.forwardPixels!(rawPixels(videos, 4, 32), { seed: 5 });
          expect(tf.max(tf.abs(tf.sub(a.logits, b.logits))).dataSync()[0]).toBeLessThan(1e-4);
          if (a.centres) expect(tf.max(tf.abs(tf.sub(a.centres, b.centres!))).dataSync()[0]).toBeLessThan(1e-5);
        });
      } finally {
        net.dispose();
      }
    });

    it('save, load and classify give the same result; classify shows the patches forward uses', async () => {
      const net = createVideoNet(configOf(variant), 3);
      const bundle = join(dir, `bundle-${name}`);
      const videos = videosOf(3);
      try {
        await saveBundle(net, bundle, { classes: ['a', 'b', 'c'] });
        const model = await loadModel(bundle);
        try {
          const input = { data: videos[0]!, frames: 4, width: 32, height: 32 };
          const r1 = await model.classify(input, { seed: 4 });
          const r2 = await model.classify(input, { seed: 4 });
          expect(r2).toEqual({ ...r1, timingsMs: r2.timingsMs });
          // The loaded network's logits are the saved one's, bit for bit.
          const before = tf.tidy(() => Array.from(net.forward(normalise(videos, 4, 32, net.config), { seed: 4 }).logits.dataSync()));
          const after = tf.tidy(() => Array.from(model.net.forward(normalise(videos, 4, 32, model.net.config), { seed: 4 }).logits.dataSync()));
          expect(after).toEqual(before);
          // classify's patches are forward's centres (frame pixels), step by step, and its result is the last step's.
          // classify feeds the steps the frames in the network's frame order (the default coarse-to-fine one).
          const order = model.net.frameOrder;
          const video0 = order ? reorderFrames(videos[0]!, order) : videos[0]!;
          const fwd = tf.tidy(() => {
            const r = model.net.forward(normalise([video0], 4, 32, model.net.config), { seed: 4 });
            return {
              centres: r.centres?.arraySync()[0],
              sizes: r.sizes?.arraySync()[0],
              frames: r.frameIndices?.arraySync()[0],
              logits: r.logits.arraySync()[0]!.at(-1)!,
            };
          });
          if (fwd.centres) {
            const s = 32;
            const p = model.meta.patchSize;
            // classify reads the bytes, forward the normalised floats: the same centres up to float
            // rounding; steps that cut no patch (NaN centre: Uni-AdaFocus's glance exit) have none.
            const steps = fwd.centres.map((c, k) => ({ c, k })).filter(({ c }) => !Number.isNaN(c[0]));
            const expected = steps.map(({ c: [cy, cx], k }) => {
              const [h, w] = fwd.sizes ? [fwd.sizes[k]![0]! * s, fwd.sizes[k]![1]! * s] : [p, p];
              return [cy! * (s - h) + h / 2, cx! * (s - w) + w / 2];
            });
            expect(r1.patches).toHaveLength(expected.length);
            r1.patches.forEach((q, i) => {
              const k = steps[i]!.k;
              expect(q.frame, `step ${k} frame`).toBe(order ? order[k] : fwd.frames ? fwd.frames[k] : k);
              expect(q.y, `step ${k} y`).toBeCloseTo(expected[i]![0]!, 3);
              expect(q.x, `step ${k} x`).toBeCloseTo(expected[i]![1]!, 3);
            });
          } else expect(r1.patches).toEqual([]);
          expect(r1.index).toBe(fwd.logits.indexOf(Math.max(...fwd.logits)));
        } finally {
          model.dispose();
        }
      } finally {
        net.dispose();
      }
    });

    it('resume is bit-exact', async () => {
      const data = toyDataset(8, 4);
      const config = { ...configOf(variant), epochs: 1, batchSize: 4 };
      const whole = await train({ config, train: data });
      const expected = weightsOf(whole);
      whole.net.dispose();
      const store = fileCheckpoints(join(dir, `resume-${name}`));
      const first = await train({ config, train: data, checkpoints: store, maxSteps: 1 });
      expect(first.stopped).toBe('maxSteps');
      first.net.dispose();
      const resumed = await train({ config, train: data, checkpoints: store, resume: true });
      try {
        expect(weightsOf(resumed)).toEqual(expected);
      } finally {
        resumed.net.dispose();
      }
    });
  });
}
