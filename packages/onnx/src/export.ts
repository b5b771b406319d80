/**
 * tfjs-layers model -> ONNX (opset 13), for inference. tfjs works in NHWC and ONNX Runtime's
 * convolutions in NCHW: each 4-D input is transposed to NCHW once, the graph stays in NCHW, and a
 * 4-D output (or a Flatten, whose order depends on the layout) is transposed back, so that the ONNX
 * model takes and gives exactly what the tfjs model does. Weights are written in the graph. Every
 * layer kind Saccade's networks use is converted; anything else is an OnnxExportError naming it.
 */
import * as tf from '@tensorflow/tfjs';

import { ATTRIBUTE_TYPE, DATA_TYPE, ModelProto } from './proto.js';

export type OnnxExportErrorCode = 'ONNX_UNSUPPORTED_LAYER' | 'ONNX_UNSUPPORTED_SHAPE';

export class OnnxExportError extends Error {
  override readonly name = 'OnnxExportError';
  constructor(
    readonly code: OnnxExportErrorCode,
    readonly layer: string,
    message: string,
  ) {
    super(`${layer}: ${message}`);
  }
}

export const OPSET = 13;

type Attribute = { name: string; type: number; i?: number; f?: number; s?: Uint8Array; ints?: number[] };

interface Node {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  attribute: Attribute[];
}

interface Initializer {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

const ints = (name: string, values: readonly number[]): Attribute => ({ name, type: ATTRIBUTE_TYPE.INTS, ints: [...values] });
const int = (name: string, value: number): Attribute => ({ name, type: ATTRIBUTE_TYPE.INT, i: value });
const float = (name: string, value: number): Attribute => ({ name, type: ATTRIBUTE_TYPE.FLOAT, f: value });

/** A tensor in the graph: its name, shape in the tfjs (NHWC) sense, and whether it is held NCHW. */
interface Value {
  name: string;
  shape: (number | null)[];
  nchw: boolean;
}

class Graph {
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];
  private used = new Set<string>();

  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  node(opType: string, input: string[], name: string, attribute: Attribute[] = [], outputName?: string): string {
    const output = this.unique(outputName ?? `${name}:${opType}`);
    this.nodes.push({ input, output: [output], name: this.unique(`${name}/${opType}`), opType, attribute });
    return output;
  }

  floats(name: string, dims: number[], values: Float32Array): string {
    const n = this.unique(name);
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
    this.initializers.push({ name: n, dims, dataType: DATA_TYPE.FLOAT, rawData: bytes });
    return n;
  }

  int64s(name: string, values: readonly number[]): string {
    const n = this.unique(name);
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push({ name: n, dims: [values.length], dataType: DATA_TYPE.INT64, rawData: new Uint8Array(data.buffer) });
    return n;
  }
}

/** NHWC tensor -> NCHW (and back). */
const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

function toNchw(g: Graph, v: Value, layer: string): Value {
  if (v.nchw || v.shape.length !== 4) return v;
  return { name: g.node('Transpose', [v.name], layer, [ints('perm', TO_NCHW)]), shape: v.shape, nchw: true };
}

function toNhwc(g: Graph, v: Value, layer: string, outputName?: string): Value {
  if (!v.nchw) return v;
  return { name: g.node('Transpose', [v.name], layer, [ints('perm', TO_NHWC)], outputName), shape: v.shape, nchw: false };
}

function pair(v: number | readonly number[]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0]!, v[1] ?? v[0]!];
}

/** TF-style SAME padding [top, left, bottom, right] for one spatial size. */
function samePads(input: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(input / stride);
  const total = Math.max(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - input);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function spatialPads(
  layer: string,
  shape: (number | null)[],
  padding: string,
  kernel: [number, number],
  strides: [number, number],
  dilation: [number, number],
): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  const [h, w] = [shape[1], shape[2]];
  if (typeof h !== 'number' || typeof w !== 'number')
    throw new OnnxExportError('ONNX_UNSUPPORTED_SHAPE', layer, "'same' padding needs a fixed input height and width");
  const [t, b] = samePads(h, kernel[0], strides[0], dilation[0]);
  const [l, r] = samePads(w, kernel[1], strides[1], dilation[1]);
  return [t, l, b, r];
}

