/**
 * Multiply-accumulate counting, the convention of the AdaFocus papers (and torchvision's model
 * tables): every multiply-add of a convolution or a fully connected layer counts one; batch norm,
 * activations, pooling, additions and padding count zero. The papers call these "FLOPs"
 * (GFLOPs = 1e9 of them).
 */
import * as tf from '@tensorflow/tfjs';

import { BackboneOptionError } from './errors.js';

type Shape = (number | null)[];

export interface LayerFlops {
  name: string;
  className: string;
  outputShape: number[];
  macs: number;
}

export interface FlopsReport {
  /** The input the counts are for: [height, width, channels]. */
  inputShape: number[];
  /** Multiply-accumulates per example. */
  macs: number;
  /** macs / 1e9: what the papers report as GFLOPs. */
  gflops: number;
  /** Layers with a non-zero count, in order. */
  layers: LayerFlops[];
}

function size(shape: readonly (number | null)[]): number {
  return shape.reduce((a: number, b) => a * (b ?? 1), 1);
}

function macsOf(layer: tf.layers.Layer, input: Shape, output: Shape): number {
  const config = layer.getConfig() as Record<string, unknown>;
  const outSpatial = size(output.slice(1, -1));
  const inChannels = input[input.length - 1] ?? 0;
  const kernel = (config['kernelSize'] as number[] | undefined) ?? [1, 1];
  const taps = kernel.reduce((a, b) => a * b, 1);
  switch (layer.getClassName()) {
    case 'Conv2D':
    case 'Conv1D':
    case 'Conv3D':
      return outSpatial * taps * inChannels * (config['filters'] as number);
    case 'DepthwiseConv2D':
      return outSpatial * taps * inChannels * ((config['depthMultiplier'] as number | undefined) ?? 1);
    case 'SeparableConv2D': {
      const multiplier = (config['depthMultiplier'] as number | undefined) ?? 1;
      return outSpatial * (taps * inChannels * multiplier + inChannels * multiplier * (config['filters'] as number));
    }
    case 'Conv2DTranspose':
      return size(input.slice(1, -1)) * taps * inChannels * (config['filters'] as number);
    case 'Dense':
      return size(input.slice(1, -1)) * inChannels * (config['units'] as number);
    default:
      return 0;
  }
}

/**
 * Count the multiply-accumulates of a tfjs-layers model for one example. `inputSize` ([h, w] or
 * [h, w, c]) counts a fully convolutional model at another size than it was built for, by
 * propagating shapes through the layers; by default the model's own input shape is used.
 * Nested models are counted through.
 */
export function countFlops(model: tf.LayersModel, inputSize?: readonly number[]): FlopsReport {
  const declared = model.inputs[0]?.shape;
  if (!declared || model.inputs.length !== 1) {
    throw new BackboneOptionError(model.name, 'model', 'must have exactly one input to count FLOPs');
  }
  let inputShape: Shape = [...declared];
  if (inputSize) {
    if (inputSize.length < 2 || inputSize.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new BackboneOptionError(model.name, 'inputSize', `must be [h, w] or [h, w, c] positive integers, got [${inputSize}]`);
    }
    inputShape = [null, inputSize[0]!, inputSize[1]!, inputSize[2] ?? (declared[3] as number)];
  }
  if (inputShape.slice(1).some((d) => d === null)) {
    throw new BackboneOptionError(model.name, 'inputSize', `is needed: the model's input shape [${declared}] is not fully known`);
  }
  const layers: LayerFlops[] = [];
  countInto(model, inputShape, layers, '');
  const macs = layers.reduce((n, l) => n + l.macs, 0);
  return { inputShape: inputShape.slice(1) as number[], macs, gflops: macs / 1e9, layers };
}

function countInto(model: tf.LayersModel, inputShape: Shape, out: LayerFlops[], prefix: string): Shape[] {
  const shapes = new Map<number, Shape>();
  shapes.set(model.inputs[0]!.id, inputShape);
  for (const layer of model.layers) {
    for (const node of layer.inboundNodes) {
      const inputs = node.inputTensors;
      if (inputs.length === 0) continue; // an InputLayer
      const inShapes = inputs.map((t) => shapes.get(t.id));
      if (inShapes.some((s) => s === undefined)) continue; // a node of another graph
      let outShapes: Shape[];
      if (layer instanceof tf.LayersModel) {
        outShapes = countInto(layer, inShapes[0] as Shape, out, `${prefix}${layer.name}/`);
      } else {
        const computed = layer.computeOutputShape(inShapes.length === 1 ? (inShapes[0] as Shape) : (inShapes as Shape[]));
        outShapes = Array.isArray(computed[0]) ? (computed as Shape[]) : [computed as Shape];
        const macs = macsOf(layer, inShapes[0] as Shape, outShapes[0] as Shape);
        if (macs > 0) {
          out.push({ name: `${prefix}${layer.name}`, className: layer.getClassName(), outputShape: (outShapes[0] as number[]).slice(1), macs });
        }
      }
      node.outputTensors.forEach((t, i) => shapes.set(t.id, outShapes[i] as Shape));
    }
  }
  return model.outputs.map((t) => shapes.get(t.id) as Shape);
}
