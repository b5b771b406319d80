/** Validate a complete set of new weight values against a model, then assign them all or none. */
import * as tf from '@tensorflow/tfjs';

import { WeightMismatchError } from '../errors.js';

export interface WeightTarget {
  /** 'layer/param', as tfjs-layers names the weight. */
  name: string;
  variable: tf.LayerVariable;
  shape: number[];
}

export function modelWeights(model: tf.LayersModel): WeightTarget[] {
  return model.weights.map((w) => ({ name: w.originalName, variable: w, shape: w.shape as number[] }));
}

export interface LoadReport {
  /** Weights of the model that were set. */
  loaded: number;
  /** Entries of the source that were deliberately not used (e.g. a head the model does not have). */
  ignored: string[];
}

/**
 * `values` maps a model weight name to its new value (tensors owned by the caller until success).
 * Throws WeightMismatchError listing every problem, with nothing assigned; else assigns all.
 */
export function assignAll(source: string, targets: WeightTarget[], values: Map<string, tf.Tensor>, mismatches: string[], ignored: string[]): LoadReport {
  for (const t of targets) {
    const v = values.get(t.name);
    if (!v) {
      if (!mismatches.some((m) => m.includes(`(${t.name} `))) mismatches.push(`missing: no value for ${t.name} [${t.shape}]`);
      continue;
    }
    if (!tf.util.arraysEqual(v.shape, t.shape)) mismatches.push(`shape: ${t.name} is [${t.shape}] in the network but [${v.shape}] in the weights`);
  }
  if (mismatches.length > 0) throw new WeightMismatchError(source, mismatches);
  tf.tidy(() => {
    for (const t of targets) t.variable.write(values.get(t.name)!);
  });
  return { loaded: targets.length, ignored };
}