function outSize(input: number | null, kernel: number, stride: number, dilation: number, padBegin: number, padEnd: number): number | null {
  if (input === null) return null;
  return Math.floor((input + padBegin + padEnd - ((kernel - 1) * dilation + 1)) / stride) + 1;
}

function activation(g: Graph, v: Value, kind: string | undefined, layer: string): Value {
  switch (kind ?? 'linear') {
    case 'linear':
      return v;
    case 'relu':
      return { ...v, name: g.node('Relu', [v.name], layer) };
    case 'relu6':
      return {
        ...v,
        name: g.node('Clip', [v.name, g.floats(`${layer}/min`, [], new Float32Array([0])), g.floats(`${layer}/max`, [], new Float32Array([6]))], layer),
      };
    case 'sigmoid':
      return { ...v, name: g.node('Sigmoid', [v.name], layer) };
    case 'tanh':
      return { ...v, name: g.node('Tanh', [v.name], layer) };
    case 'softmax': {
      const axis = v.nchw ? 1 : v.shape.length - 1;
      return { ...v, name: g.node('Softmax', [v.name], layer, [int('axis', axis)]) };
    }
    default:
      throw new OnnxExportError('ONNX_UNSUPPORTED_LAYER', layer, `activation ${kind} has no ONNX conversion here`);
  }
}

/** OIHW from a tfjs conv kernel [kh, kw, in, out]. */
function convKernel(k: tf.Tensor): Float32Array {
  return tf.tidy(() => tf.transpose(k, [3, 2, 0, 1]).dataSync() as Float32Array);
}

/** [in * mult, 1, kh, kw] from a depthwise kernel [kh, kw, in, mult] (output channel c * mult + m). */
function depthwiseKernel(k: tf.Tensor): Float32Array {
  return tf.tidy(() => {
    const [kh, kw, c, m] = k.shape as [number, number, number, number];
    return tf.reshape(tf.transpose(k, [2, 3, 0, 1]), [c * m, 1, kh, kw]).dataSync() as Float32Array;
  });
}

type LayerConfig = Record<string, unknown>;

