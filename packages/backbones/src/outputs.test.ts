import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { createBackbone } from './backbone.js';
import { BackboneError } from './errors.js';
import { featureMapGeometry } from './geometry.js';
import { backboneOutputs, describeBackboneOutputs, namedBackbone } from './outputs.js';

describe('namedBackbone', () => {
  it('names the outputs of a backbone with a head: map, vector, logits, and the map geometry', () => {
    const b = createBackbone('resnet_small', { inputSize: 32, width: 0.25, numClasses: 5, seed: 1 });
    const n = namedBackbone(b.model);
    expect(n.mapShape).toEqual(b.featureMapShape);
    expect(n.featureWidth).toBe(b.featureWidth);
    expect(n.classes).toBe(5);
    expect(n.inputShape).toEqual([32, 32, 3]);
    expect(n.geometry()).toEqual(featureMapGeometry(b.model, b.model.outputs[0]!.sourceLayer as tf.layers.Layer));
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const { map, vector, logits } = backboneOutputs(b.model.predict(x) as tf.Tensor[]);
    expect(backboneOutputs(b.model.outputs).logits.shape).toEqual([null, 5]);
    const out = tf.tidy(() => ({ ...namedBackbone(b.model).apply(x) }));
    expect(out.map.shape).toEqual([2, ...b.featureMapShape]);
    expect(Array.from(out.vector.dataSync())).toEqual(Array.from(vector.dataSync()));
    expect(Array.from(out.logits.dataSync())).toEqual(Array.from(logits.dataSync()));
    expect(Array.from(out.map.dataSync())).toEqual(Array.from(map.dataSync()));
    tf.dispose([x, map, vector, logits, out.map, out.vector, out.logits]);
    b.model.dispose();
  });

  it('refuses a model without the backbone layout, saying what is wrong', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
    const a = tf.layers.dense({ units: 4 }).apply(flat) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 4 }).apply(flat) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: [a, b], name: 'not_a_backbone' });
    expect(describeBackboneOutputs(model)).toMatch(/first output is \[null,4\], not a feature map/);
    expect(() => namedBackbone(model)).toThrow(BackboneError);
    expect(() => namedBackbone(model)).toThrow(/not_a_backbone: model is not a backbone/);
    model.dispose();
  });
});
