import * as tf from '@tensorflow/tfjs';
import { countFlops, namedBackbone } from '@saccade/backbones';
import { saliencyPositions } from '@saccade/policy';
import { ByteImages, cropPatches, Rng } from '@saccade/tensor';
import { describe, expect, it } from 'vitest';

import { TOY } from '../test/toy.js';
import { createVideoNet } from './create.js';
import type { VideoNet } from './video_net.js';
import { normalise, rawPixels } from './dataset.js';
import { parseConfig } from './config.js';
import { migrateConfigV1 } from './config/v1.js';
import { InputError } from './errors.js';
import { policyMapCells, previousStageShape } from './net_common.js';

function withNet<T>(config: object, fn: (net: VideoNet) => T): T {
  const net = createVideoNet({ ...TOY, ...config }, 3);
  try {
    return fn(net);
  } finally {
    net.dispose();
  }
}

const frames = () => tf.randomUniform([2, 4, 32, 32, 3], -1, 1, 'float32', 2) as tf.Tensor5D;

describe('VideoNet', () => {
  it('AdaFocusV2 gives per-step logits and centres in [0, 1]; centre patches are at 0.5', () => {
    withNet({}, (net) => {
      tf.tidy(() => {
        const r = net.forward(frames());
        expect(r.logits.shape).toEqual([2, 4, 3]);
        const c = r.centres!.dataSync();
        expect(Math.min(...c)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...c)).toBeLessThanOrEqual(1);
      });
    });
    withNet({ patches: 'centre' }, (net) => {
      const c = tf.tidy(() => Array.from(net.forward(frames()).centres!.dataSync()));
      expect(c).toEqual(new Array(16).fill(0.5));
    });
  });

  it("the spatial policy places the glance map's cells at their receptive fields' centres (policyCells 'receptive'), or on the even grid ('grid', older bundles)", () => {
    // TOY: glance 16 px, the 'previous' map 4 x 4 (stride 4: cells 1.5 px up and left of the grid), patch 16 of 32.
    const centres = (policyCells: 'grid' | 'receptive') =>
      withNet({ policyCells }, (net) => tf.tidy(() => Array.from(net.forward(frames()).centres!.dataSync())));
    const receptive = centres('receptive');
    const grid = centres('grid');
    const glance = createVideoNet({ ...TOY }, 3);
    try {
      const g = glance.models()['glance']!;
      const cells = policyMapCells(g, previousStageShape(g));
      expect(previousStageShape(g).slice(0, 2)).toEqual([4, 4]);
      expect(cells.origin).toEqual([0.5 / 16, 0.5 / 16]);
      expect(cells.step).toEqual([4 / 16, 4 / 16]);
    } finally {
      glance.dispose();
    }
    // Same seed, same scores: every centre moves by the origins' difference (1.5 px of 16) over (1 - r), where neither is clipped.
    const free = receptive.map((c, i) => i).filter((i) => grid[i]! < 1 && receptive[i]! > 0);
    expect(free.length).toBeGreaterThan(4);
    for (const i of free) expect(receptive[i]!).toBeCloseTo(grid[i]! - 1.5 / 16 / (1 - 16 / 32), 5);
    expect(migrateConfigV1({ seed: 1 })).toMatchObject({ policyCells: 'grid' });
    expect(parseConfig({}).policyCells).toBe('receptive');
  });

  it("AdaFocusV2's ensemble prediction is the mean of the classifier's and the glance and focus heads' frame-averaged log-probabilities", () => {
    withNet({ prediction: 'classifier' }, (plain) => {
      withNet({ prediction: 'ensemble' }, (net) => {
        tf.tidy(() => {
          const x = frames();
          const cls = plain.forward(x);
          const got = net.forward(x);
          // Same seed, same weights: the same centres; only the prediction differs.
          expect(Array.from(got.centres!.dataSync())).toEqual(Array.from(cls.centres!.dataSync()));
          const flat = tf.reshape(x, [8, 32, 32, 3]) as tf.Tensor4D;
          const models = net.models();
          const gl = (models['glance']!.apply(tf.avgPool(flat, 2, 2, 'valid')) as tf.Tensor[])[2]!;
          const patches = tf.image.cropAndResize(
            flat,
            tf.tensor2d(
              Array.from(got.centres!.dataSync()).reduce<number[][]>((boxes, _, i, c) => {
                if (i % 2 === 0) {
                  // cropPatches's corner parameter -> the box of its 16 px patch in a 32 px frame (whole pixels: the same values).
                  const top = c[i]! * 16,
                    left = c[i + 1]! * 16;
                  boxes.push([top / 31, left / 31, (top + 15) / 31, (left + 15) / 31]);
                }
                return boxes;
              }, []),
            ),
            tf.range(0, 8, 1, 'int32'),
            [16, 16],
          );
          const fl = (models['focus']!.apply(patches) as tf.Tensor[])[2]!;
          const ls = (l: tf.Tensor) => tf.reshape(tf.logSoftmax(l as tf.Tensor2D), [2, 4, 3]).arraySync() as number[][][];
          const [g, f, c] = [ls(gl), ls(fl), tf.logSoftmax(cls.logits).arraySync() as number[][][]];
          const e = got.logits.arraySync();
          for (let b = 0; b < 2; b++) {
            for (let k = 0; k < 4; k++) {
              for (let j = 0; j < 3; j++) {
                let heads = 0;
                for (let i = 0; i <= k; i++) heads += g[b]![i]![j]! + f[b]![i]![j]!;
                expect(e[b]![k]![j]).toBeCloseTo((c[b]![k]![j]! + heads / (k + 1)) / 3, 3);
              }
            }
          }
          // The 'focus' prediction (the default): the focus head's log-probabilities averaged over frames 1..k.
          withNet({ prediction: 'focus' }, (focusOnly) => {
            const r = focusOnly.forward(x);
            expect(Array.from(r.centres!.dataSync())).toEqual(Array.from(cls.centres!.dataSync()));
            const fo = r.logits.arraySync();
            for (let b = 0; b < 2; b++) {
              for (let k = 0; k < 4; k++) {
                for (let j = 0; j < 3; j++) {
                  let sum = 0;
                  for (let i = 0; i <= k; i++) sum += f[b]![i]![j]!;
                  expect(fo[b]![k]![j]).toBeCloseTo(sum / (k + 1), 4);
                }
              }
            }
          });
        });
      });
    });
  });

  for (const [name, config] of [
    ['AdaFocusV2', {}],
    ['AdaFocusV2 (random patches)', { patches: 'random' }],
    ['uniform baseline', { method: 'uniform' }],
    ['glance baseline', { method: 'glance' }],
    ['glance baseline, a size that does not divide the frame', { method: 'glance', glanceSize: 12 }],
  ] as const) {
    it(`${name} on decoded pixels (packed bytes and 0-255 floats) gives what forward gives on normalised frames`, () => {
      withNet(config, (net) => {
        const rng = new Rng(11);
        const videos = [0, 1].map(() => Uint8Array.from({ length: 4 * 32 * 32 * 3 }, () => rng.int(0, 256)));
        tf.tidy(() => {
          const a = net.forward(normalise(videos, 4, 32, net.config), { seed: 5 });
          const packed = rawPixels(videos, 4, 32);
          expect(packed.packed).toBe(true);
          for (const pixels of [packed, ByteImages.from(videos, [8, 32, 32, 3], { pack: false })]) {
            const b = net.forwardPixels!(pixels, { seed: 5 });
            expect(tf.max(tf.abs(tf.sub(a.logits, b.logits))).dataSync()[0]).toBeLessThan(1e-4);
            if (a.centres) expect(tf.max(tf.abs(tf.sub(a.centres, b.centres!))).dataSync()[0]).toBeLessThan(1e-5);
          }
          expect(() => net.forwardPixels!(ByteImages.from(videos, [4, 32, 64, 3]))).toThrow(/expected \[B \* 4, 32, 32, 3\] pixels, got \[4,32,64,3\]/);
        });
      });
    });
  }

  for (const [name, config] of [
    ['AdaFocusV2 (policy)', {}],
    ['AdaFocusV2 (centre patches)', { patches: 'centre' }],
    ['uniform baseline', { method: 'uniform' }],
    ['glance baseline, a size that does not divide the frame', { method: 'glance', glanceSize: 12 }],
  ] as const) {
    it(`${name}: step-by-step inference on pixels asks for each frame when its step runs and gives forward's logits`, () => {
      withNet(config, (net) => {
        const rng = new Rng(12);
        const videos = [0, 1].map(() => Uint8Array.from({ length: 4 * 32 * 32 * 3 }, () => rng.int(0, 256)));
        const all = tf.tidy(() => net.forward(normalise(videos, 4, 32, net.config)).logits.arraySync());
        const per = 32 * 32 * 3;
        const asked: number[] = [];
        let state = net.beginPixels!(2, (k) => {
          asked.push(k);
          return ByteImages.from(
            videos.map((v) => v.subarray(k * per, (k + 1) * per)),
            [2, 32, 32, 3],
          );
        });
        for (let k = 0; k < 3; k++) {
          const out = net.step(state);
          state = out.state;
          const got = out.logits.arraySync();
          tf.dispose([out.logits, out.centre, out.size]);
          for (let b = 0; b < 2; b++) for (let j = 0; j < 3; j++) expect(got[b]![j]!).toBeCloseTo(all[b]![k]![j]!, 4);
        }
        // Stopped after 3 of 4 steps: the last frame was never read.
        expect(asked).toEqual([0, 1, 2]);
        tf.dispose(state.tensors);
        const wrong = net.beginPixels!(2, () => ByteImages.from([videos[0]!.subarray(0, per)], [1, 32, 32, 3]));
        expect(() => net.step(wrong)).toThrow(/step 1: expected \[2, 32, 32, 3\] pixels, got \[1,32,32,3\]/);
        tf.dispose(wrong.tensors);
        expect(() => net.beginPixels!(0, () => ByteImages.from([videos[0]!.subarray(0, per)], [1, 32, 32, 3]))).toThrow(
          /batch: must be a positive integer, got 0/,
        );
      });
    });
  }

  for (const [name, config] of [
    ['AdaFocusV2 (policy)', {}],
    ['AdaFocusV2 (centre patches)', { patches: 'centre' }],
    ['uniform baseline', { method: 'uniform' }],
    ['glance baseline', { method: 'glance' }],
    ['AdaFocus V1', { method: 'adafocus_v1', grid: 3, classifierWidth: 16 }],
    ['Uni-AdaFocus', { method: 'uni_adafocus', glanceFrames: 2, focusFrames: 3, spatialHidden: 4, temporalHidden: 4, mcSamples: 4 }],
  ] as const) {
    it(`${name}: step-by-step inference gives the same logits as the all-steps forward`, () => {
      withNet(config, (net) => {
        const x = frames();
        const all = tf.tidy(() => net.forward(x).logits.arraySync());
        let state = net.begin(x);
        for (let k = 0; k < net.steps; k++) {
          const out = net.step(state);
          state = out.state;
          const got = out.logits.arraySync();
          tf.dispose([out.logits, out.centre, out.size]);
          for (let b = 0; b < 2; b++) for (let j = 0; j < 3; j++) expect(got[b]![j]!).toBeCloseTo(all[b]![k]![j]!, 4);
        }
        expect(() => net.step(state)).toThrow(InputError);
        expect(() => tf.tidy(() => void net.begin(tf.zeros([2, 4, 16, 16, 3]) as tf.Tensor5D))).toThrow(/expected \[B, 4, 32, 32, 3\]/);
        tf.dispose([x, ...state.tensors]);
      });
    });
  }

  it("Uni-AdaFocus's spatial prior: untrained, every box is centred where its glance map peaks, at the middle size; spatialPrior 0 (the official) starts elsewhere", () => {
    // Tg = K = T = 4: glance frame f is frame f, and the focus frames are all four in order.
    const uni = { method: 'uni_adafocus', glanceFrames: 4, focusFrames: 4, spatialHidden: 4, temporalHidden: 4, mcSamples: 4 } as const;
    const x = frames();
    const [sideMin, sideMax] = [(32 * 3) / 7, 32];
    const side = sideMin + 0.5 * (sideMax - sideMin);
    const boxCentres = (config: object) =>
      withNet({ ...uni, ...config }, (net) =>
        tf.tidy(() => {
          const r = net.forward(x);
          const c = tf.slice(r.centres!, [0, 1, 0], [2, 4, 2]);
          const sizes = Array.from(tf.slice(r.sizes!, [0, 1, 0], [2, 4, 2]).dataSync());
          // The box's centre in pixels from the centre action: corner c * (S - side), plus side / 2.
          const centres = Array.from(tf.add(tf.mul(c, 32 - side), side / 2).dataSync());
          const g = net.models()['glance']!;
          const maps = namedBackbone(g).apply(tf.avgPool(tf.reshape(x, [8, 32, 32, 3]) as tf.Tensor4D, 2, 2, 'valid')).map! as tf.Tensor4D;
          const peaks = Array.from(saliencyPositions(maps, 3, policyMapCells(g, namedBackbone(g).mapShape)).dataSync());
          return { sizes, centres, peaks: peaks.map((v) => Math.min(Math.max(v * 32, side / 2), 32 - side / 2)) };
        }),
      );
    const prior = boxCentres({});
    prior.sizes.forEach((v) => expect(v).toBeCloseTo(side / 32, 5));
    prior.centres.forEach((v, i) => expect(Math.abs(v - prior.peaks[i]!)).toBeLessThan(0.01));
    // The peaks differ between frames and videos (the test means something).
    expect(Math.max(...prior.peaks) - Math.min(...prior.peaks)).toBeGreaterThan(1);
    const official = boxCentres({ spatialPrior: 0 });
    expect(Math.max(...official.centres.map((v, i) => Math.abs(v - official.peaks[i]!)))).toBeGreaterThan(0.5);
    expect(Math.max(...official.sizes.map((v) => Math.abs(v - side / 32)))).toBeGreaterThan(1e-3);
    x.dispose();
  });

  it("Uni-AdaFocus's 'frames' prediction (the default) averages every frame's head: the glance average as glanceWeight focus frames, and the focus frames seen so far", () => {
    // Tg = 4, so that the default weight (2) is not Tg's.
    const uni = { method: 'uni_adafocus', glanceFrames: 4, focusFrames: 3, spatialHidden: 4, temporalHidden: 4, mcSamples: 4 } as const;
    const x = frames();
    // The same seed gives the same weights whatever the prediction.
    const logits = (extra: Record<string, unknown>) => withNet({ ...uni, ...extra }, (net) => tf.tidy(() => net.forward(x).logits.arraySync()));
    const focus = logits({ prediction: 'focus' });
    // The default weight (2) and others.
    for (const [w, all] of [
      [2, logits({})],
      [0.5, logits({ glanceWeight: 0.5 })],
      [5, logits({ prediction: 'frames', glanceWeight: 5 })],
    ] as const)
      for (let b = 0; b < 2; b++) {
        // The glance-only exit: the glance frames' mean, in both.
        for (let c = 0; c < 3; c++) expect(all[b]![0]![c]!).toBeCloseTo(focus[b]![0]![c]!, 5);
        // Focus exit j: (w x the glance mean + j x the focus frames' mean) / (w + j).
        for (let j = 1; j <= 3; j++)
          for (let c = 0; c < 3; c++) expect(all[b]![j]![c]!).toBeCloseTo((w * focus[b]![0]![c]! + j * focus[b]![j]![c]!) / (w + j), 4);
      }
    x.dispose();
  });

  it('the one-stage loss reaches every part (policy through the crop) and falls when trained', () => {
    withNet({}, (net) => {
      const x = frames();
      const y = tf.tensor1d([0, 2], 'int32');
      const parts = net.parts();
      const vars = Object.values(parts)
        .flat()
        .map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => net.loss(x, y, 1), vars);
      for (const [part, weights] of Object.entries(parts)) {
        const total = weights.reduce((a, w) => {
          const g = grads[(w.read() as tf.Variable).name];
          return a + (g ? tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]!) : 0);
        }, 0);
        expect(total, part).toBeGreaterThan(0);
      }
      const first = value.dataSync()[0]!;
      tf.dispose([value, ...Object.values(grads)]);
      const opt = tf.train.adam(3e-3);
      for (let i = 0; i < 15; i++) tf.tidy(() => void opt.minimize(() => net.loss(x, y, i), false, vars));
      const last = tf.tidy(() => net.loss(x, y, 99).dataSync()[0]!);
      expect(last).toBeLessThan(first * 0.7);
      opt.dispose();
      tf.dispose([x, y]);
    });
  });

  it("randomBranch 'none' (the default): the loss is the glance head's CE plus the policy branch's (step classifier, focus head); 'all' averages in a random-centre branch", () => {
    const x = frames();
    const y = tf.tensor1d([0, 2], 'int32');
    const expected = withNet({ prediction: 'classifier' }, (net) =>
      tf.tidy(() => {
        // Training mode throughout (batch statistics), as the loss runs.
        const r = net.forward(x, { training: true });
        const flat = tf.reshape(x, [8, 32, 32, 3]) as tf.Tensor4D;
        const m = net.models();
        const gl = (m['glance']!.apply(tf.avgPool(flat, 2, 2, 'valid'), { training: true }) as tf.Tensor[])[2]!;
        const fl = (m['focus']!.apply(cropPatches(flat, tf.reshape(r.centres!, [8, 2]) as tf.Tensor2D, 16), { training: true }) as tf.Tensor[])[2]!;
        const targets = tf.oneHot(tf.tensor1d([0, 0, 0, 0, 2, 2, 2, 2], 'int32'), 3);
        const ce = (l: tf.Tensor) => tf.losses.softmaxCrossEntropy(targets, l).dataSync()[0]!;
        return ce(gl) + ce(tf.reshape(r.logits, [8, 3])) + ce(fl);
      }),
    );
    const loss = (config: object) => withNet(config, (net) => tf.tidy(() => net.loss(x, y, 5).dataSync()[0]!));
    expect(loss({})).toBeCloseTo(expected, 4);
    expect(Math.abs(loss({ randomBranch: 'all' }) - expected)).toBeGreaterThan(1e-3);
    tf.dispose([x, y]);
  });

  it('counts GFLOPs per step from the sub-networks; AdaFocus costs less than the uniform baseline', () => {
    // The 'focus' prediction runs the glance only up to the policy's map and no step classifier.
    withNet({ frameSize: 64 }, (net) => {
      const m = net.models();
      const g = m['glance']!;
      const map = previousStageShape(g);
      const upToMap = g.layers.filter((l) => (l.outputShape as number[]).length === 4 && (l.outputShape as number[]).slice(1).join() === map.join()).pop()!;
      const glancePart = countFlops(tf.model({ inputs: g.inputs, outputs: upToMap.output as tf.SymbolicTensor })).macs;
      expect(glancePart).toBeLessThan(countFlops(g).macs * 0.8);
      const policy = countFlops(m['policy_encoder']!).macs;
      expect(net.gflopsPerStep()[0]! * 1e9).toBeCloseTo(glancePart + countFlops(m['focus']!).macs + policy, 0);
    });
    const ada = withNet({ frameSize: 64, prediction: 'ensemble' }, (net) => {
      const m = net.models();
      const head = (model: tf.LayersModel) =>
        countFlops(model)
          .layers.filter((l) => l.name === 'predictions')
          .reduce((a, l) => a + l.macs, 0);
      const backbones = countFlops(m['glance']!).macs - head(m['glance']!) + countFlops(m['focus']!).macs - head(m['focus']!);
      const g = net.gflopsPerStep();
      expect(g).toHaveLength(4);
      expect(g[0]! * 1e9).toBeGreaterThan(backbones);
      expect(g[0]! * 1e9).toBeLessThan(backbones * 1.2);
      return g[0]!;
    });
    const uniform = withNet({ method: 'uniform', frameSize: 64 }, (net) => net.gflopsPerStep()[0]!);
    // Frames 64 px, patches 16 px: the focus net sees 1/16 of the pixels.
    expect(ada).toBeLessThan(uniform / 4);
  });

  it('rejects frames of the wrong size or channel count with an InputError that says what it expected', () => {
    withNet({}, (net) => {
      expect(() => tf.tidy(() => void net.forward(tf.zeros([1, 4, 30, 32, 3]) as tf.Tensor5D))).toThrow(/expected \[B, 4, 32, 32, 3\], got \[1,4,30,32,3\]/);
      expect(() => tf.tidy(() => void net.forward(tf.zeros([1, 4, 32, 32, 1]) as tf.Tensor5D))).toThrow(InputError);
    });
  });
});
