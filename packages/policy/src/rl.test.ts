import * as tf from '@tensorflow/tfjs';
import { Rng } from '@saccade/tensor';
import { describe, expect, it } from 'vitest';

import { PolicyOptionError } from './errors.js';
import { createRlPolicy, discountedReturns, gridCentres, ppoLoss, type RlAction } from './rl.js';

const SHAPE = [3, 3, 8] as const;

function maps(seed: number, b: number, t: number): tf.Tensor5D {
  return tf.randomNormal([b, t, ...SHAPE], 0, 1, 'float32', seed) as tf.Tensor5D;
}

describe('discountedReturns', () => {
  it('discounts backwards per video and standardises over the batch', () => {
    const r = discountedReturns(new Float32Array([1, 0, 2, 0, 1, 0]), 2, 3, 0.5);
    expect(Array.from(r)).toEqual([1.5, 1, 2, 0.5, 1, 0]);
    const s = discountedReturns(new Float32Array([1, 0, 2, 0, 1, 0]), 2, 3, 0.5, true);
    const mean = s.reduce((a, v) => a + v, 0) / 6;
    const std = Math.sqrt(s.reduce((a, v) => a + (v - mean) ** 2, 0) / 5);
    expect(mean).toBeCloseTo(0, 6);
    expect(std).toBeCloseTo(1, 4);
    expect(() => discountedReturns(new Float32Array(5), 2, 3, 0.5)).toThrow(PolicyOptionError);
  });
});

describe('ppoLoss', () => {
  it('is the clipped surrogate + value loss - entropy bonus, and the advantage does not train the critic', () => {
    const logProbs = [Math.log(0.5), Math.log(0.9), Math.log(0.2)];
    const old = [Math.log(0.25), Math.log(0.9), Math.log(0.4)];
    const values = [0.2, -0.1, 0.5];
    const returns = [1, 0.3, -0.5];
    const entropy = [1.2, 0.8, 1];
    // By hand: ratio 2 (clipped to 1.2), 1, 0.5 (clipped to 0.8).
    let expected = 0;
    for (let i = 0; i < 3; i++) {
      const ratio = Math.exp(logProbs[i]! - old[i]!);
      const a = returns[i]! - values[i]!;
      const surrogate = Math.min(ratio * a, Math.min(Math.max(ratio, 0.8), 1.2) * a);
      expected += -surrogate + 0.5 * (values[i]! - returns[i]!) ** 2 - 0.01 * entropy[i]!;
    }
    expected /= 3;
    const v = tf.tensor1d(values);
    const lp = tf.tensor1d(logProbs);
    const args = (vv: tf.Tensor, ll: tf.Tensor) => ({
      logProbs: ll,
      oldLogProbs: tf.tensor1d(old),
      values: vv,
      returns: tf.tensor1d(returns),
      entropy: tf.tensor1d(entropy),
    });
    const [loss, dV] = tf.tidy(() => [
      ppoLoss(args(v, lp)).dataSync()[0]!,
      tf
        .grad((vv: tf.Tensor) => ppoLoss(args(vv, lp)))(v)
        .dataSync(),
    ]);
    expect(loss).toBeCloseTo(expected, 5);
    // Only the value term reaches the values: d/dV = 0.5 * 2 (V - G) / 3.
    Array.from(dV!).forEach((g, i) => expect(g).toBeCloseTo((values[i]! - returns[i]!) / 3, 5));
    tf.dispose([v, lp]);
  });
});

