import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { Rng } from '../random.js';
import { expectArraysClose, maxAbs, onBackend, randomData } from '../testing/index.js';
import { describeCase, knownDefectCases, randomConvCases, type ConvCase } from './cases.testutil.js';

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) =>
  tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;

function shapes(c: ConvCase, depthwise: boolean) {
  const x = [c.batch, c.height, c.width, c.inChannels];
  const filter = [c.kernel[0], c.kernel[1], c.inChannels, c.outChannels];
  const info = tf.backend_util.computeConv2DInfo(
    x as [number, number, number, number],
    filter as [number, number, number, number],
    c.strides,
    c.dilations,
    c.pad,
    undefined,
    depthwise,
  );
  return { x, filter, out: info.outShape as number[] };
}

/** The filter with (d-1) zeros between taps: a dilated conv equals a dense conv with it. */
function dilateFilter(data: Float32Array, shape: number[], [dh, dw]: [number, number]): { data: Float32Array; shape: number[] } {
  const [kh, kw, ci, co] = shape as [number, number, number, number];
  const eh = (kh - 1) * dh + 1;
  const ew = (kw - 1) * dw + 1;
  const out = new Float32Array(eh * ew * ci * co);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++) for (let k = 0; k < ci * co; k++) out[(y * dh * ew + x * dw) * ci * co + k] = data[(y * kw + x) * ci * co + k] as number;
  return { data: out, shape: [eh, ew, ci, co] };
}

function close(actual: Float32Array, expected: Float32Array, label: string) {
  const scale = maxAbs(expected);
  expectArraysClose(actual, expected, { rtol: 1e-4, atol: 1e-5 * Math.max(1, scale), label });
}

const CONV_CASES = [...knownDefectCases(false), ...randomConvCases(2024, 48, false)];
const DEPTHWISE_CASES = [...knownDefectCases(true), ...randomConvCases(2025, 48, true)];

describe('Conv2D gradients on wasm match the cpu backend', () => {
  it.each(CONV_CASES.map((c) => [describeCase(c), c] as const))('%s', async (_, c) => {
    const rng = new Rng(7);
    const s = shapes(c, false);
    const x = randomData(rng, s.x);
    const w = randomData(rng, s.filter);
    const dy = randomData(rng, s.out);
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, dilations: c.dilations };
    const dilated = c.dilations[0] > 1 || c.dilations[1] > 1;
    const wide = dilateFilter(w, s.filter, c.dilations);

    const [fwd, dW, dX] = await onBackend('wasm', () => [
      run('Conv2D', { x: tf.tensor(x, s.x), filter: tf.tensor(w, s.filter) }, attrs),
      run('Conv2DBackpropFilter', { x: tf.tensor(x, s.x), dy: tf.tensor(dy, s.out) }, { ...attrs, filterShape: s.filter }),
      run('Conv2DBackpropInput', { dy: tf.tensor(dy, s.out), filter: tf.tensor(w, s.filter) }, { ...attrs, inputShape: s.x }),
    ]);
    // The cpu gradient kernels ignore dilation, so a dilated case is checked against the dense
    // conv with the zero-inserted filter (whose gradient, read at the taps, is the same).
    const cpuAttrs = { ...attrs, dilations: [1, 1] };
    const [fwdRef, dWRef, dXRef] = await onBackend('cpu', () => [
      run('Conv2D', { x: tf.tensor(x, s.x), filter: tf.tensor(wide.data, wide.shape) }, cpuAttrs),
      dilated
        ? tf.stridedSlice(
            run('Conv2DBackpropFilter', { x: tf.tensor(x, s.x), dy: tf.tensor(dy, s.out) }, { ...cpuAttrs, filterShape: wide.shape }),
            [0, 0, 0, 0],
            wide.shape,
            [c.dilations[0], c.dilations[1], 1, 1],
          )
        : run('Conv2DBackpropFilter', { x: tf.tensor(x, s.x), dy: tf.tensor(dy, s.out) }, { ...cpuAttrs, filterShape: s.filter }),
      run('Conv2DBackpropInput', { dy: tf.tensor(dy, s.out), filter: tf.tensor(wide.data, wide.shape) }, { ...cpuAttrs, inputShape: s.x }),
    ]);
    close(fwd!, fwdRef!, 'forward');
    close(dW!, dWRef!, 'filter gradient');
    close(dX!, dXRef!, 'input gradient');
  });
});

