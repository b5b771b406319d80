// A method registered from this file, with its own config field, one sub-network and no code in
// the SDK: training, checkpoints and resume, the bundle round trip, classify and every contract
// test come from the registry. The toy: the focus backbone on each frame's centre patch, its
// logits scaled by 1 / toyTemperature and averaged over the frames seen (TSN on centre crops).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { contractSuite } from '../test/contract.js';
import { TOY, toyDataset } from '../test/toy.js';
import { backbone, backboneMacs, checkFrames, checkStep, frameAt, stateVideo } from './internal.js';
import { normalise } from './dataset.js';
import { loadModel, saveBundle } from './node/bundle.js';
import {
  BundleError,
  ConfigError,
  createVideoNet,
  methodVariant,
  parseConfig,
  registerMethod,
  trainingStages,
  train,
  unregisterMethod,
  type ConfigOf,
  type MethodSpec,
  type VideoNet,
} from './universal.js';

const FIELDS = { toyTemperature: z.number().positive().max(100).default(2) };
type ToyConfig = ConfigOf<'toy_centre', typeof FIELDS>;

function createToy(config: ToyConfig, classes: number, loaded?: Readonly<Record<string, tf.LayersModel>>): VideoNet {
  const { frames: t, frameSize: s, patchSize: p, seed } = config;
  const net = loaded?.['centre'] ?? backbone(config.focusBackbone, config.focusWidth, p, classes, seed + 2, 'centre', config.pooling).model;
  const at = Math.floor((s - p) / 2);
  const logitsOf = (x: tf.Tensor4D, training: boolean) =>
    tf.div((net.apply(tf.slice(x, [0, at, at, 0], [-1, p, p, 3]), { training }) as tf.Tensor[])[2]!, config.toyTemperature);
  const consensus = (perFrame: tf.Tensor, b: number) =>
    tf.div(tf.cumsum(tf.reshape(perFrame, [b, t, classes]), 1), tf.range(1, t + 1).reshape([1, t, 1])) as tf.Tensor3D;
  return {
    config,
    classes,
    steps: t,
    forward(frames, opts = {}) {
      checkFrames(frames, config, 5);
      const b = frames.shape[0];
      return { logits: tf.tidy(() => consensus(logitsOf(tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D, opts.training ?? false), b)) };
    },
    loss(frames, labels) {
      return tf.tidy(() => {
        const b = frames.shape[0];
        const perFrame = tf.reshape(logitsOf(tf.reshape(frames, [b * t, s, s, 3]) as tf.Tensor4D, true), [b, t, classes]);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, classes), tf.mean(perFrame, 1)) as tf.Scalar;
      });
    },
    begin(video) {
      checkFrames(video, config, 5);
      return { batch: video.shape[0], step: 0, video, tensors: [] };
    },
    step(state) {
      checkStep(state, t);
      const k = state.step;
      const sum = tf.tidy(() => {
        const l = logitsOf(frameAt(stateVideo(state), k), false);
        return k === 0 ? l : tf.add(state.tensors[0]!, l);
      });
      const logits = tf.div(sum, k + 1) as tf.Tensor2D;
      tf.dispose(state.tensors);
      return { logits, frames: new Int32Array(state.batch).fill(k), state: { ...state, step: k + 1, tensors: [sum] } };
    },
    parts: () => ({ focus: net.trainableWeights }),
    models: () => ({ centre: net }),
    gflopsPerStep: () => new Array<number>(t).fill(backboneMacs(net, true) / 1e9),
    dispose: () => net.dispose(),
  };
}

const TOY_METHOD: MethodSpec<ToyConfig> = {
  id: 'toy_centre',
  label: 'toy: centre patches, TSN',
  variants: [{ name: 'toy', aliases: ['toy_centre'], label: 'toy: centre patches, TSN', config: { method: 'toy_centre' }, baseline: true }],
  fields: FIELDS,
  stages: (c) => [{ name: 'train', epochs: c.epochs, parts: ['focus'] }],
  steps: (c) => c.frames,
  parts: () => ({ centre: { kind: 'backbone' } }),
  pretrained: { focus: 'centre' },
  create: createToy,
};

registerMethod(TOY_METHOD);

