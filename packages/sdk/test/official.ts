// The equivalence check of official AdaFocus V1 and V2 checkpoints against a PyTorch reference's
// outputs (tools/official/adafocus_v{1,2}_reference.py write checkpoint.pth.tar, frames.bin,
// reference.json).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { namedBackbone, readTorchCheckpoint, torchStateDict } from '@saccade/backbones';
import { expect } from 'vitest';

import { glanceIndices } from '../src/methods/adafocus_v1_tsm/index.js';
import { glanceIndices as uniGlanceIndices } from '../src/methods/uni_adafocus/schema.js';
import { withSavedPolicy } from '../src/node/official.js';
import { importOfficialState } from '../src/official.js';
import type { VideoNet } from '../src/video_net.js';

interface Reference {
  videos: number;
  frames: number;
  frameSize: number;
  patchSize: number;
  classes: number;
  order: number[];
  logits: number[][][];
  /** Patch centres in Saccade's convention: V2's policy actions, V1's patch corners / (frame - patch). */
  actions?: number[][][];
  centres?: number[][][];
  glanceLogits: number[][][];
}

/** max |a - b| / max |b|: the error relative to the reference's scale. */
function relative(a: number[], b: number[]): number {
  let err = 0;
  let scale = 0;
  a.forEach((v, i) => {
    err = Math.max(err, Math.abs(v - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  });
  return err / Math.max(scale, 1e-12);
}

const softmaxMax = (row: number[]) => {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  return 1 / e.reduce((a, b) => a + b, 0);
};

/** The step at which each video exits: the first whose max softmax reaches the step's threshold (the last step always). */
const exits = (logits: number[][][], thresholds: number[]) =>
  logits.map((steps) => steps.findIndex((row, k) => k === steps.length - 1 || softmaxMax(row) >= thresholds[k]!));

/** The imported network of an official checkpoint against its reference: logits, centres, the glance head, exits and predictions. */
export async function checkOfficial(
  dir: string,
  method: 'adafocus_v1' | 'adafocus_v2',
  expectations: (net: VideoNet, ignored: string[]) => void = () => {},
  tolerance = 1e-4,
): Promise<{ logits: number; centres: number; glance: number }> {
  const ref = JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')) as Reference;
  const state = torchStateDict(readTorchCheckpoint(await readFile(join(dir, 'checkpoint.pth.tar')), 'checkpoint.pth.tar'), 'checkpoint.pth.tar');
  const { net, ignored } = importOfficialState(state, method, { patchSize: ref.patchSize, frameSize: ref.frameSize, frames: ref.frames }, 'checkpoint.pth.tar');
  try {
    expect([net.config.frames, net.classes]).toEqual([ref.frames, ref.classes]);
    expect(net.frameOrder ?? [...Array(ref.frames).keys()]).toEqual(ref.order);
    expectations(net, ignored);
    const bytes = await readFile(join(dir, 'frames.bin'));
    const s = ref.frameSize;
    const got = tf.tidy(() => {
      const chronological = tf.tensor5d(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), [ref.videos, ref.frames, s, s, 3]);
      // Step k sees frame frameOrder[k], as Saccade feeds it (train, evaluate, classify).
      const x = tf.gather(chronological, net.frameOrder ? [...net.frameOrder] : [...Array(ref.frames).keys()], 1) as tf.Tensor5D;
      const r = net.forward(x);
      const g = namedBackbone(net.models()['glance']!).apply(tf.reshape(x, [-1, s, s, 3]) as tf.Tensor4D).logits;
      return { logits: r.logits.arraySync(), centres: r.centres!.arraySync(), glance: Array.from(g.dataSync()) };
    });
    const err = {
      logits: relative(got.logits.flat(2), ref.logits.flat(2)),
      centres: relative(got.centres.flat(2), (ref.centres ?? ref.actions)!.flat(2)),
      glance: relative(got.glance, ref.glanceLogits.flat(2)),
    };
    expect(err.logits, 'per-step logits').toBeLessThan(tolerance);
    expect(err.centres, 'patch centres').toBeLessThan(tolerance);
    expect(err.glance, "the glance head's logits").toBeLessThan(tolerance);
    // Exit decisions: each step's threshold sits between two videos' reference confidences (with
    // one video, just above it at even steps and just below at odd ones), never on one.
    const thresholds = ref.logits[0]!.map((_, k) => {
      const c = ref.logits.map((v) => softmaxMax(v[k]!)).sort((a, b) => a - b);
      if (c.length === 1) return c[0]! * (k % 2 === 0 ? 1.01 : 0.99);
      const mid = c.length >> 1;
      return (c[mid - 1]! + c[mid]!) / 2;
    });
    expect(exits(got.logits, thresholds)).toEqual(exits(ref.logits, thresholds));
    // Every step's prediction is the reference's.
    expect(got.logits.map((v) => v.map((row) => row.indexOf(Math.max(...row))))).toEqual(ref.logits.map((v) => v.map((row) => row.indexOf(Math.max(...row)))));
    return err;
  } finally {
    net.dispose();
  }
}

/** Official AdaFocusV2: the paper's dense policy and the classifier's prediction; the glance's ImageNet head left out. */
export const checkOfficialV2 = (dir: string, tolerance = 1e-4) =>
  checkOfficial(
    dir,
    'adafocus_v2',
    (net, ignored) => {
      expect(ignored.some((k) => k.startsWith('global_CNN.classifier.'))).toBe(true);
      expect([net.config['policyReadout'], net.config['prediction']]).toEqual(['dense', 'classifier']);
    },
    tolerance,
  );

/** Official AdaFocus V1: the official encoder and corners, frames in time order; the PPO learner copy left out (policy_old acts). */
export const checkOfficialV1 = (dir: string, tolerance = 1e-4) =>
  checkOfficial(
    dir,
    'adafocus_v1',
    (net, ignored) => {
      expect(ignored.some((k) => k.startsWith('focuser.policy.policy.'))).toBe(true);
      expect([net.config['policyChannels'], net.config['policyNorm'], net.config['patchSnap'], net.config.frameOrder]).toEqual([
        32,
        false,
        'floor',
        'chronological',
      ]);
    },
    tolerance,
  );

/**
 * The official Something-Something AdaFocus V1 (TSM) against its reference
 * (tools/official/adafocus_v1_tsm_reference.py): read as `saccade import --method v1` reads it
 * (the checkpoint's `policy` entry joining the model's state dict), planned as adafocus_v1_tsm; the
 * clip's logits, its patch position and the glance head's per-frame logits.
 */
export async function checkOfficialV1Tsm(dir: string, tolerance = 1e-4): Promise<{ logits: number; centres: number; glance: number }> {
  const ref = JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')) as Reference & {
    glanceFrames: number;
    glanceSize: number;
    shiftDiv: number;
    grid: number;
    glanceIndices: number[];
  };
  const checkpoint = readTorchCheckpoint(await readFile(join(dir, 'checkpoint.pth.tar')), 'checkpoint.pth.tar');
  const state = withSavedPolicy(checkpoint, torchStateDict(checkpoint, 'checkpoint.pth.tar'));
  const options = { patchSize: ref.patchSize, frameSize: ref.frameSize, frames: ref.frames, glanceSize: ref.glanceSize, shiftDiv: ref.shiftDiv };
  const { net, ignored } = importOfficialState(state, 'adafocus_v1', options, 'checkpoint.pth.tar');
  try {
    expect([net.config.method, net.config.frames, net.config['glanceFrames'], net.classes, net.steps]).toEqual([
      'adafocus_v1_tsm',
      ref.frames,
      ref.glanceFrames,
      ref.classes,
      1,
    ]);
    expect(net.config['action']).toBe(ref.grid === 0 ? 'continuous' : 'discrete');
    expect(glanceIndices(ref.frames, ref.glanceFrames)).toEqual(ref.glanceIndices);
    expect(ignored.some((k) => k.startsWith('focuser.net.base_model.fc.'))).toBe(true);
    const bytes = await readFile(join(dir, 'frames.bin'));
    const [s, g] = [ref.frameSize, ref.glanceSize];
    const got = tf.tidy(() => {
      const x = tf.tensor5d(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), [ref.videos, ref.frames, s, s, 3]);
      const r = net.forward(x);
      const glanceIn = tf.reshape(tf.gather(x, ref.glanceIndices, 1), [-1, s, s, 3]) as tf.Tensor4D;
      const small = g === s ? glanceIn : tf.image.resizeNearestNeighbor(glanceIn, [g, g]);
      const gl = namedBackbone(net.models()['glance']!).apply(small).logits;
      return { logits: r.logits.arraySync(), centres: r.centres!.arraySync(), glance: Array.from(gl.dataSync()) };
    });
    const err = {
      logits: relative(got.logits.flat(2), ref.logits.flat(2)),
      centres: relative(got.centres.flat(2), ref.centres!.flat(2)),
      glance: relative(got.glance, ref.glanceLogits.flat(2)),
    };
    expect(err.logits, 'logits').toBeLessThan(tolerance);
    expect(err.centres, 'patch positions').toBeLessThan(tolerance);
    expect(err.glance, "the glance head's logits").toBeLessThan(tolerance);
    // One step: every video exits there; its prediction is the reference's.
    expect(got.logits.map((v) => v.map((row) => row.indexOf(Math.max(...row))))).toEqual(ref.logits.map((v) => v.map((row) => row.indexOf(Math.max(...row)))));
    return err;
  } finally {
    net.dispose();
  }
}

