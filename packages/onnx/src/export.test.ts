// Exported models run in ONNX Runtime (onnxruntime-node's CPU build) and give tfjs's outputs.
import * as tf from '@tensorflow/tfjs';
import { createBackbone } from '@saccade/backbones';
import { buildInterpModels, buildRlModels, buildUniModels, gruRunner } from '@saccade/policy';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { exportGruSequence, exportLayersModel, OnnxExportError } from './export.js';

/** Largest |a - b| over the largest |b|. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** Randomise batch-norm statistics, so that inference-mode batch norm is really exercised. */
function randomiseStatistics(model: tf.LayersModel, seed: number): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    // (getWeights gives the variables' own tensors: not disposed here.)
    const ws = layer.getWeights();
    const fresh = ws.map((w, i) =>
      i === ws.length - 1 ? tf.randomUniform(w.shape, 0.5, 1.5, 'float32', seed + i) : tf.randomNormal(w.shape, 0, 0.2, 'float32', seed + i),
    );
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
}

async function compare(model: tf.LayersModel, batch: number, seed: number): Promise<number[]> {
  const exported = exportLayersModel(model);
  const session = await InferenceSession.create(exported.bytes);
  try {
    const shapes = model.inputs.map((input) => [batch, ...(input.shape.slice(1) as number[])]);
    const xs = shapes.map((shape, i) => tf.randomUniform(shape, -1, 1, 'float32', seed + i));
    const want = tf.tidy(() => {
      const y = model.predict(xs.length === 1 ? xs[0]! : xs);
      return (Array.isArray(y) ? y : [y]).map((t) => t.dataSync() as Float32Array);
    });
    const got = await session.run(
      Object.fromEntries(exported.inputs.map((input, i) => [input.name, new Tensor('float32', xs[i]!.dataSync() as Float32Array, shapes[i]!)])),
    );
    tf.dispose(xs);
    expect(exported.outputs.map((o) => o.name)).toEqual(model.outputNames);
    return exported.outputs.map((o, i) => {
      const out = got[o.name]!;
      expect(out.dims).toEqual([batch, ...o.shape.slice(1)]);
      return relativeError(out.data as Float32Array, want[i]!);
    });
  } finally {
    await session.release();
  }
}

