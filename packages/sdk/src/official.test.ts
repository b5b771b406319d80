// Official AdaFocus V1 and V2 checkpoints in Saccade: a checkpoint saved by a PyTorch reference of
// the official modules (tools/official/adafocus_v{1,2}_reference.py: the official names and
// layouts, reduced widths) gives, through Saccade, the reference's per-step logits, patch centres
// and exit decisions within 1e-4 relative.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { readTorchCheckpoint, torchStateDict, WeightMismatchError, type TorchTensor } from '@saccade/backbones';
import { describe, expect, it } from 'vitest';

import { checkOfficialUni, checkOfficialV1, checkOfficialV1Tsm, checkOfficialV2 } from '../test/official.js';
import { loadModel, saveBundle } from './node/bundle.js';
import { importOfficialCheckpoint } from './node/official.js';
import { importOfficialState, officialMethods } from './official.js';
import { withSavedPolicy } from './node/official.js';

const FIXTURE = join(import.meta.dirname, '..', 'test', 'fixtures', 'official-v2');
const FIXTURE_V1 = join(import.meta.dirname, '..', 'test', 'fixtures', 'official-v1');
const FIXTURE_TSM = join(import.meta.dirname, '..', 'test', 'fixtures', 'official-v1-tsm');
const FIXTURE_UNI = join(import.meta.dirname, '..', 'test', 'fixtures', 'official-uni');

