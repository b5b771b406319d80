/**
 * An inference engine on ONNX Runtime for tfjs-layers models: the first time a model runs it is
 * exported (exportLayersModel) and loaded as a session; from then on each run sends its inputs to
 * ONNX Runtime and gives the outputs back as tfjs tensors. It has the shape of @saccade/sdk's
 * `InferenceEngine` (`loadModel(path, { engine: 'onnx' })` makes one).
 */
import * as tf from '@tensorflow/tfjs';

import { exportGruSequence, exportLayersModel } from './export.js';
import { OnnxRuntime, type FloatTensor, type OnnxRuntimeOptions, type OnnxSessionInfo } from './runtime.js';

export interface OnnxEngineOptions extends OnnxRuntimeOptions {
  /** Called with each model's ONNX bytes as it is exported (to write them out, or measure them). */
  onExport?: (model: tf.LayersModel, bytes: Uint8Array) => void;
}

export class OnnxEngine {
  readonly name = 'onnx';
  readonly runtime: OnnxRuntime;
  private readonly sessions = new Map<tf.LayersModel, { info: OnnxSessionInfo; inputs: string[]; outputs: string[] }>();
  private readonly grus = new Map<tf.LayersModel, OnnxSessionInfo>();
  private readonly onExport?: OnnxEngineOptions['onExport'];

  constructor(options: OnnxEngineOptions = {}) {
    this.runtime = new OnnxRuntime(options);
    this.onExport = options.onExport;
  }

  /** Models exported and loaded so far (one session each). */
  get sessionCount(): number {
    return this.runtime.sessionCount;
  }

  private session(model: tf.LayersModel) {
    let s = this.sessions.get(model);
    if (!s) {
      const exported = exportLayersModel(model);
      this.onExport?.(model, exported.bytes);
      const info = this.runtime.load(exported.bytes);
      s = { info, inputs: exported.inputs.map((i) => i.name), outputs: exported.outputs.map((o) => o.name) };
      this.sessions.set(model, s);
    }
    return s;
  }

  /** Export and load `model` now (otherwise its first run does). */
  prepare(model: tf.LayersModel): void {
    this.session(model);
  }

  run(model: tf.LayersModel, inputs: tf.Tensor[]): tf.Tensor[] {
    const s = this.session(model);
    if (inputs.length !== s.inputs.length) throw new Error(`${model.name} takes ${s.inputs.length} inputs, got ${inputs.length}`);
    const feeds: Record<string, FloatTensor> = {};
    inputs.forEach((x, i) => {
      const data = (x.dtype === 'float32' ? x.dataSync() : tf.tidy(() => tf.cast(x, 'float32').dataSync())) as Float32Array;
      feeds[s.inputs[i]!] = { data, dims: x.shape };
    });
    const out = this.runtime.run(s.info, feeds);
    return s.outputs.map((name) => tf.tensor(out[name]!.data, out[name]!.dims as number[], 'float32'));
  }

  /**
   * The whole recurrence of a GRU model built by @saccade/policy's gruCell, as one ONNX GRU operator
   * (exportGruSequence): inputs [B, T, width] from `state` [B, hidden] -> every state [B * T,
   * hidden] (video-major) and the last.
   */
  runGru(model: tf.LayersModel, inputs: tf.Tensor3D, state: tf.Tensor2D): { states: tf.Tensor2D; last: tf.Tensor2D } {
    let session = this.grus.get(model);
    if (!session) {
      const exported = exportGruSequence(model);
      this.onExport?.(model, exported.bytes);
      session = this.runtime.load(exported.bytes);
      this.grus.set(model, session);
    }
    const [b, t] = inputs.shape;
    const out = this.runtime.run(session, {
      inputs: { data: inputs.dataSync() as Float32Array, dims: inputs.shape },
      state: { data: state.dataSync() as Float32Array, dims: state.shape },
    });
    const hidden = state.shape[1];
    return { states: tf.tensor2d(out['states']!.data, [b * t, hidden]), last: tf.tensor2d(out['last']!.data, [b, hidden]) };
  }

  /** Release every session and the runtime's worker. */
  dispose(): void {
    this.sessions.clear();
    this.grus.clear();
    this.runtime.close();
  }
}

/** An ONNX engine (threads: ONNX Runtime's intra-op threads, default the cores available). */
export function createOnnxEngine(options: OnnxEngineOptions = {}): OnnxEngine {
  return new OnnxEngine(options);
}
