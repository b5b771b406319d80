import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs';

import { isSaccadeWrapper } from './compose.js';

import * as conv2D from './Conv2D.js';
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './Conv2DBackpropInput.js';
import * as depthwiseConv2dNative from './DepthwiseConv2dNative.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './DepthwiseConv2dNativeBackpropFilter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './DepthwiseConv2dNativeBackpropInput.js';
import * as fusedConv2D from './FusedConv2D.js';
import * as fusedDepthwiseConv2D from './FusedDepthwiseConv2D.js';
import * as fusedBatchNorm from './FusedBatchNorm.js';
import * as gatherV2 from './GatherV2.js';
import * as identity from './Identity.js';
import * as mean from './Mean.js';
import * as sum from './Sum.js';
import * as tile from './Tile.js';
import { unsortedSegmentSumConfig } from './UnsortedSegmentSum.js';

/** Kernels that tfjs-backend-wasm 4.22 lacks for training, and a faster Conv2DBackpropInput. */
export const WASM_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  unsortedSegmentSumConfig,
];

function replace(config: KernelConfig): void {
  if (getKernel(config.kernelName, 'wasm')) unregisterKernel(config.kernelName, 'wasm');
  registerKernel(config);
}

/** Built-in wasm kernels that Saccade wraps (each may call the built-in for cases it leaves alone). */
const WRAPPERS: readonly [name: string, wrap: (builtIn: KernelConfig) => KernelConfig, what: string][] = [
  [conv2D.kernelName, conv2D.conv2DConfig, "explicit 'same' padding"],
  [depthwiseConv2dNative.kernelName, depthwiseConv2dNative.depthwiseConv2dNativeConfig, "explicit 'same' padding"],
  [fusedConv2D.kernelName, fusedConv2D.fusedConv2DConfig, "explicit 'same' padding"],
  [fusedDepthwiseConv2D.kernelName, fusedDepthwiseConv2D.fusedDepthwiseConv2DConfig, "explicit 'same' padding"],
  [tile.kernelName, tile.tileConfig, 'broadcast multiply'],
  [sum.kernelName, sum.sumConfig, 'block reductions as average pooling'],
  [mean.kernelName, mean.meanConfig, 'block reductions as average pooling'],
  [gatherV2.kernelName, gatherV2.gatherV2Config, 'batchDims > 0 as one plain gather'],
  [fusedBatchNorm.kernelName, fusedBatchNorm.fusedBatchNormConfig, 'per-channel affine as a depthwise 1x1 convolution'],
  [identity.kernelName, identity.identityConfig, 'shares data instead of copying'],
];

/**
 * Register Saccade's wasm kernels, replacing built-in ones of the same name. Call it after the wasm
 * backend has initialised (the wrapped built-ins must have run their set-up); `initBackend('wasm')`
 * does. Idempotent. Returns the names of the kernels registered or wrapped.
 */
export function registerWasmKernels(): string[] {
  for (const config of WASM_KERNELS) {
    if (getKernel(config.kernelName, 'wasm') !== config) replace(config);
  }
  for (const [name, wrap] of WRAPPERS) {
    const builtIn = getKernel(name, 'wasm');
    if (!builtIn) throw new Error(`@saccade/tensor: tfjs-backend-wasm has no ${name} kernel to wrap`);
    if (!isSaccadeWrapper(builtIn)) replace(wrap(builtIn));
  }
  return [...WASM_KERNELS.map((k) => k.kernelName), ...WRAPPERS.map(([name, , what]) => `${name} (${what})`)];
}
