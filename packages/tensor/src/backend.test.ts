import { createRequire } from 'node:module';

import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';

import { initBackend, parseBackendName } from './backend.js';
import { BackendUnavailableError, UnknownBackendError } from './errors.js';

const require = createRequire(import.meta.url);
const installed = (name: string) => {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
};

describe('initBackend', () => {
  const saved = process.env.SACCADE_BACKEND;
  afterAll(async () => {
    if (saved === undefined) delete process.env.SACCADE_BACKEND;
    else process.env.SACCADE_BACKEND = saved;
    await initBackend('wasm');
  });

  it('initialises wasm with Saccade kernels registered after the backend', async () => {
    const info = await initBackend('wasm');
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.reason).toMatch(/forced by initBackend/);
    for (const k of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'UnsortedSegmentSum']) {
      expect(info.kernels).toContain(k);
      expect(tf.getKernel(k, 'wasm')).toBeDefined();
    }
    expect(info.gradients).toContain('FusedBatchNorm');
  });

  it('initialises cpu when asked', async () => {
    const info = await initBackend('cpu');
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it.skipIf(installed('@tensorflow/tfjs-node'))('refuses a native backend that is not installed, naming the package', async () => {
    const error = await initBackend('node').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toMatch(/Install @tensorflow\/tfjs-node@4\.22\.0/);
    expect(tf.getBackend()).not.toBe('tensorflow');
  });

  it.skipIf(installed('@tensorflow/tfjs-node-gpu'))('never falls back silently when SACCADE_BACKEND forces node-gpu', async () => {
    process.env.SACCADE_BACKEND = 'node-gpu';
    await expect(initBackend()).rejects.toThrow(/tfjs-node-gpu/);
    delete process.env.SACCADE_BACKEND;
  });

  it.skipIf(installed('@tensorflow/tfjs-node-gpu') || installed('@tensorflow/tfjs-node'))(
    'picks the fastest that loads when nothing is forced, and says what it skipped',
    async () => {
      delete process.env.SACCADE_BACKEND;
      const info = await initBackend();
      expect(info.name).toBe('wasm');
      expect(info.skipped.map((s) => s.name)).toEqual(['node-gpu', 'node']);
      expect(info.reason).toMatch(/skipped node-gpu/);
    },
  );

  it('rejects unknown names from the argument and from SACCADE_BACKEND', async () => {
    await expect(initBackend('webgpu')).rejects.toBeInstanceOf(UnknownBackendError);
    process.env.SACCADE_BACKEND = 'tpu';
    await expect(initBackend()).rejects.toThrow(/SACCADE_BACKEND/);
    delete process.env.SACCADE_BACKEND;
    expect(parseBackendName(' WASM ', 'argument')).toBe('wasm');
    expect(parseBackendName('', 'argument')).toBe('auto');
  });
});
