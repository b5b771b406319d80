import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { namedBackbone } from '@saccade/backbones';
import { glanceConfidence, inverseCdfFrames } from '@saccade/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { inOrder, TOY, toyDataset } from '../test/toy.js';
import { createVideoNet } from './create.js';
import type { VideoNet } from './video_net.js';
import { parseConfig, trainingStages } from './config.js';
import { BundleError, CheckpointError, ConfigError } from './errors.js';
import { loadModel, saveBundle } from './node/bundle.js';
import { fileCheckpoints } from './node/checkpoint.js';
import { normalise } from './dataset.js';
import { train, type TrainResult } from './train.js';
import { PAPER_V1, policyRewards } from './methods/adafocus_v1/index.js';
import { downscale } from './net_common.js';

const V1 = { ...TOY, method: 'adafocus_v1', grid: 3, epochs: 1, rlEpochs: 1, finetuneEpochs: 1 } as const;
const UNI = { ...TOY, method: 'uni_adafocus', glanceFrames: 2, focusFrames: 3, spatialHidden: 4, temporalHidden: 4, mcSamples: 4 } as const;
const data = toyDataset(24, 1);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saccade-v1v3-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const frames = () => tf.randomUniform([2, 4, 32, 32, 3], -1, 1, 'float32', 2) as tf.Tensor5D;

/** Parts that get a non-zero gradient from net.loss(…, stage). */
function partsReached(net: VideoNet, stage: number): string[] {
  return tf.tidy(() => {
    const parts = net.parts();
    const vars = Object.values(parts)
      .flat()
      .map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => net.loss(frames(), tf.tensor1d([0, 2], 'int32'), 5, stage), vars);
    return Object.entries(parts)
      .filter(([, ws]) =>
        ws.some((w) => {
          const g = grads[(w.read() as tf.Variable).name];
          return g !== undefined && tf.sum(tf.abs(g)).dataSync()[0]! > 0;
        }),
      )
      .map(([name]) => name)
      .sort();
  });
}

function weightsOf(r: TrainResult): number[][] {
  return Object.values(r.net.models()).flatMap((m) => m.getWeights().map((w) => Array.from(w.dataSync())));
}

describe('AdaFocus V1 reward', () => {
  it('is p(true class | policy patches) - p(true class | random patches), per step', () => {
    tf.tidy(() => {
      const policy = tf.tensor2d([
        [2, 0, 0],
        [0, 1, 0],
      ]);
      const random = tf.tensor2d([
        [0, 0, 0],
        [0, 0, 3],
      ]);
      const targets = tf.tensor2d([
        [1, 0, 0],
        [0, 1, 0],
      ]);
      const r = policyRewards(policy, random, targets);
      const e2 = Math.exp(2);
      const e1 = Math.exp(1);
      const e3 = Math.exp(3);
      expect(r[0]).toBeCloseTo(e2 / (e2 + 2) - 1 / 3, 6);
      expect(r[1]).toBeCloseTo(e1 / (e1 + 2) - 1 / (2 + e3), 6);
    });
  });
});

