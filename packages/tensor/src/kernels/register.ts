import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs';

import * as conv2D from './Conv2D.js';
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './Conv2DBackpropInput.js';
import * as depthwiseConv2dNative from './DepthwiseConv2dNative.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './DepthwiseConv2dNativeBackpropFilter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './DepthwiseConv2dNativeBackpropInput.js';
import * as fusedConv2D from './FusedConv2D.js';
import * as fusedDepthwiseConv2D from './FusedDepthwiseConv2D.js';
import { isSamePaddingFix } from './same_padding.js';
import * as fusedBatchNorm from './FusedBatchNorm.js';
import * as gatherV2 from './GatherV2.js';
import * as identity from './Identity.js';
import * as mean from './Mean.js';
import { isReduceBlock } from './reduce_block.js';
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

/** Built-in forward convolutions that Saccade wraps to pass 'same' padding explicitly. */
const SAME_PADDING_FIXES = [
  [conv2D.kernelName, conv2D.conv2DConfig],
  [depthwiseConv2dNative.kernelName, depthwiseConv2dNative.depthwiseConv2dNativeConfig],
  [fusedConv2D.kernelName, fusedConv2D.fusedConv2DConfig],
  [fusedDepthwiseConv2D.kernelName, fusedDepthwiseConv2D.fusedDepthwiseConv2DConfig],
] as const;

function replace(config: KernelConfig): void {
  if (getKernel(config.kernelName, 'wasm')) unregisterKernel(config.kernelName, 'wasm');
  registerKernel(config);
}

/**
 * Register Saccade's wasm kernels, replacing built-in ones of the same name. Call it after the wasm
 * backend has initialised (the wrapped built-ins must have run their set-up); `initBackend('wasm')`
 * does. Idempotent. Returns the names of the kernels registered or wrapped.
 */
export function registerWasmKernels(): string[] {
  for (const config of WASM_KERNELS) {
    if (getKernel(config.kernelName, 'wasm') !== config) replace(config);
  }
  for (const [name, wrap] of SAME_PADDING_FIXES) {
    const builtIn = getKernel(name, 'wasm');
    if (!builtIn) throw new Error(`@saccade/tensor: tfjs-backend-wasm has no ${name} kernel to wrap`);
    if (!isSamePaddingFix(builtIn)) replace(wrap(builtIn));
  }
  const builtInTile = getKernel(tile.kernelName, 'wasm');
  if (!builtInTile) throw new Error('@saccade/tensor: tfjs-backend-wasm has no Tile kernel to wrap');
  if (!tile.isSaccadeTile(builtInTile)) replace(tile.tileConfig(builtInTile));
  for (const [name, wrap] of [
    [sum.kernelName, sum.sumConfig],
    [mean.kernelName, mean.meanConfig],
  ] as const) {
    const builtIn = getKernel(name, 'wasm');
    if (!builtIn) throw new Error(`@saccade/tensor: tfjs-backend-wasm has no ${name} kernel to wrap`);
    if (!isReduceBlock(builtIn)) replace(wrap(builtIn));
  }
  const builtInGather = getKernel(gatherV2.kernelName, 'wasm');
  if (!builtInGather) throw new Error('@saccade/tensor: tfjs-backend-wasm has no GatherV2 kernel to wrap');
  if (!gatherV2.isBatchedGatherFix(builtInGather)) replace(gatherV2.gatherV2Config(builtInGather));
  const builtInBatchNorm = getKernel(fusedBatchNorm.kernelName, 'wasm');
  if (!builtInBatchNorm) throw new Error('@saccade/tensor: tfjs-backend-wasm has no FusedBatchNorm kernel to wrap');
  if (!fusedBatchNorm.isAffineBatchNorm(builtInBatchNorm)) replace(fusedBatchNorm.fusedBatchNormConfig(builtInBatchNorm));
  const builtInIdentity = getKernel(identity.kernelName, 'wasm');
  if (!builtInIdentity) throw new Error('@saccade/tensor: tfjs-backend-wasm has no Identity kernel to wrap');
  if (!identity.isSharedIdentity(builtInIdentity)) replace(identity.identityConfig(builtInIdentity));
  return [
    ...WASM_KERNELS.map((k) => k.kernelName),
    'Identity (shares data instead of copying)',
    'FusedBatchNorm (per-channel affine as a depthwise 1x1 convolution)',
    'GatherV2 (batchDims > 0 as one plain gather)',
    'Sum (block reductions as average pooling)',
    'Mean (block reductions as average pooling)',
    ...SAME_PADDING_FIXES.map(([name]) => `${name} (explicit 'same' padding)`),
    'Tile (broadcast multiply)',
  ];
}
