import * as tf from '@tensorflow/tfjs';

import { clipByValueGradConfig } from './ClipByValue_grad.js';
import { fusedBatchNormGradConfig } from './FusedBatchNorm_grad.js';
import { meanGradConfig } from './Mean_grad.js';

/**
 * Gradients that Saccade registers in place of tfjs-core's for every backend: the same
 * mathematics with fewer passes over the activations (batch-norm training dominated a wasm step
 * once the convolutions were fast). Each is checked against tfjs's own in the tests.
 */
export const FAST_GRADIENTS: readonly tf.GradConfig[] = [fusedBatchNormGradConfig, meanGradConfig, clipByValueGradConfig];

const tfjsGradients = new Map<string, tf.GradConfig>();

/** Register Saccade's gradients (idempotent); returns the kernel names. */
export function registerFastGradients(): string[] {
  for (const config of FAST_GRADIENTS) {
    const current = tf.getGradient(config.kernelName);
    if (current === config) continue;
    if (current && !tfjsGradients.has(config.kernelName)) tfjsGradients.set(config.kernelName, current);
    tf.registerGradient(config);
  }
  return FAST_GRADIENTS.map((g) => g.kernelName);
}

/** Put tfjs-core's own gradients back (for comparisons); registerFastGradients() undoes it. */
export function restoreTfjsGradients(): void {
  for (const config of tfjsGradients.values()) tf.registerGradient(config);
}