describe('AdaFocus V1', () => {
  it('each stage trains its own parts: focus + classifier (random patches), the policy (PPO), the classifier', () => {
    const net = createVideoNet({ ...V1, pretrained: false }, 3);
    try {
      // Not pretrained: stage 1 trains the glance network too (by its own head); pretrained, it stays frozen.
      expect(partsReached(net, 0)).toEqual(['classifier', 'focus', 'glance']);
      expect(partsReached(net, 1)).toEqual(['policy']);
      expect(partsReached(net, 2)).toEqual(['classifier']);
    } finally {
      net.dispose();
    }
    expect(trainingStages(parseConfig({ ...V1, pretrained: true })).map((s) => s.parts)).toEqual([['focus', 'classifier'], ['policy'], ['classifier']]);
    expect(trainingStages(parseConfig({ ...V1, stages: 2 }))).toHaveLength(2);
    // The random-policy ablation: the same stages, nothing to learn in stage 2.
    expect(trainingStages(parseConfig({ ...V1, patches: 'random' })).map((s) => s.epochs)).toEqual([1, 0, 1]);
  });

  it('cuts patches at whole pixels on the grid; the random ablation at seeded whole-pixel positions', () => {
    const net = createVideoNet(V1, 3);
    const rnd = createVideoNet({ ...V1, patches: 'random' }, 3);
    try {
      const c = tf.tidy(() => Array.from(net.forward(frames()).centres!.dataSync()));
      // frame 32, patch 16: the top-left corner c * 16 is a whole pixel, and a 3 x 3 grid has corners 0, 8, 16.
      for (const v of c) expect([0, 8, 16]).toContain(Math.round(v * 16 * 1e4) / 1e4);
      const r1 = tf.tidy(() => Array.from(rnd.forward(frames(), { seed: 4 }).centres!.dataSync()));
      const r2 = tf.tidy(() => Array.from(rnd.forward(frames(), { seed: 4 }).centres!.dataSync()));
      expect(r1).toEqual(r2);
      expect(new Set(r1.map((v) => Math.round(v * 16))).size).toBeGreaterThan(5);
      for (const v of r1) expect(Math.abs(v * 16 - Math.round(v * 16))).toBeLessThan(1e-4);
      expect(partsReached(rnd, 2)).toEqual(['classifier']);
      expect(rnd.gflopsPerStep()[0]!).toBeLessThan(net.gflopsPerStep()[0]!);
    } finally {
      net.dispose();
      rnd.dispose();
    }
  });

  it('trains all stages from one call (stage per epoch in the history), and one stage at a time with resume to the same weights', async () => {
    const whole = await train({ config: V1, train: data, val: data });
    const expected = weightsOf(whole);
    expect(whole.history.map((h) => h.stage)).toEqual([1, 2, 3]);
    expect(whole.history.every((h) => Number.isFinite(h.trainLoss))).toBe(true);
    whole.net.dispose();
    const store = fileCheckpoints(join(dir, 'v1'));
    for (const stages of [1, 2, 3]) {
      const r = await train({ config: { ...V1, stages }, train: data, val: data, checkpoints: store, resume: true });
      expect(r.history).toHaveLength(stages);
      if (stages === 3) expect(weightsOf(r)).toEqual(expected);
      r.net.dispose();
    }
    // Going back to fewer stages, or changing anything else, is another run.
    await expect(train({ config: { ...V1, stages: 2 }, train: data, checkpoints: store, resume: true })).rejects.toThrow(CheckpointError);
  });
});

