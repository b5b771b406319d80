/**
 * A backbone's outputs by name. createBackbone's models output, in order, the last feature map
 * [B, h, w, c], its pooled vector [B, c] and, with a head, the logits [B, classes]. `namedBackbone`
 * wraps such a model (made now or loaded from a bundle) so that code asks for `map`, `vector` and
 * `logits` and the map's geometry instead of output positions.
 */
import type * as tf from '@tensorflow/tfjs';

import { BackboneOptionError } from './errors.js';
import { featureMapGeometry, type MapGeometry } from './geometry.js';

/** The output shapes of a backbone model, batch axis included. */
export interface BackboneOutputShapes {
  map: readonly (number | null)[];
  vector: readonly (number | null)[];
  /** Absent for a backbone without a head. */
  logits?: readonly (number | null)[];
}

/** A backbone's output tensors by name. */
export interface BackboneOutputs<T> {
  map: T;
  vector: T;
  /** The head's logits (only for a backbone with a head). */
  logits: T;
}

/** A backbone model with its outputs named and its geometry. */
export interface NamedBackbone {
  model: tf.LayersModel;
  /** The input [h, w, 3]. */
  inputShape: [number, number, number];
  /** The last feature map [h, w, c]. */
  mapShape: [number, number, number];
  /** Channels of the map and length of the pooled vector. */
  featureWidth: number;
  /** The head's classes (0 without a head). */
  classes: number;
  /** Where the map's cells look in the input (receptive-field centres and spacing). */
  geometry(): MapGeometry;
  /** Run the model: its outputs by name (tensors the caller owns; call inside tf.tidy). */
  apply(input: tf.Tensor4D, training?: boolean): BackboneOutputs<tf.Tensor>;
}

/**
 * The output shapes of `model` if it has a backbone's layout (a 4-D map, then a 2-D vector of the
 * map's width, then optionally 2-D logits), or a sentence saying why not.
 */
export function describeBackboneOutputs(model: tf.LayersModel): BackboneOutputShapes | string {
  const shapes = model.outputs.map((o) => o.shape);
  if (model.inputs.length !== 1 || model.inputs[0]!.shape.length !== 4) return `it takes ${model.inputs.length} inputs, not one image batch`;
  if (shapes.length < 2 || shapes.length > 3) return `it has ${shapes.length} outputs, not map, vector and logits`;
  const [map, vector, logits] = shapes as [tf.Shape, tf.Shape, tf.Shape | undefined];
  if (map.length !== 4) return `its first output is ${JSON.stringify(map)}, not a feature map [batch, h, w, c]`;
  if (vector.length !== 2 || vector[1] !== map[3]) return `its second output is ${JSON.stringify(vector)}, not the map's pooled vector [batch, ${map[3]}]`;
  if (logits && logits.length !== 2) return `its third output is ${JSON.stringify(logits)}, not logits [batch, classes]`;
  return { map, vector, ...(logits ? { logits } : {}) };
}

/**
 * Name the outputs of a model with a backbone's layout, in order map, vector, logits: its symbolic
 * `outputs`, or what `apply` / `predict` returned. The one place that knows the order.
 */
export function backboneOutputs<T>(outputs: T | readonly T[]): BackboneOutputs<T> {
  const [map, vector, logits] = (Array.isArray(outputs) ? outputs : [outputs]) as T[];
  return { map: map!, vector: vector!, logits: logits! };
}

/** Name the outputs of a backbone model; a BackboneOptionError when it does not have a backbone's layout. */
export function namedBackbone(model: tf.LayersModel): NamedBackbone {
  const shapes = describeBackboneOutputs(model);
  if (typeof shapes === 'string') throw new BackboneOptionError(model.name, 'model', `is not a backbone: ${shapes}`);
  const mapShape = shapes.map.slice(1) as [number, number, number];
  const mapLayer = backboneOutputs(model.outputs).map.sourceLayer as tf.layers.Layer;
  return {
    model,
    inputShape: model.inputs[0]!.shape.slice(1) as [number, number, number],
    mapShape,
    featureWidth: mapShape[2],
    classes: (shapes.logits?.[1] as number | undefined) ?? 0,
    geometry: () => featureMapGeometry(model, mapLayer),
    apply(input, training = false) {
      return backboneOutputs(model.apply(input, { training }) as tf.Tensor[]);
    },
  };
}