describe('DepthwiseConv2dNative gradients on wasm match the cpu backend', () => {
  it.each(DEPTHWISE_CASES.map((c) => [describeCase(c), c] as const))('%s', async (_, c) => {
    const rng = new Rng(8);
    const s = shapes(c, true);
    const x = randomData(rng, s.x);
    const w = randomData(rng, s.filter);
    const dy = randomData(rng, s.out);
    const attrs = { strides: c.strides, pad: c.pad, dimRoundingMode: undefined, dilations: c.dilations };
    const dilated = c.dilations[0] > 1 || c.dilations[1] > 1;
    const wide = dilateFilter(w, s.filter, c.dilations);

    const [fwd, dW, dX] = await onBackend('wasm', () => [
      run('DepthwiseConv2dNative', { x: tf.tensor(x, s.x), filter: tf.tensor(w, s.filter) }, attrs),
      run('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor(x, s.x), dy: tf.tensor(dy, s.out) }, { ...attrs, filterShape: s.filter }),
      run('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor(dy, s.out), filter: tf.tensor(w, s.filter) }, { ...attrs, inputShape: s.x }),
    ]);
    const cpuAttrs = { ...attrs, dilations: [1, 1] };
    const [fwdRef, dWRef, dXRef] = await onBackend('cpu', () => [
      run('DepthwiseConv2dNative', { x: tf.tensor(x, s.x), filter: tf.tensor(wide.data, wide.shape) }, cpuAttrs),
      dilated
        ? tf.stridedSlice(
            run('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor(x, s.x), dy: tf.tensor(dy, s.out) }, { ...cpuAttrs, filterShape: wide.shape }),
            [0, 0, 0, 0],
            wide.shape,
            [c.dilations[0], c.dilations[1], 1, 1],
          )
        : run('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor(x, s.x), dy: tf.tensor(dy, s.out) }, { ...cpuAttrs, filterShape: s.filter }),
      run('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor(dy, s.out), filter: tf.tensor(wide.data, wide.shape) }, { ...cpuAttrs, inputShape: s.x }),
    ]);
    close(fwd!, fwdRef!, 'forward');
    close(dW!, dWRef!, 'filter gradient');
    close(dX!, dXRef!, 'input gradient');
  });
});

describe('op-level gradients (tf.grad through conv2d and depthwiseConv2d) agree across backends', () => {
  it.each([
    ['conv2d 3x3 s2 same', false, [2, 9, 8, 3], [3, 3, 3, 5], 2, 'same'],
    ['conv2d 5x5 s1 valid', false, [1, 10, 10, 2], [5, 5, 2, 3], 1, 'valid'],
    ['depthwise 3x3 s2 same m2', true, [2, 9, 9, 4], [3, 3, 4, 2], 2, 'same'],
    ['depthwise 1x3 s1 same', true, [3, 5, 7, 3], [1, 3, 3, 1], 1, 'same'],
  ] as const)('%s', async (_, depthwise, xShape, fShape, stride, pad) => {
    const rng = new Rng(9);
    const x = randomData(rng, [...xShape]);
    const w = randomData(rng, [...fShape]);
    const body = () => {
      const xt = tf.tensor4d(x, [...xShape] as [number, number, number, number]);
      const wt = tf.tensor4d(w, [...fShape] as [number, number, number, number]);
      const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.sum(tf.square(depthwise ? tf.depthwiseConv2d(a, b, stride, pad) : tf.conv2d(a, b, stride, pad)));
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a as tf.Tensor4D, b as tf.Tensor4D))([xt, wt]);
      return [gx!, gw!];
    };
    const wasm = await onBackend('wasm', body);
    const cpu = await onBackend('cpu', body);
    close(wasm[0]!, cpu[0]!, 'dx');
    close(wasm[1]!, cpu[1]!, 'dw');
  });
});

describe('UnsortedSegmentSum on wasm', () => {
  it.each([
    ['1-D ids, rows of 3', [6], [6, 3], 4],
    ['many rows into few segments', [40], [40, 5], 3],
    ['ids out of range are dropped', [8], [8, 2], 3],
  ] as const)('%s matches cpu', async (_, idsShape, xShape, numSegments) => {
    const rng = new Rng(10);
    const n = idsShape.reduce((a, b) => a * b, 1);
    const ids = Int32Array.from({ length: n }, () => rng.int(-1, numSegments + 1));
    const x = randomData(rng, [...xShape]);
    const body = () => tf.unsortedSegmentSum(tf.tensor(x, [...xShape]), tf.tensor(ids, [...idsShape], 'int32'), numSegments);
    const [wasm] = await onBackend('wasm', body);
    const [cpu] = await onBackend('cpu', body);
    close(wasm!, cpu!, 'segment sums');
  });

  it('is the gradient of gather', async () => {
    const rng = new Rng(11);
    const table = randomData(rng, [10, 4]);
    const idx = Int32Array.from({ length: 25 }, () => rng.int(0, 9));
    const body = () => tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, tf.tensor1d(idx, 'int32')))))(tf.tensor(table, [10, 4]));
    const [wasm] = await onBackend('wasm', body);
    const [cpu] = await onBackend('cpu', body);
    close(wasm!, cpu!, 'gather gradient');
  });
});