describe("AdaFocus V1, the paper's configuration", () => {
  const PAPER = { ...TOY, ...PAPER_V1, grid: 3, epochs: 1, rlEpochs: 1, finetuneEpochs: 1, backboneEpochs: 1 } as const;

  it('stage 0 fine-tunes the backbones on whole frames; stage 1 trains the classifier loss alone; the official policy encoder', () => {
    const net = createVideoNet({ ...PAPER, pretrained: false }, 3);
    try {
      expect(trainingStages(parseConfig(PAPER)).map((s) => s.name)).toEqual([
        'stage 0: glance + focus backbones on whole frames',
        'stage 1: focus + classifier, random patches',
        'stage 2: policy (PPO)',
        'stage 3: classifier, most likely patches',
      ]);
      expect(partsReached(net, 0)).toEqual(['focus', 'glance']);
      // After stage 0 the glance stays frozen; stage 1 reaches the focus network only through the classifier.
      expect(partsReached(net, 1)).toEqual(['classifier', 'focus']);
      expect(partsReached(net, 2)).toEqual(['policy']);
      expect(partsReached(net, 3)).toEqual(['classifier']);
      const layers = net.models()['policy_encoder']!.layers.map((l) => l.name);
      expect(layers).not.toContain('encoder_conv_bn');
      expect(net.models()['policy_encoder']!.getLayer('encoder_conv').getWeights()[0]!.shape[3]).toBe(32);
      // frame 32, patch 16, a 3 x 3 grid: corners floor(0.5 * 16) = 8 as with rounding; frames in time order.
      expect(net.frameOrder ?? [0, 1, 2, 3]).toEqual([0, 1, 2, 3]);
    } finally {
      net.dispose();
    }
    // The focus head's loss in stage 1 is Saccade's addition: without it the head gets no gradient.
    const withHead = createVideoNet({ ...PAPER, focusHeadLoss: true, pretrained: false }, 3);
    try {
      const headGrad = (n: VideoNet) =>
        tf.tidy(() => {
          const focus = n.models()['focus']!;
          const head = focus.getLayer('predictions').trainableWeights.map((w) => w.read() as tf.Variable);
          const classifier = n.parts()['classifier']!.map((w) => w.read() as tf.Variable);
          const { grads } = tf.variableGrads(() => n.loss(frames(), tf.tensor1d([0, 2], 'int32'), 5, 1), [...head, ...classifier]);
          return head.reduce((a, v) => a + (grads[v.name] ? tf.sum(tf.abs(grads[v.name]!)).dataSync()[0]! : 0), 0);
        });
      const paper = createVideoNet({ ...PAPER, pretrained: false }, 3);
      try {
        expect(headGrad(withHead)).toBeGreaterThan(0);
        expect(headGrad(paper)).toBe(0);
      } finally {
        paper.dispose();
      }
    } finally {
      withHead.dispose();
    }
  });

  it('floors patch corners as the official get_patch', () => {
    // frame 32, patch 12: span 20; a 4 x 4 grid's cell 1 is at 20 / 3 = 6.67: 6 floored, 7 rounded.
    const cfg = { ...PAPER, grid: 4, patchSize: 12 };
    const corners = (c: object) => {
      const net = createVideoNet(c as typeof cfg, 3);
      try {
        return tf.tidy(() => Array.from(net.forward(frames()).centres!.dataSync()).map((v) => Math.round(v * 20 * 1e3) / 1e3));
      } finally {
        net.dispose();
      }
    };
    const floored = corners(cfg);
    const rounded = corners({ ...cfg, patchSnap: 'round' });
    for (const v of floored) expect([0, 6, 13, 20]).toContain(v);
    for (const v of rounded) expect([0, 7, 13, 20]).toContain(v);
  });

  it('trains all four stages, PPO with Adam at its constant 3e-4, and resumes inside the PPO stage to the same weights', async () => {
    const small = toyDataset(8, 1);
    const config = { ...PAPER, batchSize: 4 };
    const whole = await train({ config, train: small });
    const expected = weightsOf(whole);
    expect(whole.history.map((h) => [h.stage, h.lr])).toEqual([
      [1, expect.any(Number)],
      [2, expect.any(Number)],
      [3, 3e-4],
      [4, expect.any(Number)],
    ]);
    whole.net.dispose();
    // Two steps per stage: stop after the first PPO step (the Adam moments of the stage exist), then resume.
    const store = fileCheckpoints(join(dir, 'paper-v1'));
    const first = await train({ config, train: small, checkpoints: store, maxSteps: 5 });
    expect(first.stopped).toBe('maxSteps');
    first.net.dispose();
    const resumed = await train({ config, train: small, checkpoints: store, resume: true });
    try {
      expect(weightsOf(resumed)).toEqual(expected);
    } finally {
      resumed.net.dispose();
    }
    // Without its own optimiser the PPO stage runs on the run's SGD: other weights.
    const shared = await train({ config: { ...config, ppoAdamLr: undefined }, train: small });
    try {
      expect(weightsOf(shared)).not.toEqual(expected);
    } finally {
      shared.net.dispose();
    }
  });
});

/** The glance of UNI's net run by hand on its evaluation glance frames (1 and 3 of 4): vectors [2, 2, c] and head logits [2, 2, 3]. */
function glanceByHand(net: VideoNet, x: tf.Tensor5D) {
  const models = net.models();
  const out = namedBackbone(models['glance']!).apply(downscale(tf.reshape(tf.gather(x, [1, 3], 1), [4, 32, 32, 3]) as tf.Tensor4D, 32, 16));
  return { models, vectors: tf.reshape(out.vector!, [2, 2, -1]) as tf.Tensor3D, logits: tf.reshape(out.logits!, [2, 2, 3]) as tf.Tensor3D };
}