describe('rl policy', () => {
  it('places grid cells evenly over the frame', () => {
    const c = gridCentres([0, 5, 8], 3);
    expect(Array.from(c.dataSync())).toEqual([0, 0, 0.5, 1, 1, 1]);
    c.dispose();
  });

  it.each([
    ['discrete', { kind: 'discrete', grid: 3 }],
    ['continuous', { kind: 'continuous', std: 0.25 }],
  ] as [string, RlAction][])('%s: the same seed gives the same actions, and evaluate re-scores them as act did', (_, action) => {
    const policy = createRlPolicy({ featureShape: SHAPE, action, hidden: 16, seed: 1 });
    const x = maps(2, 2, 4);
    const rollout = (seed: number) => {
      const rng = new Rng(seed);
      let state = policy.initialState(2);
      const actions: tf.Tensor[] = [];
      const logProbs: tf.Tensor[] = [];
      const values: tf.Tensor[] = [];
      const centres: tf.Tensor[] = [];
      for (let k = 0; k < 4; k++) {
        const frame = tf.tidy(() => tf.reshape(tf.slice(x, [0, k, 0, 0, 0], [2, 1, ...SHAPE]), [2, ...SHAPE]) as tf.Tensor4D);
        const s = policy.act(frame, state, { rng });
        frame.dispose();
        state.dispose();
        state = s.state;
        actions.push(s.actions);
        logProbs.push(s.logProbs);
        values.push(s.values);
        centres.push(s.centres);
      }
      state.dispose();
      const out = tf.tidy(() => ({
        actions: tf.stack(actions, 1),
        logProbs: tf.stack(logProbs, 1),
        values: tf.stack(values, 1),
        centres: tf.stack(centres, 1),
      }));
      tf.dispose([...actions, ...logProbs, ...values, ...centres]);
      return out;
    };
    const a = rollout(7);
    const b = rollout(7);
    const c = rollout(8);
    try {
      expect(Array.from(a.actions.dataSync())).toEqual(Array.from(b.actions.dataSync()));
      expect(Array.from(a.actions.dataSync())).not.toEqual(Array.from(c.actions.dataSync()));
      expect(Array.from(a.centres.dataSync()).every((v) => v >= 0 && v <= 1)).toBe(true);
      const e = policy.evaluate(x, a.actions);
      const close = (p: tf.Tensor, q: tf.Tensor) => Array.from(p.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(q.dataSync()[i]!, 4));
      close(e.logProbs, a.logProbs);
      close(e.values, a.values);
      expect(Array.from(e.entropy.dataSync()).every((v) => Number.isFinite(v))).toBe(true);
      tf.dispose([e.logProbs, e.values, e.entropy]);
      // Inference runs the GRU from raw ops; the layers give the same values.
      tf.tidy(() => {
        let state = policy.initialState(2);
        for (let k = 0; k < 4; k++) {
          const frame = tf.reshape(tf.slice(x, [0, k, 0, 0, 0], [2, 1, ...SHAPE]), [2, ...SHAPE]);
          const [, value, next] = policy.recurrent.apply([policy.encoder.apply(frame) as tf.Tensor, state]) as tf.Tensor[];
          close(tf.reshape(value!, [-1]), tf.reshape(tf.slice(a.values, [0, k], [2, 1]), [-1]));
          state = next as tf.Tensor2D;
        }
      });
    } finally {
      tf.dispose([x, ...Object.values(a), ...Object.values(b), ...Object.values(c)]);
      policy.dispose();
    }
  });

  it('encoderChannels and encoderNorm: false give the official ActivityNet encoder (1x1 conv, ReLU, flatten, linear, ReLU)', () => {
    const policy = createRlPolicy({ featureShape: SHAPE, hidden: 8, encoderChannels: 5, encoderNorm: false, seed: 2 });
    const x = maps(3, 2, 1);
    try {
      expect(policy.encoder.layers.map((l) => l.name)).not.toContain('encoder_conv_bn');
      tf.tidy(() => {
        const frame = tf.reshape(x, [2, ...SHAPE]) as tf.Tensor4D;
        const [kernel] = policy.encoder.getLayer('encoder_conv').getWeights();
        const [w, b] = policy.encoder.getLayer('encoder_fc').getWeights();
        expect(kernel!.shape).toEqual([1, 1, SHAPE[2], 5]);
        // By hand: a per-pixel matmul, ReLU, (h, w, c) flatten, the linear layer, ReLU.
        const conv = tf.relu(tf.matMul(tf.reshape(frame, [-1, SHAPE[2]]), tf.reshape(kernel!, [SHAPE[2], 5])));
        const want = tf.relu(tf.add(tf.matMul(tf.reshape(conv, [2, -1]), w!), b!));
        const got = policy.encoder.apply(frame) as tf.Tensor;
        Array.from(got.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want.dataSync()[i]!, 5));
      });
    } finally {
      x.dispose();
      policy.dispose();
    }
  });

  it('encoderFcNorm gives the Something-Something encoder (1x1 conv, BN, ReLU, flatten, linear, BN, ReLU) on the moving statistics at inference', () => {
    const policy = createRlPolicy({ featureShape: SHAPE, hidden: 8, encoderChannels: 5, encoderFcNorm: true, seed: 2 });
    const x = maps(3, 2, 1);
    try {
      const bn = policy.encoder.getLayer('encoder_fc_bn');
      const stats = [
        tf.randomNormal([8], 0, 1, 'float32', 1),
        tf.randomNormal([8], 0, 1, 'float32', 2),
        tf.randomNormal([8], 0, 1, 'float32', 3),
        tf.randomUniform([8], 0.5, 2, 'float32', 4),
      ];
      bn.setWeights(stats);
      tf.tidy(() => {
        const frame = tf.reshape(x, [2, ...SHAPE]) as tf.Tensor4D;
        const [kernel] = policy.encoder.getLayer('encoder_conv').getWeights();
        const [g1, b1, m1, v1] = policy.encoder.getLayer('encoder_conv_bn').getWeights();
        const [w, b] = policy.encoder.getLayer('encoder_fc').getWeights();
        const norm = (y: tf.Tensor, [g, be, m, v]: tf.Tensor[]) => tf.add(tf.mul(tf.div(tf.sub(y, m!), tf.sqrt(tf.add(v!, 1e-5))), g!), be!);
        const conv = tf.relu(norm(tf.matMul(tf.reshape(frame, [-1, SHAPE[2]]), tf.reshape(kernel!, [SHAPE[2], 5])), [g1!, b1!, m1!, v1!]));
        const want = tf.relu(norm(tf.add(tf.matMul(tf.reshape(conv, [2, -1]), w!), b!), stats));
        const got = policy.encoder.apply(frame) as tf.Tensor;
        Array.from(got.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want.dataSync()[i]!, 5));
      });
      tf.dispose(stats);
    } finally {
      x.dispose();
      policy.dispose();
    }
  });

  it('PPO updates make a rewarded grid cell the likely one (a contextual bandit)', () => {
    const policy = createRlPolicy({ featureShape: SHAPE, action: { kind: 'discrete', grid: 3 }, hidden: 16, seed: 3 });
    const optimizer = tf.train.adam(0.01);
    const rng = new Rng(4);
    const x = maps(5, 8, 2);
    const target = 7;
    const probabilityOfTarget = () =>
      tf.tidy(() => {
        const e = policy.evaluate(x, tf.fill([8, 2], target, 'int32'));
        return tf.mean(tf.exp(e.logProbs)).dataSync()[0]!;
      });
    const before = probabilityOfTarget();
    for (let update = 0; update < 40; update++) {
      // Roll out, reward 1 for the target cell, then one PPO step on the stored rollout.
      const { actions, oldLogProbs, rewards } = tf.tidy(() => {
        let state = policy.initialState(8);
        const acts: tf.Tensor[] = [];
        const lps: tf.Tensor[] = [];
        for (let k = 0; k < 2; k++) {
          const s = policy.act(tf.reshape(tf.slice(x, [0, k, 0, 0, 0], [8, 1, ...SHAPE]), [8, ...SHAPE]) as tf.Tensor4D, state, { rng });
          acts.push(s.actions);
          lps.push(s.logProbs);
          state = s.state;
        }
        const actions = tf.stack(acts, 1);
        return { actions, oldLogProbs: tf.stack(lps, 1), rewards: tf.cast(tf.equal(actions, target), 'float32') };
      });
      const returns = tf.tensor2d(discountedReturns(rewards.dataSync() as Float32Array, 8, 2, 0.7), [8, 2]);
      optimizer.minimize(
        () => {
          const e = policy.evaluate(x, actions, true);
          return ppoLoss({ ...e, oldLogProbs, returns });
        },
        false,
        policy.trainableWeights.map((w) => w.read() as tf.Variable),
      );
      tf.dispose([actions, oldLogProbs, rewards, returns]);
    }
    const after = probabilityOfTarget();
    expect(before).toBeLessThan(0.3);
    expect(after).toBeGreaterThan(0.6);
    optimizer.dispose();
    x.dispose();
    policy.dispose();
  });

  it("distribution: the discrete policy's cell probabilities as a grid map, whose top cell is the deterministic action", () => {
    const policy = createRlPolicy({ featureShape: SHAPE, hidden: 8, action: { kind: 'discrete', grid: 3 } });
    const continuous = createRlPolicy({ featureShape: SHAPE, hidden: 8, action: { kind: 'continuous', std: 0.1 } });
    const x = tf.randomNormal([4, ...SHAPE], 0, 1, 'float32', 7) as tf.Tensor4D;
    const state = tf.randomNormal([4, 8], 0, 1, 'float32', 8) as tf.Tensor2D;
    try {
      const d = policy.distribution(x, state)!;
      const s = policy.act(x, state, { rng: new Rng(0), deterministic: true });
      expect(d.shape).toEqual([4, 3, 3]);
      const probs = d.arraySync();
      const chosen = Array.from(s.actions.dataSync());
      const centres = s.centres.arraySync();
      probs.forEach((grid, i) => {
        expect(grid.flat().reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
        const flat = grid.flat();
        const top = flat.indexOf(Math.max(...flat));
        expect(top).toBe(chosen[i]);
        // Row y, column x of the map is the cell whose centre is (y, x) / (grid - 1).
        expect(centres[i]).toEqual([Math.floor(top / 3) / 2, (top % 3) / 2]);
      });
      tf.dispose([d, s.centres, s.actions, s.logProbs, s.values, s.state]);
      expect(continuous.distribution(x, state)).toBeUndefined();
    } finally {
      tf.dispose([x, state]);
      policy.dispose();
      continuous.dispose();
    }
  });

  it('rejects bad options and inputs with a PolicyOptionError', () => {
    expect(() => createRlPolicy({ featureShape: SHAPE, action: { kind: 'discrete', grid: 1 } })).toThrow(/action.grid: must be an integer >= 2/);
    expect(() => createRlPolicy({ featureShape: SHAPE, action: { kind: 'continuous', std: 0 } })).toThrow(PolicyOptionError);
    const policy = createRlPolicy({ featureShape: SHAPE, hidden: 8 });
    const x = maps(1, 1, 2);
    const wrong = tf.zeros([1, 3], 'int32');
    const small = tf.zeros([1, 2, 2, 8]) as tf.Tensor4D;
    const state = policy.initialState(1);
    try {
      expect(() => policy.evaluate(x, wrong)).toThrow(/expects actions \[1,2\]/);
      expect(() => policy.act(small, state, { rng: new Rng(0) })).toThrow(/expects feature maps/);
    } finally {
      tf.dispose([x, wrong, small, state]);
      policy.dispose();
    }
  });
});