describe('a whole training step', () => {
  it('gives the same loss and weights on wasm and cpu', async () => {
    const rng = new Rng(12);
    const xData = randomData(rng, [4, 12, 12, 3]);
    const labels = Array.from({ length: 4 }, () => rng.int(0, 4));
    const build = () => {
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({
            inputShape: [12, 12, 3],
            filters: 8,
            kernelSize: 3,
            strides: 2,
            padding: 'same',
            useBias: false,
            kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
          }),
          tf.layers.batchNormalization(),
          tf.layers.reLU(),
          tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', depthwiseInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
          tf.layers.conv2d({ filters: 6, kernelSize: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
          tf.layers.globalAveragePooling2d({}),
          tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
        ],
      });
      model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
      return model;
    };
    const step = async (backend: string) => {
      await tf.setBackend(backend);
      const model = build();
      const x = tf.tensor4d(xData, [4, 12, 12, 3]);
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 5));
      const loss = (await model.trainOnBatch(x, y)) as number;
      const weights = model.getWeights().map((t) => Float32Array.from(t.dataSync()));
      tf.dispose([x, y]);
      model.optimizer.dispose();
      model.dispose();
      return { loss, weights };
    };
    const cpu = await step('cpu');
    const wasm = await step('wasm');
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(1e-5);
    expect(wasm.weights.length).toBe(cpu.weights.length);
    wasm.weights.forEach((w, i) => close(w, cpu.weights[i]!, `weight ${i}`));
  });
});

describe('Tile on wasm', () => {
  it.each([
    ['row to activation', [1, 1, 1, 5], [3, 4, 6, 1]],
    ['whole tensor repeated', [2, 3], [3, 2]],
    ['mixed', [2, 1, 3], [2, 4, 1]],
    ['rank 5', [2, 1, 2, 1, 3], [1, 2, 2, 3, 1]],
    ['no-op', [2, 3], [1, 1]],
  ] as const)('%s matches cpu', async (_, shape, reps) => {
    const rng = new Rng(13);
    const x = randomData(rng, [...shape]);
    const body = () => [tf.tile(tf.tensor(x, [...shape]), [...reps]), tf.tile(tf.tensor(x, [...shape]).toInt(), [...reps]).toFloat()];
    const wasm = await onBackend('wasm', body);
    const cpu = await onBackend('cpu', body);
    close(wasm[0]!, cpu[0]!, 'float32');
    close(wasm[1]!, cpu[1]!, 'int32');
  });
});