const dirs: string[] = [];
afterAll(async () => {
  unregisterMethod('toy_centre');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('a method registered from outside the SDK', () => {
  it('has a config with its own field, its name on the registry, and its stages', () => {
    const c = parseConfig({ ...TOY, method: 'toy_centre', toyTemperature: 4 });
    expect(c.toyTemperature).toBe(4);
    expect(parseConfig({ ...TOY, method: 'toy_centre' }).toyTemperature).toBe(2);
    expect(() => parseConfig({ method: 'toy_centre', grid: 3 })).toThrow(
      /config\.grid: 3 is for method adafocus_v1 \/ adafocus_v1_tsm and does nothing for toy_centre/,
    );
    expect(() => parseConfig({ toyTemperature: 3 })).toThrow(/config\.toyTemperature: 3 is for method toy_centre and does nothing for adafocus_v2/);
    expect(() => parseConfig({ method: 'toy_centre', patches: 'random' })).toThrow(/config\.patches: must be policy for toy_centre/);
    expect(methodVariant('toy').config.method).toBe('toy_centre');
    expect(methodVariant('toy_centre').name).toBe('toy');
    expect(trainingStages(c)).toEqual([{ name: 'train', epochs: 2, parts: ['focus'] }]);
    expect(() => registerMethod(TOY_METHOD)).toThrow(ConfigError);
    expect(() =>
      registerMethod({ ...TOY_METHOD, id: 'toy_two', variants: [{ ...TOY_METHOD.variants[0]!, name: 'v2', config: { method: 'toy_two' } }] }),
    ).toThrow(/the name "v2" is taken/);
  });

  it('trains, saves a bundle, loads and classifies it like the SDK methods', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'saccade-toy-'));
    dirs.push(dir);
    const data = toyDataset(12, 5);
    const r = await train({ config: { ...TOY, method: 'toy_centre', epochs: 3 }, train: data, val: data });
    try {
      expect(r.history).toHaveLength(3);
      expect(r.history.at(-1)!.trainLoss).toBeLessThan(r.history[0]!.trainLoss);
      await saveBundle(r.net, join(dir, 'bundle'), { classes: ['r', 'g', 'b'] });
      const meta = JSON.parse(await readFile(join(dir, 'bundle', 'saccade.json'), 'utf8'));
      expect([meta.version, meta.method, Object.keys(meta.models), meta.config.toyTemperature]).toEqual([2, 'toy_centre', ['centre'], 2]);
      const model = await loadModel(join(dir, 'bundle'));
      try {
        const video = data.video(0);
        const result = await model.classify({ data: video, frames: 4, width: 32, height: 32 });
        const expected = tf.tidy(() => Array.from(r.net.forward(normalise([video], 4, 32, r.net.config)).logits.dataSync()));
        expect(result.label).toBe(['r', 'g', 'b'][expected.slice(-3).indexOf(Math.max(...expected.slice(-3)))]);
      } finally {
        model.dispose();
      }
      // A bundle whose sub-network is not the method's part: refused before any weight is read.
      const broken = { ...meta, models: { other: 'centre' } };
      await writeFile(join(dir, 'bundle', 'saccade.json'), JSON.stringify(broken));
      await expect(loadModel(join(dir, 'bundle'))).rejects.toThrow(/saccade\.json: models: lacks centre \(method toy_centre is made of centre\)/);
      await expect(loadModel(join(dir, 'bundle'))).rejects.toBeInstanceOf(BundleError);
    } finally {
      r.net.dispose();
    }
  });

  it('creation checks the network against the declared parts', () => {
    const wrong: MethodSpec<ToyConfig> = {
      ...TOY_METHOD,
      id: 'toy_wrong',
      variants: [{ ...TOY_METHOD.variants[0]!, name: 'toy-wrong', aliases: [], config: { method: 'toy_wrong' } }],
      parts: () => ({ frames: { kind: 'backbone' } }),
    };
    registerMethod(wrong);
    try {
      expect(() => createVideoNet({ ...TOY, method: 'toy_wrong' }, 3)).toThrow(/parts: lacks frames \(method toy_wrong is made of frames\)/);
    } finally {
      unregisterMethod('toy_wrong');
    }
  });
});

contractSuite([methodVariant('toy')], { toy_centre: { toyTemperature: 1.5 } });
