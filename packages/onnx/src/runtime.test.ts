// OnnxRuntime's two transports: the native binding on the calling thread and the public API in a
// worker, both synchronous to the caller; the engine on top gives tfjs tensors back.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { createOnnxEngine } from './engine.js';
import { exportLayersModel } from './export.js';
import { OnnxRuntime, OnnxRuntimeError, type OnnxTransport } from './runtime.js';

function smallModel(): tf.LayersModel {
  const input = tf.input({ shape: [4, 4, 3] });
  const conv = tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' }).apply(input) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(conv) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 2, name: 'head' }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: [conv, logits] });
}

describe('OnnxRuntime', () => {
  for (const transport of ['native', 'worker'] as OnnxTransport[]) {
    it(`${transport}: loads, runs synchronously, releases, and names what went wrong`, () => {
      const model = smallModel();
      const runtime = new OnnxRuntime({ transport, threads: 1 });
      try {
        expect(runtime.transport).toBe(transport);
        const exported = exportLayersModel(model);
        const session = runtime.load(exported.bytes);
        expect(session.inputs).toEqual(exported.inputs.map((i) => i.name));
        expect(runtime.sessionCount).toBe(1);
        const x = tf.randomUniform([2, 4, 4, 3], -1, 1, 'float32', 7);
        const want = tf.tidy(() => (model.predict(x) as tf.Tensor[]).map((t) => t.dataSync() as Float32Array));
        const out = runtime.run(session, { [session.inputs[0]!]: { data: x.dataSync() as Float32Array, dims: x.shape } });
        x.dispose();
        exported.outputs.forEach((o, i) => {
          const got = out[o.name]!;
          expect(got.dims).toEqual([2, ...o.shape.slice(1)]);
          got.data.forEach((v, j) => expect(Math.abs(v - want[i]![j]!)).toBeLessThan(1e-5));
        });
        // A wrong input shape is ONNX Runtime's error, typed.
        expect(() => runtime.run(session, { [session.inputs[0]!]: { data: new Float32Array(5), dims: [1, 5] } })).toThrow(OnnxRuntimeError);
        // Bytes that are not a model.
        expect(() => runtime.load(new Uint8Array([1, 2, 3, 4]))).toThrow(OnnxRuntimeError);
        expect(runtime.sessionCount).toBe(1);
        runtime.release(session);
        expect(runtime.sessionCount).toBe(0);
        expect(() => runtime.run(session, {})).toThrow(/not loaded/);
      } finally {
        runtime.close();
        model.dispose();
      }
      const closed = (() => {
        try {
          runtime.load(new Uint8Array(4));
        } catch (e) {
          return e as OnnxRuntimeError;
        }
      })();
      expect(closed?.code).toBe('ONNX_RUNTIME_CLOSED');
    });
  }

  it('the engine exports a model on its first run and gives tfjs tensors back', () => {
    const model = smallModel();
    const engine = createOnnxEngine({ threads: 1 });
    try {
      const x = tf.randomUniform([1, 4, 4, 3], 0, 1, 'float32', 3);
      const before = tf.memory().numTensors;
      const out = engine.run(model, [x]);
      expect(engine.sessionCount).toBe(1);
      expect(out.map((t) => t.shape)).toEqual([
        [1, 4, 4, 5],
        [1, 2],
      ]);
      expect(tf.memory().numTensors).toBe(before + 2);
      const want = model.predict(x) as tf.Tensor[];
      expect(Math.max(...tf.tidy(() => tf.abs(tf.sub(out[1]!, want[1]!)).dataSync()))).toBeLessThan(1e-5);
      engine.run(model, [x]).forEach((t) => t.dispose());
      expect(engine.sessionCount).toBe(1);
      tf.dispose([x, ...out, ...want]);
    } finally {
      engine.dispose();
      model.dispose();
    }
  });
});
