// classifySteps: the step-by-step run a UI draws from (the web app), with the policy's map.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TOY, toyDataset } from '../test/toy.js';
import { createVideoNet } from './create.js';
import type { ClassifyStep } from './model.js';
import { loadModel, saveBundle } from './node/bundle.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saccade-steps-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const data = toyDataset(3, 5);
const frames = { data: data.video(1), frames: 4, width: 32, height: 32 };
const METHODS = [
  ['adafocus_v2', { ...TOY }],
  ['adafocus_v1', { ...TOY, method: 'adafocus_v1', grid: 3 }],
  ['uni_adafocus', { ...TOY, method: 'uni_adafocus', glanceFrames: 2, focusFrames: 3, spatialHidden: 4, temporalHidden: 4, mcSamples: 4 }],
] as const;

describe('classifySteps', () => {
  for (const [method, config] of METHODS) {
    it(`${method}: yields each step as classifyFrames runs it, with the policy's map where the method has one, and frees everything when stopped early`, async () => {
      const net = createVideoNet(config, 3);
      const path = join(dir, method);
      await saveBundle(net, path, { classes: ['red', 'green', 'blue'] });
      net.dispose();
      const m = await loadModel(path);
      try {
        // Stop after step 2: the threshold of step 2 accepts anything, step 1's nothing.
        const thresholds = Array.from({ length: m.meta.steps }, (_, k) => (k === 1 ? -Infinity : Infinity));
        const events: ClassifyStep[] = [];
        const run = m.classifySteps(frames, { thresholds, maps: true });
        let next = run.next();
        while (!next.done) {
          events.push(next.value);
          next = run.next();
        }
        const result = next.value;
        const direct = m.classifyFrames(frames, { thresholds });
        const { timingsMs: _a, ...got } = result;
        const { timingsMs: _b, ...want } = direct;
        expect(got).toEqual(want);
        expect(events.map((e) => [e.step, e.exit])).toEqual([
          [1, false],
          [2, true],
        ]);
        expect(result.exitStep).toBe(2);
        events.forEach((e, k) => {
          expect(e.frame).toBe(result.trace[k]!.frame);
          expect(e.label).toBe(result.trace[k]!.label);
          expect(e.probabilities.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
          expect(e.probabilities[e.index]).toBe(e.probability);
          expect(e.gflops).toBeCloseTo(
            m.meta.gflopsPerStep.slice(0, k + 1).reduce((a, b) => a + b, 0),
            9,
          );
        });
        expect(events[1]!.probabilities[result.index]).toBe(result.probability);
        // Each step's patch is the result's (Uni-AdaFocus's first step, the glance-only exit, cuts none).
        expect(events.flatMap((e) => (e.patch ? [e.patch] : []))).toEqual(result.patches);
        expect(events[0]!.patch === undefined).toBe(method === 'uni_adafocus');
        if (method === 'uni_adafocus') {
          // Its policies read the whole glance once: no per-step map.
          expect(events.every((e) => e.map === undefined)).toBe(true);
        } else {
          for (const e of events) {
            const map = e.map!;
            expect(map.values).toHaveLength(map.width * map.height);
            expect(Math.max(...map.values)).toBeCloseTo(1, 6);
            expect(Math.min(...map.values)).toBeGreaterThanOrEqual(0);
          }
          if (method === 'adafocus_v1') {
            // The grid's most likely cell is the one V1 looked at (cell (i, j) has its centre at (i, j) / (grid - 1)).
            for (const e of events) {
              const map = e.map!;
              expect([map.width, map.height]).toEqual([3, 3]);
              const top = Array.from(map.values).indexOf(1);
              const { y, x, size } = e.patch!;
              expect([(y - size / 2) / (32 - size), (x - size / 2) / (32 - size)]).toEqual([Math.floor(top / 3) / 2, (top % 3) / 2]);
            }
          }
        }
        // Stopped after one step: no tensor outlives the run.
        const before = tf.memory().numTensors;
        const partial = m.classifySteps(frames, { maps: true });
        expect(partial.next().done).toBe(false);
        partial.return(undefined as never);
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        m.dispose();
      }
    }, 120_000);
  }

  it('fullFrameGflops: the uniform baseline of the same backbone and frame size over all frames', async () => {
    const net = createVideoNet(TOY, 3);
    const path = join(dir, 'full');
    await saveBundle(net, path, { classes: ['red', 'green', 'blue'] });
    net.dispose();
    const uniform = createVideoNet({ ...TOY, method: 'uniform' }, 3);
    const expected = uniform.gflopsPerStep().reduce((a, b) => a + b, 0);
    uniform.dispose();
    const m = await loadModel(path);
    try {
      expect(m.fullFrameGflops()).toBeCloseTo(expected, 12);
      expect(m.fullFrameGflops()).toBeGreaterThan(0);
    } finally {
      m.dispose();
    }
  });
});
