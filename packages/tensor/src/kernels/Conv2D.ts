/**
 * Conv2D on wasm with 'same' padding made explicit (see same_padding.ts): wraps the built-in wasm
 * kernel, which is captured when Saccade's kernels are registered.
 */
import type { KernelConfig } from '@tensorflow/tfjs';

import { withExplicitSamePadding } from './same_padding.js';

export const kernelName = 'Conv2D';

export function conv2DConfig(builtIn: KernelConfig): KernelConfig {
  return withExplicitSamePadding(builtIn, false);
}
