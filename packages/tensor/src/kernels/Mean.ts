/** Mean on wasm: block reductions as a matrix product (see reduce_block.ts), others built-in. */
import type { KernelConfig } from '@tensorflow/tfjs';

import { reduceBlockConfig } from './reduce_block.js';

export const kernelName = 'Mean';

export function meanConfig(builtIn: KernelConfig): KernelConfig {
  return reduceBlockConfig(builtIn, true);
}
