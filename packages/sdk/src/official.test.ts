// Official AdaFocusV2 checkpoints in Saccade: a checkpoint saved by a PyTorch reference of the
// official modules (tools/official/adafocus_v2_reference.py: the official names and layouts,
// reduced widths) gives, through Saccade, the reference's per-step logits, patch centres and exit
// decisions within 1e-4 relative.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { readTorchCheckpoint, torchStateDict, WeightMismatchError, type TorchTensor } from '@saccade/backbones';
import { describe, expect, it } from 'vitest';

import { checkOfficialV2 } from '../test/official.js';
import { loadModel, saveBundle } from './node/bundle.js';
import { importOfficialState, officialMethods } from './official.js';

const FIXTURE = join(import.meta.dirname, '..', 'test', 'fixtures', 'official-v2');

describe('official AdaFocusV2 checkpoints', () => {
  it('AdaFocusV2 reads official checkpoints', () => {
    expect(officialMethods()).toContain('adafocus_v2');
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
