import * as tf from '@tensorflow/tfjs';
import { Rng } from '@saccade/tensor';
import { expectArraysClose, onBackend } from '@saccade/tensor/testing';
import { describe, expect, it } from 'vitest';

import { Conv3DByFrames } from './conv3d.js';

const data = (seed: number, shape: number[]) =>
  tf.tensor(
    new Rng(seed).uniformArray(
      shape.reduce((a, b) => a * b, 1),
      -1,
      1,
    ),
    shape,
  );

describe('Conv3DByFrames', () => {
  it.each([
    ['3x3x3 same, with bias', [3, 3, 3], 'same', true],
    ['1x1x1', [1, 1, 1], 'valid', false],
    ['a (1, 4, 4) valid conv over the whole map', [1, 4, 4], 'valid', false],
    ['2x3x1 same (asymmetric time padding)', [2, 3, 1], 'same', true],
  ] as const)(
    '%s: tf.conv3d of its kernel on the cpu backend, and its input and kernel gradients, on cpu and wasm',
    async (_, kernelSize, padding, useBias) => {
      const kernelShape = [...kernelSize, 3, 5];
      const run = (fn: (x: tf.Tensor5D, kernel: tf.Tensor5D, bias?: tf.Tensor1D) => tf.Tensor) => () => {
        const x = data(1, [2, 6, 4, 4, 3]) as tf.Tensor5D;
        const kernel = data(2, kernelShape) as tf.Tensor5D;
        const bias = useBias ? (data(3, [5]) as tf.Tensor1D) : undefined;
        const y = fn(x, kernel, bias);
        const r = data(4, y.shape);
        const loss = (xx: tf.Tensor, kk: tf.Tensor) => tf.sum(tf.mul(fn(xx as tf.Tensor5D, kk as tf.Tensor5D, bias), r));
        const [gx, gk] = tf.grads(loss)([x, kernel]);
        return [y, gx!, gk!];
      };
      // The reference: tf.conv3d on the cpu backend (wasm's own Conv3D backward disagrees with it).
      const reference = await onBackend(
        'cpu',
        run((x, k, b) => (b ? tf.add(tf.conv3d(x, k, 1, padding), b) : tf.conv3d(x, k, 1, padding))),
      );
      for (const backend of ['cpu', 'wasm']) {
        const got = await onBackend(
          backend,
          run((x, k, b) => {
            // `compute` is what `call` runs on the layer's own weights.
            const layer = new Conv3DByFrames({ filters: 5, kernelSize: [...kernelSize], padding, useBias, name: `c_${backend}` });
            return layer.compute(x, k, b);
          }),
        );
        ['outputs', 'input gradient', 'kernel gradient'].forEach((what, i) =>
          expectArraysClose(got[i]!, reference[i]!, { rtol: 1e-5, atol: 1e-5, label: `${backend} ${what}` }),
        );
      }
    },
  );

  it('serialises: a model with it saves and loads to the same outputs', async () => {
    const input = tf.input({ shape: [4, 3, 3, 2] });
    const out = new Conv3DByFrames({
      filters: 3,
      kernelSize: [3, 3, 3],
      padding: 'same',
      useBias: false,
      name: 'c3',
      kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
    }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const x = data(4, [2, 4, 3, 3, 2]);
    const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(loaded.layers[1]!.getClassName()).toBe('Conv3DByFrames');
    tf.dispose([x, a, b]);
    model.dispose();
    loaded.dispose();
  });
});
