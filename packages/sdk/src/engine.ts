/**
 * Inference engines: what runs a model's sub-networks when it classifies. The default is tfjs
 * (whatever backend is set: wasm, cpu, webgl, tfjs-node). Another engine (@saccade/onnx's ONNX
 * Runtime) takes over the sub-networks of a loaded model: `bindEngine` makes a tfjs-layers model's
 * inference calls (`apply` with training off) run on the engine, and the networks' own views of a
 * bound model (a glance with an earlier feature map as an output) are bound too (`deriveModel`).
 * What joins the sub-networks in a step (the crop, the GRUs, running maxima, the heads' sums) stays
 * in tfjs, so every method keeps one implementation of its step for every engine.
 */
import * as tf from '@tensorflow/tfjs';
import { setGruEngine } from '@saccade/policy';

/** What an engine does: run a tfjs-layers model in inference mode, synchronously. */
export interface InferenceEngine {
  /** What reports call it ('onnx'). */
  readonly name: string;
  /** The model's outputs, in its order, for its inputs (tfjs tensors the caller owns). The first run of a model prepares it (export, session). */
  run(model: tf.LayersModel, inputs: tf.Tensor[]): tf.Tensor[];
  /**
   * The whole recurrence of a GRU model (built by @saccade/policy's gruCell) on the engine, where it
   * has one: inputs [B, T, width] from `state` -> every state [B * T, hidden] and the last.
   */
  runGru?(model: tf.LayersModel, inputs: tf.Tensor3D, state: tf.Tensor2D): { states: tf.Tensor2D; last: tf.Tensor2D };
  /** Release everything the engine holds. */
  dispose(): void;
}

const bound = new WeakMap<tf.LayersModel, InferenceEngine>();

/** The engine a model's inference runs on (undefined: tfjs). */
export function engineOf(model: tf.LayersModel): InferenceEngine | undefined {
  return bound.get(model);
}

/**
 * Run `model`'s inference on `engine` from now on: `apply` with training off (what every network's
 * step and forward do at inference) goes to the engine; training, and symbolic calls that build
 * other models, stay with tfjs. The engine reads the weights once, here: a model trained after
 * this is not seen by it.
 */
export function bindEngine(model: tf.LayersModel, engine: InferenceEngine): void {
  if (bound.has(model)) {
    if (bound.get(model) !== engine) throw new Error(`${model.name} is bound to another engine already`);
    return;
  }
  bound.set(model, engine);
  // A GRU's recurrence runs as raw ops on its weights, not through `apply`: the engine gets it whole.
  if (engine.runGru && model.layers.some((l) => l.name === 'gru_h_z')) setGruEngine(model, (inputs, state) => engine.runGru!(model, inputs, state));
  const own = model.apply.bind(model);
  model.apply = ((inputs: tf.Tensor | tf.Tensor[] | tf.SymbolicTensor | tf.SymbolicTensor[], kwargs?: { training?: boolean }) => {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    if (kwargs?.training || list.some((x) => x instanceof tf.SymbolicTensor)) return own(inputs, kwargs);
    const out = engine.run(model, list as tf.Tensor[]);
    return model.outputs.length === 1 ? out[0]! : out;
  }) as typeof model.apply;
}

/** A model made of a bound model's layers (a view with other outputs) runs on the same engine. Returns `view`. */
export function deriveModel<M extends tf.LayersModel>(view: M, from: tf.LayersModel): M {
  const engine = bound.get(from);
  if (engine && view !== from) bindEngine(view, engine);
  return view;
}
