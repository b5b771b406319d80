// The equivalence check of official AdaFocusV2 checkpoints against a PyTorch reference's outputs
// (tools/official/adafocus_v2_reference.py writes checkpoint.pth.tar, frames.bin, reference.json).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { namedBackbone, readTorchCheckpoint, torchStateDict } from '@saccade/backbones';
import { expect } from 'vitest';

import { importOfficialState } from '../src/official.js';

interface Reference {
  videos: number;
  frames: number;
  frameSize: number;
  patchSize: number;
  classes: number;
  order: number[];
  logits: number[][][];
  actions: number[][][];
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

export async function checkOfficialV2(dir: string, tolerance = 1e-4): Promise<{ logits: number; centres: number; glance: number }> {
  const ref = JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')) as Reference;
  const state = torchStateDict(readTorchCheckpoint(await readFile(join(dir, 'checkpoint.pth.tar')), 'checkpoint.pth.tar'), 'checkpoint.pth.tar');
  const { net, ignored } = importOfficialState(state, 'adafocus_v2', { patchSize: ref.patchSize, frameSize: ref.frameSize }, 'checkpoint.pth.tar');
  try {
    expect(ignored.some((k) => k.startsWith('global_CNN.classifier.'))).toBe(true);
    expect([net.config['policyReadout'], net.config['prediction'], net.config.frames, net.classes]).toEqual(['dense', 'classifier', ref.frames, ref.classes]);
    expect(net.frameOrder).toEqual(ref.order);
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
      centres: relative(got.centres.flat(2), ref.actions.flat(2)),
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