function convert(g: Graph, layer: tf.layers.Layer, inputs: Value[]): Value[] {
  const name = layer.name;
  const cls = layer.getClassName();
  const config = layer.getConfig() as LayerConfig;
  const weights = layer.getWeights();
  const one = () => {
    if (inputs.length !== 1) throw new OnnxExportError('ONNX_UNSUPPORTED_SHAPE', name, `expects one input, got ${inputs.length}`);
    return inputs[0]!;
  };
  switch (cls) {
    case 'Conv2D':
    case 'DepthwiseConv2D': {
      const x = toNchw(g, one(), name);
      if (x.shape.length !== 4) throw new OnnxExportError('ONNX_UNSUPPORTED_SHAPE', name, `expects a 4-D input, got rank ${x.shape.length}`);
      if (config['dataFormat'] === 'channelsFirst') throw new OnnxExportError('ONNX_UNSUPPORTED_LAYER', name, 'channelsFirst convolutions are not converted');
      const kernel = pair(config['kernelSize'] as number[]);
      const strides = pair(config['strides'] as number[]);
      const dilation = pair((config['dilationRate'] as number[]) ?? 1);
      const pads = spatialPads(name, x.shape, String(config['padding']), kernel, strides, dilation);
      const depthwise = cls === 'DepthwiseConv2D';
      const k = weights[0]!;
      const inChannels = x.shape[3] as number;
      const outChannels = depthwise ? inChannels * (k.shape[3] as number) : (k.shape[3] as number);
      const w = g.floats(
        `${name}/kernel`,
        depthwise ? [outChannels, 1, kernel[0], kernel[1]] : [outChannels, inChannels, kernel[0], kernel[1]],
        depthwise ? depthwiseKernel(k) : convKernel(k),
      );
      const useBias = config['useBias'] !== false && weights.length > 1;
      const ins = [x.name, w, ...(useBias ? [g.floats(`${name}/bias`, [outChannels], weights[1]!.dataSync() as Float32Array)] : [])];
      const y = g.node('Conv', ins, name, [
        ints('kernel_shape', kernel),
        ints('strides', strides),
        ints('dilations', dilation),
        ints('pads', pads),
        int('group', depthwise ? inChannels : 1),
      ]);
      const shape = [
        x.shape[0]!,
        outSize(x.shape[1]!, kernel[0], strides[0], dilation[0], pads[0]!, pads[2]!),
        outSize(x.shape[2]!, kernel[1], strides[1], dilation[1], pads[1]!, pads[3]!),
        outChannels,
      ];
      return [activation(g, { name: y, shape, nchw: true }, config['activation'] as string, name)];
    }
    case 'Conv1D':
    case 'Conv3D':
    case 'Conv3DByFrames': {
      // Channels last in tfjs ([B, T, C], [B, D, H, W, C]), channels first in ONNX: the conv runs
      // between two transposes. Stride and dilation 1 (what Saccade's policies use).
      // Conv3DByFrames (@saccade/policy) has tf.layers.conv3d's function and kernel layout.
      const x = one();
      const r = cls === 'Conv1D' ? 1 : 3;
      if (x.nchw || x.shape.length !== r + 2)
        throw new OnnxExportError('ONNX_UNSUPPORTED_SHAPE', name, `expects a ${r + 2}-D channels-last input, got rank ${x.shape.length}`);
      const list = (v: unknown) => (typeof v === 'number' ? Array<number>(r).fill(v) : (v as number[]));
      const kernel = list(config['kernelSize']);
      if ([...list(config['strides'] ?? 1), ...list(config['dilationRate'] ?? 1)].some((v) => v !== 1))
        throw new OnnxExportError('ONNX_UNSUPPORTED_LAYER', name, 'only stride 1 and dilation 1 are converted for Conv1D and Conv3D');
      if (config['dataFormat'] === 'channelsFirst') throw new OnnxExportError('ONNX_UNSUPPORTED_LAYER', name, 'channelsFirst convolutions are not converted');
      const sizes = x.shape.slice(1, r + 1);
      const same = String(config['padding']) === 'same';
      if (same && sizes.some((d) => typeof d !== 'number')) throw new OnnxExportError('ONNX_UNSUPPORTED_SHAPE', name, "'same' padding needs fixed input sizes");
      const pads = sizes.map((d, i) => (same ? samePads(d as number, kernel[i]!, 1, 1) : ([0, 0] as [number, number])));
      const k = weights[0]!;
      const [inChannels, outChannels] = [k.shape[r]!, k.shape[r + 1]!];
      const axes = Array.from({ length: r }, (_, i) => i);
      const w = g.floats(
        `${name}/kernel`,
        [outChannels, inChannels, ...kernel],
        tf.tidy(() => tf.transpose(k, [r + 1, r, ...axes]).dataSync() as Float32Array),
      );
      const useBias = config['useBias'] !== false && weights.length > 1;
      const first = g.node('Transpose', [x.name], name, [ints('perm', [0, r + 1, ...axes.map((i) => i + 1)])]);
      const ins = [first, w, ...(useBias ? [g.floats(`${name}/bias`, [outChannels], weights[1]!.dataSync() as Float32Array)] : [])];
      const y = g.node('Conv', ins, name, [
        ints('kernel_shape', kernel),
        ints('strides', Array<number>(r).fill(1)),
        ints('dilations', Array<number>(r).fill(1)),
        ints('pads', [...pads.map((p) => p[0]), ...pads.map((p) => p[1])]),
        int('group', 1),
      ]);
      const last = g.node('Transpose', [y], name, [ints('perm', [0, ...axes.map((i) => i + 2), 1])]);
      const shape = [x.shape[0]!, ...sizes.map((d, i) => outSize(d, kernel[i]!, 1, 1, pads[i]![0], pads[i]![1])), outChannels];
      return [activation(g, { name: last, shape, nchw: false }, config['activation'] as string, name)];
    }
    case 'BatchNormalization': {
      const given = one();
      // A channels-last input of rank 3 or 5 is normalised with its channels moved to axis 1.
      const moved = !given.nchw && given.shape.length !== 4 && given.shape.length > 2;
      const rank = given.shape.length;
      const x = moved
        ? {
            name: g.node('Transpose', [given.name], name, [ints('perm', [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)])]),
            shape: given.shape,
            nchw: false,
          }
        : toNchw(g, given, name);
      const axis = config['axis'] as number;
      if (axis !== -1 && axis !== x.shape.length - 1)
        throw new OnnxExportError('ONNX_UNSUPPORTED_LAYER', name, `batch norm over axis ${axis} (only the channel axis) is not converted`);
      const c = x.shape.at(-1) as number;
      let at = 0;
      const gamma = config['scale'] !== false ? (weights[at++]!.dataSync() as Float32Array) : new Float32Array(c).fill(1);
      const beta = config['center'] !== false ? (weights[at++]!.dataSync() as Float32Array) : new Float32Array(c);
      const mean = weights[at++]!.dataSync() as Float32Array;
      const variance = weights[at]!.dataSync() as Float32Array;
      const y = g.node(
        'BatchNormalization',
        [
          x.name,
          g.floats(`${name}/gamma`, [c], gamma),
          g.floats(`${name}/beta`, [c], beta),
          g.floats(`${name}/mean`, [c], mean),
          g.floats(`${name}/variance`, [c], variance),
        ],
        name,
        [float('epsilon', config['epsilon'] as number)],
      );
      if (moved) return [{ ...given, name: g.node('Transpose', [y], name, [ints('perm', [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1])]) }];
      return [{ ...x, name: y }];
    }
    case 'ReLU': {
      const x = one();
      const max = config['maxValue'] as number | null | undefined;
      if (max === null || max === undefined) return [{ ...x, name: g.node('Relu', [x.name], name) }];
      return [
        {
          ...x,
          name: g.node('Clip', [x.name, g.floats(`${name}/min`, [], new Float32Array([0])), g.floats(`${name}/max`, [], new Float32Array([max]))], name),
        },
      ];
    }
    case 'Activation':
      return [activation(g, one(), config['activation'] as string, name)];
    case 'Dropout':
    case 'SpatialDropout2D':
      return [one()];
    case 'Add':
    case 'Multiply': {
      // Element-wise over inputs of one shape, in one layout (NCHW if any input is).
      const all = inputs.map((v) => (inputs.some((u) => u.nchw) ? toNchw(g, v, name) : v));
      let acc = all[0]!.name;
      for (const v of all.slice(1)) acc = g.node(cls === 'Add' ? 'Add' : 'Mul', [acc, v.name], name);
      return [{ ...all[0]!, name: acc }];
    }
    case 'Concatenate': {
      const rank = inputs[0]!.shape.length;
      const nchw = rank === 4;
      const all = inputs.map((v) => (nchw ? toNchw(g, v, name) : v));
      let axis = config['axis'] as number;
      if (axis < 0) axis += rank;
      const onnxAxis = nchw ? TO_NCHW.indexOf(axis) : axis;
      const shape = [...all[0]!.shape];
      shape[axis] = all.reduce((a, v) => (a === null || v.shape[axis] === null ? null : a + (v.shape[axis] as number)), 0 as number | null);
      return [
        {
          name: g.node(
            'Concat',
            all.map((v) => v.name),
            name,
            [int('axis', onnxAxis)],
          ),
          shape,
          nchw,
        },
      ];
    }
    case 'ZeroPadding2D': {
      const x = toNchw(g, one(), name);
      const [[t, b], [l, r]] = config['padding'] as [[number, number], [number, number]];
      const y = g.node('Pad', [x.name, g.int64s(`${name}/pads`, [0, 0, t, l, 0, 0, b, r])], name, [
        { name: 'mode', type: ATTRIBUTE_TYPE.STRING, s: new TextEncoder().encode('constant') },
      ]);
      const grow = (v: number | null, a: number, z: number) => (v === null ? null : v + a + z);
      return [{ name: y, shape: [x.shape[0]!, grow(x.shape[1]!, t, b), grow(x.shape[2]!, l, r), x.shape[3]!], nchw: true }];
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const x = toNchw(g, one(), name);
      const kernel = pair(config['poolSize'] as number[]);
      const strides = pair((config['strides'] as number[] | null) ?? kernel);
      const pads = spatialPads(name, x.shape, String(config['padding']), kernel, strides, [1, 1]);
      const max = cls === 'MaxPooling2D';
      const y = g.node(max ? 'MaxPool' : 'AveragePool', [x.name], name, [
        ints('kernel_shape', kernel),
        ints('strides', strides),
        ints('pads', pads),
        // tfjs averages over the window's pixels inside the input (padding not counted).
        ...(max ? [] : [int('count_include_pad', 0)]),
      ]);
      const shape = [
        x.shape[0]!,
        outSize(x.shape[1]!, kernel[0], strides[0], 1, pads[0]!, pads[2]!),
        outSize(x.shape[2]!, kernel[1], strides[1], 1, pads[1]!, pads[3]!),
        x.shape[3]!,
      ];
      return [{ name: y, shape, nchw: true }];
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D': {
      const x = toNchw(g, one(), name);
      const pooled = g.node(cls === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.name], name);
      return [{ name: g.node('Flatten', [pooled], name, [int('axis', 1)]), shape: [x.shape[0]!, x.shape[3]!], nchw: false }];
    }
    case 'Flatten': {
      // tfjs flattens in NHWC order.
      const x = toNhwc(g, one(), name);
      const size = x.shape.slice(1).reduce((a: number | null, v) => (a === null || v === null ? null : a * v), 1);
      return [{ name: g.node('Flatten', [x.name], name, [int('axis', 1)]), shape: [x.shape[0]!, size], nchw: false }];
    }
    case 'Dense': {
      // On the last axis, as tfjs: Gemm on [batch, features], MatMul (+ Add) on a sequence.
      const x = toNhwc(g, one(), name);
      const k = weights[0]!;
      const [inF, outF] = k.shape as [number, number];
      const useBias = config['useBias'] !== false && weights.length > 1;
      const kernel = g.floats(`${name}/kernel`, [inF, outF], k.dataSync() as Float32Array);
      const bias = useBias ? [g.floats(`${name}/bias`, [outF], weights[1]!.dataSync() as Float32Array)] : [];
      let y: string;
      if (x.shape.length === 2) y = g.node('Gemm', [x.name, kernel, ...bias], name);
      else {
        y = g.node('MatMul', [x.name, kernel], name);
        if (useBias) y = g.node('Add', [y, bias[0]!], name);
      }
      return [activation(g, { name: y, shape: [...x.shape.slice(0, -1), outF], nchw: false }, config['activation'] as string, name)];
    }
    case 'Softmax': {
      const x = toNhwc(g, one(), name);
      const axis = (config['axis'] as number | undefined) ?? -1;
      if (axis !== -1 && axis !== x.shape.length - 1)
        throw new OnnxExportError('ONNX_UNSUPPORTED_LAYER', name, `softmax over axis ${axis} (only the last) is not converted`);
      return [{ ...x, name: g.node('Softmax', [x.name], name, [int('axis', x.shape.length - 1)]) }];
    }
    case 'Rescaling': {
      const x = one();
      const scale = g.floats(`${name}/scale`, [], new Float32Array([config['scale'] as number]));
      const offset = g.floats(`${name}/offset`, [], new Float32Array([(config['offset'] as number | undefined) ?? 0]));
      return [{ ...x, name: g.node('Add', [g.node('Mul', [x.name, scale], name), offset], name) }];
    }
    case 'Reshape': {
      // tfjs reshapes in NHWC order.
      const x = toNhwc(g, one(), name);
      const target = config['targetShape'] as number[];
      if (target.some((d) => d < 0)) throw new OnnxExportError('ONNX_UNSUPPORTED_SHAPE', name, 'a reshape with an inferred (-1) dimension is not converted');
      const y = g.node('Reshape', [x.name, g.int64s(`${name}/shape`, [0, ...target])], name);
      return [{ name: y, shape: [x.shape[0]!, ...target], nchw: false }];
    }
    case 'TemporalShift': {
      // TSM's shift (@saccade/backbones): clips of `segments` frames along the batch; in NCHW the
      // first C/div channels come from the next frame, the next C/div from the previous one.
      const x = toNchw(g, one(), name);
      const [, h, w, c] = x.shape as [number | null, number, number, number];
      const t = config['segments'] as number;
      const fold = Math.floor(c / (config['div'] as number));
      if (t === 1 || fold === 0) return [{ ...x, name: g.node('Identity', [x.name], name) }];
      const clips = g.node('Reshape', [x.name, g.int64s(`${name}/clips`, [-1, t, c, h, w])], name);
      const slice = (starts: number[], ends: number[], axes: number[]) =>
        g.node('Slice', [clips, g.int64s(`${name}/starts`, starts), g.int64s(`${name}/ends`, ends), g.int64s(`${name}/axes`, axes)], name);
      const pad = (v: string, before: number) =>
        g.node('Pad', [v, g.int64s(`${name}/pads`, [0, before, 0, 0, 0, 0, 1 - before, 0, 0, 0])], name, [
          { name: 'mode', type: ATTRIBUTE_TYPE.STRING, s: new TextEncoder().encode('constant') },
        ]);
      const back = pad(slice([1, 0], [t, fold], [1, 2]), 0);
      const forward = pad(slice([0, fold], [t - 1, 2 * fold], [1, 2]), 1);
      const rest = slice([2 * fold], [c], [2]);
      const joined = g.node('Concat', [back, forward, rest], name, [int('axis', 2)]);
      return [{ name: g.node('Reshape', [joined, g.int64s(`${name}/frames`, [-1, c, h, w])], name), shape: x.shape, nchw: true }];
    }
    case 'GlobalAveragePooling1D':
    case 'GlobalMaxPooling1D': {
      const x = toNhwc(g, one(), name);
      const op = cls === 'GlobalAveragePooling1D' ? 'ReduceMean' : 'ReduceMax';
      const y = g.node(op, [x.name], name, [ints('axes', [1]), int('keepdims', 0)]);
      return [{ name: y, shape: [x.shape[0]!, x.shape[2]!], nchw: false }];
    }
    default:
      throw new OnnxExportError('ONNX_UNSUPPORTED_LAYER', name, `layer class ${cls} has no ONNX conversion here`);
  }
}