interface UniReference {
  videos: number;
  frames: number;
  glanceFrames: number;
  focusFrames: number;
  frameSize: number;
  patchSize: number;
  sideMin: number;
  sideMax: number;
  classes: number;
  /** [B][Tg + K][classes]: the glance classifiers, then the focus ones. */
  logits: number[][][];
  glanceIndices: number[];
  /** [B][Tg]: the temporal policy's distribution. */
  weights: number[][];
  focusIndices: number[][];
  /** [B][K][4]: centre y, x and size y, x at the chosen frames. */
  actions: number[][][];
  glanceLogits: number[][][];
}

/**
 * The official Uni-AdaFocus against its reference (tools/official/uni_adafocus_reference.py): the
 * exits (the glance-only one, then one per focus frame: the official early exit's 1 + K), the
 * patches' centres and box sizes, the chosen frames, the glance frames, the temporal distribution,
 * the glance head, exit decisions and predictions.
 */
export async function checkOfficialUni(
  dir: string,
  tolerance = 1e-4,
): Promise<{ logits: number; centres: number; sizes: number; weights: number; glance: number }> {
  const ref = JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')) as UniReference;
  const state = torchStateDict(readTorchCheckpoint(await readFile(join(dir, 'checkpoint.pth.tar')), 'checkpoint.pth.tar'), 'checkpoint.pth.tar');
  const options = { patchSize: ref.patchSize, frameSize: ref.frameSize, frames: ref.frames, sideMin: ref.sideMin, sideMax: ref.sideMax };
  const { net, ignored } = importOfficialState(state, 'uni_adafocus', options, 'checkpoint.pth.tar');
  const [tg, k, s] = [ref.glanceFrames, ref.focusFrames, ref.frameSize];
  try {
    expect([net.config.frames, net.classes, net.steps, net.config['glanceFrames'], net.config['focusFrames']]).toEqual([ref.frames, ref.classes, k + 1, tg, k]);
    expect(ignored.some((key) => key.startsWith('global_CNN.classifier.'))).toBe(true);
    expect(uniGlanceIndices(ref.frames, tg)).toEqual(ref.glanceIndices);
    const bytes = await readFile(join(dir, 'frames.bin'));
    const got = tf.tidy(() => {
      const x = tf.tensor5d(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), [ref.videos, ref.frames, s, s, 3]);
      const r = net.forward(x);
      const glanceFrames = tf.reshape(tf.gather(x, ref.glanceIndices, 1), [-1, s, s, 3]) as tf.Tensor4D;
      const g = namedBackbone(net.models()['glance']!).apply(glanceFrames);
      const weights = tf.softmax(net.models()['policy_temporal']!.predict(tf.reshape(g.vector!, [ref.videos, tg, -1])) as tf.Tensor);
      return {
        logits: r.logits.arraySync(),
        centres: r.centres!.arraySync(),
        sizes: r.sizes!.arraySync(),
        frames: r.frameIndices!.arraySync(),
        weights: Array.from(weights.dataSync()),
        glance: Array.from(g.logits!.dataSync()),
      };
    });
    // Saccade's exits are the official early exit's: the last glance classifier, then the K focus ones.
    const exitsRef = ref.logits.map((v) => v.slice(tg - 1));
    const sideOf = (a: number) => (ref.sideMin + a * (ref.sideMax - ref.sideMin)) / s;
    const err = {
      logits: relative(got.logits.flat(2), exitsRef.flat(2)),
      centres: relative(got.centres.flatMap((v) => v.slice(1)).flat(), ref.actions.flatMap((v) => v.map((a) => [a[0]!, a[1]!])).flat()),
      sizes: relative(got.sizes.flatMap((v) => v.slice(1)).flat(), ref.actions.flatMap((v) => v.map((a) => [sideOf(a[2]!), sideOf(a[3]!)])).flat()),
      weights: relative(got.weights, ref.weights.flat()),
      glance: relative(got.glance, ref.glanceLogits.flat(2)),
    };
    expect(err.logits, 'per-exit logits').toBeLessThan(tolerance);
    expect(err.centres, 'patch centres').toBeLessThan(tolerance);
    expect(err.sizes, 'patch box sizes').toBeLessThan(tolerance);
    expect(err.weights, "the temporal policy's distribution").toBeLessThan(tolerance);
    expect(err.glance, "the glance head's logits").toBeLessThan(tolerance);
    // The glance-only exit cuts no patch; the focus steps see the reference's frames.
    got.centres.forEach((v) => expect(v[0]!.every(Number.isNaN)).toBe(true));
    expect(got.frames.map((v) => v.slice(1))).toEqual(ref.focusIndices);
    const thresholds = exitsRef[0]!.map((_, j) => {
      const c = exitsRef.map((v) => softmaxMax(v[j]!)).sort((a, b) => a - b);
      if (c.length === 1) return c[0]! * (j % 2 === 0 ? 1.01 : 0.99);
      const mid = c.length >> 1;
      return (c[mid - 1]! + c[mid]!) / 2;
    });
    expect(exits(got.logits, thresholds)).toEqual(exits(exitsRef, thresholds));
    expect(got.logits.map((v) => v.map((row) => row.indexOf(Math.max(...row))))).toEqual(exitsRef.map((v) => v.map((row) => row.indexOf(Math.max(...row)))));
    return err;
  } finally {
    net.dispose();
  }
}
