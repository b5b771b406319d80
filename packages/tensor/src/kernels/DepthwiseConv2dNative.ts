/**
 * DepthwiseConv2dNative on wasm with 'same' padding made explicit (see same_padding.ts): wraps the built-in wasm
 * kernel, which is captured when Saccade's kernels are registered.
 */
import type { KernelConfig } from '@tensorflow/tfjs';

import { withExplicitSamePadding } from './same_padding.js';

export const kernelName = 'DepthwiseConv2dNative';

export function depthwiseConv2dNativeConfig(builtIn: KernelConfig): KernelConfig {
  return withExplicitSamePadding(builtIn, true);
}