interface InboundNode {
  inboundLayers: tf.layers.Layer[];
  nodeIndices: number[];
  tensorIndices: number[];
}

export interface ExportedModel {
  /** The ONNX model (a serialized ModelProto). */
  bytes: Uint8Array;
  /** Input and output names, in the tfjs model's order, with their (NHWC) shapes. */
  inputs: { name: string; shape: (number | null)[] }[];
  outputs: { name: string; shape: (number | null)[] }[];
}

/**
 * A tfjs-layers model as an ONNX model with the same inputs and outputs (same shapes, NHWC where
 * tfjs is), in inference mode (batch norm on its moving statistics, dropout off).
 */
export function exportLayersModel(model: tf.LayersModel, options: { name?: string; producerVersion?: string } = {}): ExportedModel {
  const g = new Graph();
  const values = new Map<string, Value>();
  const key = (layer: string, index: number) => `${layer}#${index}`;
  // The model's own nodes of each layer (a layer shared with another model has more).
  const own = (model as unknown as { containerNodes: Set<string> }).containerNodes;
  const inputs = model.inputs.map((t) => {
    const name = g.unique(t.sourceLayer.name);
    values.set(key(t.sourceLayer.name, 0), { name, shape: t.shape, nchw: false });
    return { name, shape: t.shape };
  });
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const nodes = (layer as unknown as { inboundNodes: InboundNode[] }).inboundNodes;
    const index = nodes.findIndex((_, i) => own.has(`${layer.name}_ib-${i}`));
    if (index < 0) continue;
    const node = nodes[index]!;
    const ins = node.inboundLayers.map((l, i) => {
      const v = values.get(key(l.name, node.tensorIndices[i]!));
      if (!v) throw new OnnxExportError('ONNX_UNSUPPORTED_SHAPE', layer.name, `input from ${l.name} is not in the graph (a layer outside this model?)`);
      return v;
    });
    convert(g, layer, ins).forEach((v, i) => values.set(key(layer.name, i), v));
  }
  const outputs = model.outputs.map((t, i) => {
    const found = values.get(key(t.sourceLayer.name, (t as unknown as { outputIndex?: number }).outputIndex ?? 0));
    if (!found) throw new OnnxExportError('ONNX_UNSUPPORTED_SHAPE', t.sourceLayer.name, 'an output is not in the graph');
    const named = model.outputNames[i] ?? `output_${i}`;
    // Each output gets its own node under its tfjs name (an Identity where no transpose is needed).
    const v = found.nchw ? toNhwc(g, found, named, named) : { ...found, name: g.node('Identity', [found.name], named, [], named) };
    return { name: v.name, shape: t.shape };
  });
  return serialise(g, options.name ?? model.name, inputs, outputs, options.producerVersion);
}