describe('Uni-AdaFocus', () => {
  it('a glance-only exit, then K distinct frames in order, each with its own centre and box size', () => {
    const net = createVideoNet(UNI, 3);
    try {
      expect(net.steps).toBe(4);
      tf.tidy(() => {
        const r = net.forward(frames());
        expect(r.logits.shape).toEqual([2, 4, 3]);
        for (const row of r.frameIndices!.arraySync()) {
          // Step 0 glanced (its last glance frame is 3 of 0..3); then 3 distinct frames, increasing.
          expect(row[0]).toBe(3);
          const focus = row.slice(1);
          expect(focus.every((f) => f >= 0 && f < 4)).toBe(true);
          for (let j = 1; j < 3; j++) expect(focus[j]!).toBeGreaterThan(focus[j - 1]!);
        }
        const [lo, hi] = [(32 * 3) / 7 / 32, 1];
        const sizes = r.sizes!.arraySync();
        r.centres!.arraySync().forEach((video, v) => {
          expect(video[0]!.every(Number.isNaN)).toBe(true);
          expect(sizes[v]![0]!.every(Number.isNaN)).toBe(true);
          for (let j = 1; j < 4; j++) {
            video[j]!.forEach((c) => expect(c >= 0 && c <= 1).toBe(true));
            sizes[v]![j]!.forEach((z) => expect(z >= lo - 1e-6 && z <= hi + 1e-6).toBe(true));
          }
        });
      });
    } finally {
      net.dispose();
    }
  });

  it('chooses the inverse-CDF midpoints of its temporal distribution at inference, seeded stratified draws in training', () => {
    const net = createVideoNet({ ...UNI, dropout: 0 }, 3);
    try {
      tf.tidy(() => {
        const x = frames();
        const r = net.forward(x);
        // The same choice from the temporal policy run by hand on the glance frames (1 and 3 of 4).
        const { models, vectors } = glanceByHand(net, x);
        const weights = tf.softmax(models['policy_temporal']!.predict(vectors) as tf.Tensor).dataSync();
        expect(r.frameIndices!.arraySync().map((row) => row.slice(1))).toEqual(
          [0, 1].map((v) => Array.from(inverseCdfFrames(weights, 2, 2, 4, 3, 'midpoint').subarray(v * 3, v * 3 + 3))),
        );
        // Inference does not depend on a seed.
        expect(Array.from(net.forward(x).frameIndices!.dataSync())).toEqual(Array.from(r.frameIndices!.dataSync()));
        // Training: the loss depends on the step seed (glance frames, frame draws, the Monte-Carlo
        // proxy's draws, random-branch centres): the same seed gives the same loss, others differ.
        const y = tf.tensor1d([1, 2], 'int32');
        const loss = (seed: number) => net.loss(x, y, seed).dataSync()[0]!;
        expect(loss(11)).toBe(loss(11));
        const losses = new Set(Array.from({ length: 6 }, (_, i) => loss(100 + i)));
        expect(losses.size).toBeGreaterThan(1);
      });
    } finally {
      net.dispose();
    }
  });

  it("temporalPrior: untrained, the frames come from the glance's confidence alone (the temporal head starts at zero)", () => {
    const net = createVideoNet({ ...UNI, dropout: 0, temporalPrior: 2, focusFrames: 2 }, 3);
    try {
      tf.tidy(() => {
        const x = frames();
        const r = net.forward(x);
        const { models, vectors, logits } = glanceByHand(net, x);
        // The learned logits are zero: the temporal head's kernel starts at zero.
        expect(Array.from((models['policy_temporal']!.predict(vectors) as tf.Tensor).dataSync())).toEqual([0, 0, 0, 0]);
        const weights = tf.softmax(tf.mul(glanceConfidence(logits), 2)).dataSync();
        expect(r.frameIndices!.arraySync().map((row) => row.slice(1))).toEqual(
          [0, 1].map((v) => Array.from(inverseCdfFrames(weights, 2, 2, 4, 2, 'midpoint').subarray(v * 2, v * 2 + 2))),
        );
      });
    } finally {
      net.dispose();
    }
  });

  it('the random branch (off by default) adds a second branch to the loss; it works with one box side (sideMin = sideMax) and with a patch outside the sides', () => {
    expect(parseConfig({ method: 'uni_adafocus' })).toMatchObject({ randomBranch: false });
    const lossOf = (extra: Record<string, unknown>) => {
      const net = createVideoNet({ ...UNI, ...extra }, 3);
      try {
        return tf.tidy(() => net.loss(frames(), tf.tensor1d([1, 2], 'int32'), 3).dataSync()[0]!);
      } finally {
        net.dispose();
      }
    };
    expect(lossOf({})).toBe(lossOf({ randomBranch: false }));
    expect(Math.abs(lossOf({ randomBranch: true }) - lossOf({}))).toBeGreaterThan(1e-4);
    for (const sides of [
      { sideMin: 16, sideMax: 16 },
      { sideMin: 20, sideMax: 28 },
    ]) {
      const net = createVideoNet({ ...UNI, ...sides, randomBranch: true }, 3);
      try {
        const loss = tf.tidy(() => net.loss(frames(), tf.tensor1d([1, 2], 'int32'), 3).dataSync()[0]!);
        expect(Number.isFinite(loss), JSON.stringify(sides)).toBe(true);
      } finally {
        net.dispose();
      }
    }
  });

  it("spatialGradient 'crop' adds the learned branch's losses to the spatial policy's gradient, through the crop, and changes nothing else", () => {
    const grads = (spatialGradient: 'proxy' | 'crop') => {
      const net = createVideoNet({ ...UNI, spatialGradient }, 3);
      try {
        return tf.tidy(() => {
          const m = net.models();
          const parts = ['policy_spatial', 'policy_temporal', 'focus'].map((k) => m[k]!.trainableWeights.map((w) => w.read() as tf.Variable));
          const { value, grads } = tf.variableGrads(() => net.loss(frames(), tf.tensor1d([1, 2], 'int32'), 3), parts.flat());
          return {
            loss: value.dataSync()[0]!,
            parts: parts.map((vs) => vs.flatMap((v) => Array.from(grads[v.name]?.dataSync() ?? new Float32Array(v.size)))),
          };
        });
      } finally {
        net.dispose();
      }
    };
    const [proxy, crop] = [grads('proxy'), grads('crop')];
    const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    const scale = (a: number[]) => Math.max(...a.map(Math.abs));
    // The same patches (the differentiable crop and the fast one agree): the same loss, the same
    // gradients for the temporal policy and the focus network.
    expect(crop.loss).toBeCloseTo(proxy.loss, 4);
    expect(maxDiff(crop.parts[1]!, proxy.parts[1]!)).toBeLessThan(1e-4 * scale(proxy.parts[1]!));
    expect(maxDiff(crop.parts[2]!, proxy.parts[2]!)).toBeLessThan(1e-3 * scale(proxy.parts[2]!));
    // The spatial policy's gradient gains the learned branch's terms.
    expect(maxDiff(crop.parts[0]!, proxy.parts[0]!)).toBeGreaterThan(0.05 * scale(proxy.parts[0]!));
  });

  it('the loss reaches every part: the policies through their proxies and the scale-norm loss', () => {
    const net = createVideoNet(UNI, 3);
    try {
      expect(partsReached(net, 0)).toEqual(['classifier', 'focus', 'glance', 'policy']);
      // Spatial policy, temporal policy and proxy head each get a gradient; the spatial policy also
      // without the scale-norm loss (through the spatial proxy alone: the focus network's patches are
      // cut at detached actions).
      const reached = (n: VideoNet) =>
        tf.tidy(() => {
          const m = n.models();
          const vars = [m['policy_spatial']!, m['policy_temporal']!, m['policy_proxy']!].map((x) => x.trainableWeights.map((w) => w.read() as tf.Variable));
          const { grads } = tf.variableGrads(() => n.loss(frames(), tf.tensor1d([1, 2], 'int32'), 3), vars.flat());
          return vars.map((vs) => vs.some((v) => grads[v.name] !== undefined && tf.sum(tf.abs(grads[v.name]!)).dataSync()[0]! > 0));
        });
      expect(reached(net)).toEqual([true, true, true]);
      const noNorm = createVideoNet({ ...UNI, normWeight: 0 }, 3);
      try {
        expect(reached(noNorm)).toEqual([true, true, true]);
      } finally {
        noNorm.dispose();
      }
    } finally {
      net.dispose();
    }
  });

  it('costs the glance over its frames at step 1, both policies with the first focus frame, one focus patch per step after', () => {
    const uni = createVideoNet({ ...UNI, focusFrames: 2 }, 3);
    const v2 = createVideoNet(TOY, 3);
    try {
      const g = uni.gflopsPerStep();
      const g2 = v2.gflopsPerStep();
      expect(g).toHaveLength(3);
      expect(g[1]!).toBeGreaterThan(g[2]!);
      // Two glance frames and two patches instead of four of each: fewer GFLOPs than V2 per video.
      expect(g.reduce((a, b) => a + b)).toBeLessThan(g2.reduce((a, b) => a + b));
    } finally {
      uni.dispose();
      v2.dispose();
    }
  });
});