describe('exportLayersModel', () => {
  it('MobileNetV2 (depthwise convs, ReLU6, residual adds, global pooling, a head): ONNX Runtime gives tfjs outputs within 1e-5 relative', async () => {
    const { model } = createBackbone('mobilenet_v2', { inputSize: 64, width: 0.5, numClasses: 7, seed: 1 });
    try {
      randomiseStatistics(model, 3);
      const errors = await compare(model, 2, 4);
      console.log(`MobileNetV2 x0.5 at 64 px: relative error of map, vector, logits ${errors.map((e) => e.toExponential(1)).join(', ')}`);
      expect(errors).toHaveLength(3);
      for (const e of errors) expect(e).toBeLessThan(1e-5);
    } finally {
      model.dispose();
    }
  }, 120_000);

  it('ResNet-18 with Keras padding (zero padding, max pooling, strided convs) at a non-square size', async () => {
    const { model } = createBackbone('resnet18', { inputSize: [48, 64], width: 0.25, numClasses: 5, padding: 'keras', seed: 2 });
    try {
      randomiseStatistics(model, 5);
      const errors = await compare(model, 3, 6);
      console.log(`ResNet-18 x0.25 at 48x64 px: relative error of map, vector, logits ${errors.map((e) => e.toExponential(1)).join(', ')}`);
      for (const e of errors) expect(e).toBeLessThan(1e-5);
    } finally {
      model.dispose();
    }
  }, 120_000);

  it.each([
    ['resnet50', 0.25],
    ['mobilenet_v2', 0.5],
  ] as const)(
    "%s with TSM's temporal shift (clips of 4 frames, div 8), 2 clips",
    async (name, width) => {
      const { model } = createBackbone(name, { inputSize: 64, width, numClasses: 5, seed: 8, temporalShift: { segments: 4, div: 8 } });
      try {
        randomiseStatistics(model, 9);
        const errors = await compare(model, 8, 10);
        console.log(`${name} x${width} TSM at 64 px: relative error of map, vector, logits ${errors.map((e) => e.toExponential(1)).join(', ')}`);
        for (const e of errors) expect(e).toBeLessThan(1e-5);
      } finally {
        model.dispose();
      }
    },
    120_000,
  );

  it('dense layers with activations, and a flatten of a feature map in tfjs order', async () => {
    const input = tf.input({ shape: [3, 4, 5] });
    const conv = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' }).apply(input) as tf.SymbolicTensor;
    const flat = tf.layers.flatten({ name: 'flat' }).apply(conv) as tf.SymbolicTensor;
    const dense = tf.layers.dense({ units: 8, activation: 'tanh', name: 'dense' }).apply(flat) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 4, activation: 'softmax', name: 'probs' }).apply(dense) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: [out, conv] });
    try {
      for (const e of await compare(model, 2, 7)) expect(e).toBeLessThan(1e-5);
    } finally {
      model.dispose();
    }
  });

  it("the policies' models: a GRU of Dense, Multiply and Rescaling layers (two inputs, two outputs), Uni-AdaFocus's 3-D and 1-D convolutions ('same' and 'valid') with batch norm on rank 3 and reshapes, the RL policy", async () => {
    const interp = buildInterpModels({ featureShape: [3, 3, 8], hidden: 6, encoderChannels: 4, seed: 1 });
    const cube = buildUniModels({ featureShape: [3, 3, 5], vectorWidth: 7, glanceFrames: 4, spatialHidden: 6, temporalHidden: 5, seed: 2 });
    const rl = buildRlModels({ featureShape: [3, 3, 8], hidden: 6, encoderChannels: 4, seed: 3 });
    const models = [interp.encoder, interp.recurrent, cube.spatial, cube.temporal, rl.encoder, rl.recurrent];
    try {
      for (const [i, model] of models.entries()) {
        randomiseStatistics(model, 10 + i);
        for (const e of await compare(model, 3, 20 + i)) expect(e, model.name).toBeLessThan(1e-5);
      }
    } finally {
      for (const m of models) m.dispose();
    }
  });

  it("a GRU's whole recurrence as one ONNX GRU operator gives the states of @saccade/policy's runner", async () => {
    const { recurrent: model, encoder } = buildInterpModels({ featureShape: [2, 2, 3], hidden: 6, encoderChannels: 4, seed: 4 });
    encoder.dispose();
    try {
      const exported = exportGruSequence(model);
      const session = await InferenceSession.create(exported.bytes);
      const inputs = tf.randomUniform([2, 5, 6], -1, 1, 'float32', 8) as tf.Tensor3D;
      const state = tf.randomUniform([2, 6], -1, 1, 'float32', 9) as tf.Tensor2D;
      const want = tf.tidy(() => {
        const r = gruRunner(model).sequence(inputs, state);
        return [r.states.dataSync() as Float32Array, r.last.dataSync() as Float32Array];
      });
      const got = await session.run({
        inputs: new Tensor('float32', inputs.dataSync() as Float32Array, [2, 5, 6]),
        state: new Tensor('float32', state.dataSync() as Float32Array, [2, 6]),
      });
      tf.dispose([inputs, state]);
      expect(got['states']!.dims).toEqual([2, 5, 6]);
      expect(relativeError(got['states']!.data as Float32Array, want[0]!)).toBeLessThan(1e-5);
      expect(relativeError(got['last']!.data as Float32Array, want[1]!)).toBeLessThan(1e-5);
      await session.release();
      const notGru = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
      expect(() => exportGruSequence(notGru)).toThrow(OnnxExportError);
      notGru.dispose();
    } finally {
      model.dispose();
    }
  });

  it('names a layer it cannot convert', () => {
    const input = tf.input({ shape: [6, 6, 3] });
    const out = tf.layers.conv2dTranspose({ filters: 2, kernelSize: 2, name: 'up' }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    try {
      expect(() => exportLayersModel(model)).toThrow(OnnxExportError);
      expect(() => exportLayersModel(model)).toThrow(/up: layer class Conv2DTranspose has no ONNX conversion here/);
    } finally {
      model.dispose();
    }
  });
});