type Io = { name: string; shape: (number | null)[] };

function serialise(g: Graph, name: string, inputs: Io[], outputs: Io[], producerVersion = '0.1.0'): ExportedModel {
  const valueInfo = (v: Io) => ({
    name: v.name,
    type: {
      tensorType: {
        elemType: DATA_TYPE.FLOAT,
        shape: { dim: v.shape.map((d, i) => (d === null ? { dimParam: i === 0 ? 'batch' : `d${i}` } : { dimValue: d })) },
      },
    },
  });
  const message = ModelProto.create({
    irVersion: 8,
    producerName: 'saccade',
    producerVersion,
    opsetImport: [{ domain: '', version: OPSET }],
    graph: { name, node: g.nodes, initializer: g.initializers, input: inputs.map(valueInfo), output: outputs.map(valueInfo) },
  });
  return { bytes: ModelProto.encode(message).finish(), inputs, outputs };
}

/**
 * The recurrence of a GRU model built by @saccade/policy's `gruCell` (Dense layers gru_x_z, gru_x_r,
 * gru_x_n, gru_h_z, gru_h_r, gru_h_n in PyTorch's formulation) as one ONNX GRU operator
 * (linear_before_reset, gates z, r, n as ONNX orders them): inputs `inputs` [B, T, inputWidth] and
 * `state` [B, hidden]; outputs `states` [B, T, hidden] (every step's) and `last` [B, hidden].
 */