describe('official AdaFocusV2 checkpoints', () => {
  it('AdaFocus V1 and V2 read official checkpoints', () => {
    expect(officialMethods()).toEqual(expect.arrayContaining(['adafocus_v1', 'adafocus_v2']));
  });

  it('give the PyTorch reference per-step logits, patch centres and exit decisions within 1e-4 (reduced widths)', async () => {
    const err = await checkOfficialV2(FIXTURE);
    expect(err.logits).toBeLessThan(1e-4);
  });

  it('an imported network saves as a bundle that loads to the same outputs', async () => {
    const state = torchStateDict(readTorchCheckpoint(await readFile(join(FIXTURE, 'checkpoint.pth.tar'))));
    const { net } = importOfficialState(state, 'adafocus_v2', { patchSize: 32, frameSize: 64 });
    const dir = await mkdtemp(join(tmpdir(), 'saccade-official-bundle-'));
    try {
      await saveBundle(net, join(dir, 'b'), { classes: ['a', 'b', 'c', 'd', 'e'] });
      const model = await loadModel(join(dir, 'b'));
      try {
        const x = () => tf.randomUniform([1, 4, 64, 64, 3], -2, 2, 'float32', 5) as tf.Tensor5D;
        const a = tf.tidy(() => Array.from(net.forward(x()).logits.dataSync()));
        const b = tf.tidy(() => Array.from(model.net.forward(x()).logits.dataSync()));
        expect(b).toEqual(a);
        expect(model.meta.config).toMatchObject({ glanceBackbone: 'mobilenet_v2', focusBackbone: 'resnet50', policyReadout: 'dense', policyMap: 'last' });
      } finally {
        model.dispose();
      }
    } finally {
      net.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a checkpoint that is not an official AdaFocusV2 lists its missing, unexpected and mis-shaped keys and loads nothing', async () => {
    const state = torchStateDict(readTorchCheckpoint(await readFile(join(FIXTURE, 'checkpoint.pth.tar'))));
    const before = tf.memory().numTensors;
    const broken = new Map<string, TorchTensor>(state);
    broken.delete('policy_stn.fc.0.bias');
    broken.set('policy_stn.extra.weight', { dtype: 'F32', shape: [2], data: new Float32Array(2) });
    const w = broken.get('classifier.mlp.layers.1.running_mean')!;
    broken.set('classifier.mlp.layers.1.running_mean', { ...w, shape: [w.shape[0]! - 1], data: w.data.subarray(1) });
    const error = (() => {
      try {
        importOfficialState(broken, 'adafocus_v2', { patchSize: 32, frameSize: 64 }, 'broken.pth');
      } catch (e) {
        return e as WeightMismatchError;
      }
      throw new Error('imported a broken checkpoint');
    })();
    expect(error).toBeInstanceOf(WeightMismatchError);
    expect(error.mismatches).toEqual(
      expect.arrayContaining([
        'missing: policy_stn.fc.0.bias',
        expect.stringMatching(/^unexpected: policy_stn\.extra\.weight/),
        expect.stringMatching(/^shape: classifier\.mlp\.layers\.1\.running_mean/),
      ]),
    );
    expect(tf.memory().numTensors).toBe(before);
    // No patch size: the one thing a state dict cannot say.
    expect(() => importOfficialState(state, 'adafocus_v2', { frameSize: 64 })).toThrow(/patchSize: must be given for an official AdaFocusV2 checkpoint/);
    // Not an AdaFocusV2 state dict at all.
    expect(() => importOfficialState(new Map([['fc.weight', w]]), 'adafocus_v2', { patchSize: 32 })).toThrow(/missing: global_CNN\.features\.0\.0\.weight/);
    expect(() => importOfficialState(state, 'uniform', { patchSize: 32 })).toThrow(/uniform has no official checkpoints/);
  });
});

describe('official AdaFocus V1 checkpoints', () => {
  const load = async () => torchStateDict(readTorchCheckpoint(await readFile(join(FIXTURE_V1, 'checkpoint.pth.tar'))));

  it('give the PyTorch reference per-step logits, patch corners and exit decisions within 1e-4 (reduced widths)', async () => {
    const err = await checkOfficialV1(FIXTURE_V1);
    expect(err.logits).toBeLessThan(1e-4);
  });

  it('act with policy_old, as the official forward pass does, and floor the patch corners', async () => {
    const state = await load();
    const ref = JSON.parse(await readFile(join(FIXTURE_V1, 'reference.json'), 'utf8')) as { cells: number[][]; centres: number[][][] };
    // The reference's cells include positions where rounding and flooring give other pixels.
    const span = 32;
    expect(ref.cells.flat().some((c) => Math.round(((c % 7) / 6) * span) !== Math.floor(((c % 7) / 6) * span))).toBe(true);
    // With the learner's weights under policy_old's names the chosen cells differ: the import reads policy_old.
    const swapped = new Map<string, TorchTensor>();
    for (const [k, v] of state)
      swapped.set(
        k
          .replace('focuser.policy.policy_old.', 'focuser.policy.policy.@')
          .replace('focuser.policy.policy.', 'focuser.policy.policy_old.')
          .replace('policy_old.@', 'policy.'),
        v,
      );
    const centres = (s: ReadonlyMap<string, TorchTensor>) => {
      const { net } = importOfficialState(s, 'adafocus_v1', { patchSize: 32, frameSize: 64, frames: 4 });
      try {
        return tf.tidy(() => Array.from(net.forward(tf.randomNormal([2, 4, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor5D).centres!.dataSync()));
      } finally {
        net.dispose();
      }
    };
    expect(centres(swapped)).not.toEqual(centres(state));
  });

  it('an imported V1 network saves as a bundle that loads to the same outputs, steps as it forwards', async () => {
    const { net } = importOfficialState(await load(), 'adafocus_v1', { patchSize: 32, frameSize: 64, frames: 4 });
    const dir = await mkdtemp(join(tmpdir(), 'saccade-official-v1-'));
    try {
      await saveBundle(net, join(dir, 'b'), { classes: ['a', 'b', 'c', 'd', 'e'] });
      const model = await loadModel(join(dir, 'b'));
      try {
        const x = () => tf.randomUniform([2, 4, 64, 64, 3], -2, 2, 'float32', 5) as tf.Tensor5D;
        const a = tf.tidy(() => Array.from(net.forward(x()).logits.dataSync()));
        const b = tf.tidy(() => Array.from(model.net.forward(x()).logits.dataSync()));
        expect(b).toEqual(a);
        // Step by step (the SDK's early-exit path) gives the forward pass's logits.
        const stepped = tf.tidy(() => {
          let st = net.begin(x());
          const out: number[] = [];
          for (let k = 0; k < 4; k++) {
            const r = net.step(st);
            out.push(...r.logits.dataSync());
            st = r.state;
          }
          return out;
        });
        const perStep = (v: number[]) => [0, 1, 2, 3].flatMap((k) => [0, 1].flatMap((i) => v.slice((i * 4 + k) * 5, (i * 4 + k) * 5 + 5)));
        stepped.forEach((v, i) => expect(v).toBeCloseTo(perStep(a)[i]!, 4));
        expect(model.meta.config).toMatchObject({
          method: 'adafocus_v1',
          policyChannels: 32,
          policyNorm: false,
          patchSnap: 'floor',
          frameOrder: 'chronological',
        });
      } finally {
        model.dispose();
      }
    } finally {
      net.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a checkpoint that is not an official AdaFocus V1 lists its missing, unexpected and mis-shaped keys and loads nothing', async () => {
    const state = await load();
    const before = tf.memory().numTensors;
    const broken = new Map<string, TorchTensor>(state);
    broken.delete('classifier.fc.bias');
    broken.set('focuser.extra.weight', { dtype: 'F32', shape: [2], data: new Float32Array(2) });
    const w = broken.get('focuser.policy.policy_old.critic.0.weight')!;
    broken.set('focuser.policy.policy_old.critic.0.weight', { ...w, shape: [1, w.shape[1]! - 1], data: w.data.subarray(1) });
    let error: unknown;
    try {
      importOfficialState(broken, 'adafocus_v1', { patchSize: 32, frameSize: 64 }, 'broken.pth');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeightMismatchError);
    expect((error as WeightMismatchError).mismatches).toEqual(
      expect.arrayContaining([
        'missing: classifier.fc.bias',
        expect.stringMatching(/^unexpected: focuser\.extra\.weight/),
        expect.stringMatching(/^shape: focuser\.policy\.policy_old\.critic\.0\.weight/),
      ]),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(() => importOfficialState(state, 'adafocus_v1', { frameSize: 64 })).toThrow(/patchSize: must be given for an official AdaFocus V1 checkpoint/);
    // A frame size whose glance map is not the policy's: named, with the cells each side has.
    expect(() => importOfficialState(state, 'adafocus_v1', { patchSize: 32, frameSize: 128 })).toThrow(/4 x 4/);
    // A Something-Something state dict is planned as that model (adafocus_v1_tsm): what it lacks is listed.
    const sth = new Map<string, TorchTensor>([['focuser.net.base_model.conv1.weight', w]]);
    expect(() => importOfficialState(sth, 'adafocus_v1', { patchSize: 32 })).toThrow(/Something-Something\)[^]*missing: glancer\.net\.classifier\.weight/);
    // An official AdaFocusV2 checkpoint given as V1.
    const v2 = torchStateDict(readTorchCheckpoint(await readFile(join(FIXTURE, 'checkpoint.pth.tar'))));
    expect(() => importOfficialState(v2, 'adafocus_v1', { patchSize: 32, frameSize: 64 })).toThrow(/missing: glancer\.net\.features\.0\.0\.weight/);
  });
});

describe('official AdaFocus V1 Something-Something (TSM) checkpoints', () => {
  const options = { patchSize: 48, frameSize: 96, glanceSize: 64, frames: 4 };

  it('give the PyTorch reference logits, patch position and glance logits within 1e-4 (reduced widths, continuous policy)', async () => {
    const err = await checkOfficialV1Tsm(FIXTURE_TSM);
    console.log(
      `V1 Something-Something fixture: max relative error logits ${err.logits.toExponential(1)}, positions ${err.centres.toExponential(1)}, glance ${err.glance.toExponential(1)}`,
    );
    expect(err.logits).toBeLessThan(1e-4);
  });

  it('import from the file (its policy saved beside the model), save as a bundle, load and classify to the same outputs', async () => {
    const { net, ignored } = await importOfficialCheckpoint(join(FIXTURE_TSM, 'checkpoint.pth.tar'), 'v1', options);
    const dir = await mkdtemp(join(tmpdir(), 'saccade-official-tsm-'));
    try {
      expect(net.config.method).toBe('adafocus_v1_tsm');
      expect(ignored.filter((k) => !k.endsWith('num_batches_tracked'))).toEqual(['focuser.net.base_model.fc.weight', 'focuser.net.base_model.fc.bias']);
      await saveBundle(net, join(dir, 'b'), { classes: ['a', 'b', 'c', 'd', 'e'] });
      const model = await loadModel(join(dir, 'b'));
      try {
        expect(model.meta.config).toMatchObject({ method: 'adafocus_v1_tsm', glanceFrames: 2, glanceSize: 64, action: 'continuous', policyNorm: true });
        expect(model.meta.steps).toBe(1);
        const x = () => tf.randomUniform([2, 4, 96, 96, 3], -2, 2, 'float32', 5) as tf.Tensor5D;
        const a = tf.tidy(() => Array.from(net.forward(x()).logits.dataSync()));
        const b = tf.tidy(() => Array.from(model.net.forward(x()).logits.dataSync()));
        expect(b).toEqual(a);
        const stepped = tf.tidy(() => Array.from(net.step(net.begin(x())).logits.dataSync()));
        stepped.forEach((v, i) => expect(v).toBeCloseTo(a[i]!, 5));
        const bytes = new Uint8Array(4 * 96 * 96 * 3).map((_, i) => (i * 37) % 256);
        const r = await model.classify({ data: bytes, frames: 4, width: 96, height: 96 });
        expect([r.steps, r.exitStep, r.patches.length, r.patches[0]!.size]).toEqual([1, 1, 1, 48]);
      } finally {
        model.dispose();
      }
    } finally {
      net.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a wrong checkpoint lists its missing, unexpected and mis-shaped keys and loads nothing; sizes it cannot fit are named', async () => {
    const checkpoint = readTorchCheckpoint(await readFile(join(FIXTURE_TSM, 'checkpoint.pth.tar')));
    const state = withSavedPolicy(checkpoint, torchStateDict(checkpoint));
    const before = tf.memory().numTensors;
    const broken = new Map<string, TorchTensor>(state);
    broken.delete('classifier.bias');
    broken.set('focuser.extra.weight', { dtype: 'F32', shape: [2], data: new Float32Array(2) });
    const w = broken.get('policy.critic.0.weight')!;
    broken.set('policy.critic.0.weight', { ...w, shape: [1, w.shape[1]! - 1], data: w.data.subarray(1) });
    let error: unknown;
    try {
      importOfficialState(broken, 'adafocus_v1', options, 'broken.pth');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeightMismatchError);
    expect((error as WeightMismatchError).mismatches).toEqual(
      expect.arrayContaining([
        'missing: classifier.bias',
        expect.stringMatching(/^unexpected: focuser\.extra\.weight/),
        expect.stringMatching(/^shape: policy\.critic\.0\.weight/),
      ]),
    );
    expect(tf.memory().numTensors).toBe(before);
    // Without the checkpoint's policy entry the policy's keys are missing.
    const noPolicy = torchStateDict(checkpoint);
    expect(() => importOfficialState(noPolicy, 'adafocus_v1', options)).toThrow(/missing: policy\.state_encoder\.0\.weight/);
    // A glance size whose map is not the policy's: 128 px gives 4 x 4 cells where the policy reads 2 x 2.
    expect(() => importOfficialState(state, 'adafocus_v1', { ...options, glanceSize: 128 })).toThrow(/map of 4 x 4/);
    // More glance frames (2, from the policy's channels) than focus frames.
    expect(() => importOfficialState(state, 'adafocus_v1', { ...options, frames: 1 })).toThrow(/2 glance frames/);
  });
});

describe('official Uni-AdaFocus checkpoints', () => {
  const options = { patchSize: 32, frameSize: 64, frames: 8, sideMin: 24, sideMax: 56 };

  it('give the PyTorch reference exits, patch centres and sizes, chosen frames and glance logits within 1e-4 (reduced widths)', async () => {
    const err = await checkOfficialUni(FIXTURE_UNI);
    console.log(
      `Uni-AdaFocus fixture: max relative error logits ${err.logits.toExponential(1)}, centres ${err.centres.toExponential(1)}, sizes ${err.sizes.toExponential(1)}, temporal weights ${err.weights.toExponential(1)}, glance ${err.glance.toExponential(1)}`,
    );
    expect(err.logits).toBeLessThan(1e-4);
  });

  it('import, save as a bundle, load, and step to the same outputs; the glance-only exit comes first', async () => {
    const { net } = await importOfficialCheckpoint(join(FIXTURE_UNI, 'checkpoint.pth.tar'), 'uni_adafocus', options);
    const dir = await mkdtemp(join(tmpdir(), 'saccade-official-uni-'));
    try {
      await saveBundle(net, join(dir, 'b'), { classes: ['a', 'b', 'c', 'd', 'e'] });
      const model = await loadModel(join(dir, 'b'));
      try {
        expect(model.meta.config).toMatchObject({
          method: 'uni_adafocus',
          glanceFrames: 4,
          focusFrames: 3,
          sideMin: 24,
          sideMax: 56,
          glanceBackbone: 'mobilenet_v2',
          // The official training: no Saccade priors, the random branch on.
          spatialPrior: 0,
          temporalPrior: 0,
          randomBranch: true,
        });
        expect(model.meta.steps).toBe(4);
        const x = () => tf.randomUniform([2, 8, 64, 64, 3], -2, 2, 'float32', 5) as tf.Tensor5D;
        const a = tf.tidy(() => Array.from(net.forward(x()).logits.dataSync()));
        const b = tf.tidy(() => Array.from(model.net.forward(x()).logits.dataSync()));
        expect(b).toEqual(a);
        // Step by step: the same exits, the first without a patch.
        let state = model.net.begin(x());
        const stepped: number[] = [];
        for (let j = 0; j < 4; j++) {
          const out = model.net.step(state);
          stepped.push(...out.logits.dataSync());
          expect(Number.isNaN(out.centre!.dataSync()[0]!)).toBe(j === 0);
          tf.dispose([out.logits, out.centre, out.size]);
          state = out.state;
        }
        tf.dispose([state.tensors, state.video!]);
        // (forward's logits are [B, step, classes]; the steps give [B, classes] each)
        for (let j = 0; j < 4; j++)
          for (let i = 0; i < 2; i++) for (let c = 0; c < 5; c++) expect(stepped[(j * 2 + i) * 5 + c]!).toBeCloseTo(a[(i * 4 + j) * 5 + c]!, 4);
        // The steps' GFLOPs: the glance over its 4 frames first, then both policies with the first focus frame.
        const g = model.net.gflopsPerStep();
        expect(g).toHaveLength(4);
        expect(g[1]!).toBeGreaterThan(g[2]!);
        expect(g[2]!).toBeCloseTo(g[3]!, 9);
      } finally {
        model.dispose();
      }
    } finally {
      net.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuse what is not one, and name what the state dict cannot tell', async () => {
    const state = torchStateDict(readTorchCheckpoint(await readFile(join(FIXTURE_UNI, 'checkpoint.pth.tar')), 'c'), 'c');
    expect(() => importOfficialState(state, 'uni_adafocus', { frameSize: 64, frames: 8 })).toThrow(
      /patchSize: must be given for an official Uni-AdaFocus checkpoint/,
    );
    expect(() => importOfficialState(state, 'uni_adafocus', { ...options, frames: 6 })).toThrow(/needs at least 8 frames/);
    expect(() => importOfficialState(state, 'uni_adafocus', { ...options, frameSize: 96 })).toThrow(/reads 2 x 2 glance maps; 96-px frames give 3 x 3/);
    const broken = new Map(state);
    broken.delete('temporal_policy.Tconv.3.weight');
    const w = broken.get('spatial_policy.encoder.3.weight')!;
    broken.set('spatial_policy.encoder.3.weight', { ...w, shape: [w.shape[0]!, w.shape[1]!, 1, 3, 3], data: w.data.slice(0, w.data.length / 3) });
    broken.set('extra.weight', w);
    try {
      importOfficialState(broken, 'uni_adafocus', options, 'broken.pth');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(WeightMismatchError);
      const m = (error as WeightMismatchError).mismatches;
      expect(m).toContain('missing: temporal_policy.Tconv.3.weight');
      expect(m.some((x) => x.startsWith('shape: spatial_policy.encoder.3.weight gives [1,3,3,'))).toBe(true);
      expect(m.some((x) => x.startsWith('unexpected: extra.weight'))).toBe(true);
    }
    expect(() => importOfficialState(new Map([['fc.weight', w]]), 'uni_adafocus', options)).toThrow(/missing: global_CNN\.features\.0\.0\.weight/);
  });
});