describe('V1 and Uni-AdaFocus bundles and config errors', () => {
  it('save and load to the same logits; classify reports the frame of each Uni-AdaFocus patch; another method is refused', async () => {
    for (const [name, config] of [
      ['v1', { ...V1, stages: 1 }],
      ['uni', { ...UNI, epochs: 1 }],
    ] as const) {
      const r = await train({ config, train: data });
      const path = join(dir, `bundle-${name}`);
      await saveBundle(r.net, path, { classes: ['r', 'g', 'b'] });
      const videos = [0, 1].map((i) => data.video(i));
      const expected = tf.tidy(() => Array.from(r.net.forward(normalise(inOrder(r.net, videos), 4, 32, r.config)).logits.dataSync()));
      const steps = r.net.steps;
      r.net.dispose();
      const m = await loadModel(path);
      try {
        const got = Array.from(m.logitsBatch(videos));
        got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
        const c = m.classifyFrames({ data: videos[0]!, frames: 4, width: 32, height: 32 });
        expect(c.steps).toBe(steps);
        // Uni-AdaFocus's first step is the glance-only exit: no patch.
        expect(c.patches).toHaveLength(name === 'uni' ? steps - 1 : steps);
        if (name === 'uni') expect(c.patches.every((p) => p.frame >= 0 && p.frame < 4 && p.height! >= (32 * 3) / 7 - 1e-3 && p.width! <= 32)).toBe(true);
      } finally {
        m.dispose();
      }
      await expect(loadModel(path, { method: 'adafocus_v2' })).rejects.toThrow(BundleError);
      await expect(loadModel(path, { method: 'adafocus_v2' })).rejects.toThrow(new RegExp(`holds a ${config.method} model, not adafocus_v2`));
    }
  });

  it('rejects a grid that does not fit, more focus frames than frames, centre patches with V1 and any baseline patches with Uni-AdaFocus', () => {
    expect(() => parseConfig({ method: 'adafocus_v1', frameSize: 64, patchSize: 60, grid: 7 })).toThrow(ConfigError);
    expect(() => parseConfig({ method: 'adafocus_v1', frameSize: 64, patchSize: 60, grid: 7 })).toThrow(
      /grid: a 7 x 7 grid of 60px patches does not fit a 64px frame/,
    );
    expect(() => parseConfig({ method: 'uni_adafocus', frames: 8, focusFrames: 9 })).toThrow(/focusFrames: must be <= frames \(8\)/);
    expect(() => parseConfig({ method: 'uni_adafocus', frames: 8, glanceFrames: 9 })).toThrow(/glanceFrames: must be <= frames \(8\)/);
    expect(() => parseConfig({ method: 'uni_adafocus', frameSize: 64, sideMin: 50, sideMax: 40 })).toThrow(/sideMin \(50\) <= sideMax \(40\)/);
    expect(() => parseConfig({ method: 'uni_adafocus', patches: 'random' })).toThrow(/patches: must be policy for uni_adafocus/);
    expect(() => parseConfig({ method: 'adafocus_v1', patches: 'centre' })).toThrow(/patches: must be policy or random for adafocus_v1/);
  });
});