export function exportGruSequence(model: tf.LayersModel, options: { name?: string } = {}): ExportedModel {
  const layer = (side: 'x' | 'h', gate: string) => {
    try {
      return model.getLayer(`gru_${side}_${gate}`);
    } catch {
      throw new OnnxExportError('ONNX_UNSUPPORTED_LAYER', model.name, `has no layer gru_${side}_${gate}: not a GRU built by gruCell`);
    }
  };
  const gates = ['z', 'r', 'n'];
  const hidden = layer('h', 'z').getWeights()[0]!.shape[1] as number;
  const width = layer('x', 'z').getWeights()[0]!.shape[0] as number;
  const g = new Graph();
  // [3 * hidden, in] from the three [in, hidden] kernels of a side, and the biases after one another.
  const side = (s: 'x' | 'h') =>
    tf.tidy(() => {
      const ws = gates.map((gate) => layer(s, gate).getWeights());
      return {
        kernel: tf
          .concat(
            ws.map((w) => tf.transpose(w[0]!)),
            0,
          )
          .dataSync() as Float32Array,
        bias: tf
          .concat(
            ws.map((w) => w[1]!),
            0,
          )
          .dataSync() as Float32Array,
      };
    });
  const x = side('x');
  const h = side('h');
  const bias = new Float32Array(6 * hidden);
  bias.set(x.bias, 0);
  bias.set(h.bias, 3 * hidden);
  const seq = g.node('Transpose', ['inputs'], 'gru', [ints('perm', [1, 0, 2])]);
  const initial = g.node('Unsqueeze', ['state', g.int64s('gru/axis0', [0])], 'gru');
  const out = g.unique('gru/Y');
  const outH = g.unique('gru/Y_h');
  g.nodes.push({
    input: [
      seq,
      g.floats('gru/W', [1, 3 * hidden, width], x.kernel),
      g.floats('gru/R', [1, 3 * hidden, hidden], h.kernel),
      g.floats('gru/B', [1, 6 * hidden], bias),
      '',
      initial,
    ],
    output: [out, outH],
    name: g.unique('gru/GRU'),
    opType: 'GRU',
    attribute: [int('hidden_size', hidden), int('linear_before_reset', 1)],
  });
  const steps = g.node('Squeeze', [out, g.int64s('gru/axis1', [1])], 'gru');
  g.node('Transpose', [steps], 'states', [ints('perm', [1, 0, 2])], 'states');
  g.node('Squeeze', [outH, g.int64s('gru/axis0b', [0])], 'last', [], 'last');
  return serialise(
    g,
    options.name ?? `${model.name}_gru`,
    [
      { name: 'inputs', shape: [null, null, width] },
      { name: 'state', shape: [null, hidden] },
    ],
    [
      { name: 'states', shape: [null, null, hidden] },
      { name: 'last', shape: [null, hidden] },
    ],
  );
}