describe('Sum and Mean on wasm', () => {
  it.each([
    ['leading axes (batch-norm statistics)', [4, 5, 3, 6], [0, 1, 2], false],
    ['spatial axes (global average pooling)', [4, 5, 3, 6], [1, 2], false],
    ['middle axis, keepDims', [4, 5, 3, 6], [1], true],
    ['first axis of a matrix', [7, 3], [0], false],
    ['last axis (built-in)', [4, 5], [1], false],
    ['non-contiguous axes (built-in)', [4, 5, 3, 6], [0, 2], true],
    ['everything (built-in)', [4, 5, 3], [0, 1, 2], false],
  ] as const)('%s matches cpu', async (_, shape, axes, keepDims) => {
    const x = randomData(new Rng(14), [...shape]);
    const body = () => [tf.sum(tf.tensor(x, [...shape]), [...axes], keepDims), tf.mean(tf.tensor(x, [...shape]), [...axes], keepDims)];
    const wasm = await onBackend('wasm', body);
    const cpu = await onBackend('cpu', body);
    close(wasm[0]!, cpu[0]!, 'sum');
    close(wasm[1]!, cpu[1]!, 'mean');
  });
});

describe('GatherV2 with batchDims on wasm', () => {
  it.each([
    ['axis = batchDims (a row per batch item)', [3, 20, 24, 2], 1, 1, [3, 8], 20],
    ['axis after the batch dims', [3, 8, 24, 2], 2, 1, [3, 9], 24],
    ['two batch dims', [2, 3, 5, 4], 2, 2, [2, 3, 6], 5],
    ['batchDims 1, vector indices per item', [4, 7], 1, 1, [4, 3], 7],
    ['batchDims 0 (built-in)', [5, 6], 0, 0, [4], 5],
  ] as const)('%s matches cpu', async (_, shape, axis, batchDims, idxShape, axisSize) => {
    const rng = new Rng(15);
    const x = randomData(rng, [...shape]);
    const idx = Int32Array.from({ length: idxShape.reduce((a, b) => a * b, 1) }, () => rng.int(0, axisSize - 1));
    const body = () => tf.gather(tf.tensor(x, [...shape]), tf.tensor(idx, [...idxShape], 'int32'), axis, batchDims);
    const [wasm] = await onBackend('wasm', body);
    const [cpu] = await onBackend('cpu', body);
    expectArraysClose(wasm!, cpu!, { rtol: 0, atol: 0, label: 'gathered' });
  });
});

describe('FusedBatchNorm on wasm', () => {
  it.each([
    ['rank-4, [C] statistics', [2, 5, 4, 6], [6], true],
    ['rank-4, [1,1,1,C] statistics', [2, 5, 4, 6], [1, 1, 1, 6], true],
    ['rank-2 (dense), no scale or offset', [7, 6], [6], false],
    ['statistics broadcast over another axis (built-in)', [2, 5, 4, 6], [5, 1, 1], true],
  ] as const)('%s matches cpu', async (_, xShape, statShape, affine) => {
    const rng = new Rng(16);
    const x = randomData(rng, [...xShape], -3, 3);
    const n = statShape.reduce((a: number, b) => a * b, 1);
    const [m, v, s, o] = [randomData(rng, [n]), randomData(rng, [n], 0.1, 2), randomData(rng, [n]), randomData(rng, [n])];
    const body = () => {
      const stat = (d: Float32Array) => tf.tensor(d, [...statShape]);
      return tf.batchNorm(tf.tensor(x, [...xShape]), stat(m), stat(v), affine ? stat(o) : undefined, affine ? stat(s) : undefined, 1e-3);
    };
    const [wasm] = await onBackend('wasm', body);
    const [cpu] = await onBackend('cpu', body);
    close(wasm!, cpu!, 'normalised');
  });
});
